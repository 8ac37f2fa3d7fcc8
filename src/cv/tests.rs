use std::sync::atomic::AtomicBool;

use super::*;
use crate::bench::{EMBEDDED_FILES, Metric, embedded_rows, load_csv};
use crate::experiment::CHART_BEST_EXPERIMENT;
use crate::scenario::Condition;

pub(super) fn shipped(name: &str) -> ValidExperiment {
    crate::experiment::shipped(name, &Catalog::embedded().unwrap())
        .unwrap()
        .unwrap()
}

pub(super) fn chart() -> Vec<BenchRow> {
    load_csv(
        EMBEDDED_FILES[0].0,
        EMBEDDED_FILES[0].1,
        &Catalog::embedded().unwrap(),
    )
    .unwrap()
}

fn run(name: &str, scheme: Scheme) -> CrossValidation {
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    cross_validate(
        &shipped(name),
        &chart(),
        &Catalog::embedded().unwrap(),
        scheme,
        &options,
    )
    .unwrap()
}

#[test]
fn schemes_parse_and_print() {
    for s in ["auto", "loo", "kfold:5", "gpu", "model", "source", "budget"] {
        assert_eq!(s.parse::<Scheme>().unwrap().to_string(), s);
    }
    assert!("kfold:1".parse::<Scheme>().is_err());
    assert!(
        "random"
            .parse::<Scheme>()
            .unwrap_err()
            .to_string()
            .contains("expected auto, loo")
    );
}

#[test]
fn loo_keeps_a_cells_metrics_together() {
    let rows = chart();
    let (fold_of_row, labels) = folds(&rows, Scheme::Loo, 0);
    assert_eq!(labels.len(), 16);
    for f in 0..labels.len() {
        let members: Vec<&BenchRow> = rows
            .iter()
            .zip(&fold_of_row)
            .filter(|(_, g)| **g == f)
            .map(|(r, _)| r)
            .collect();
        assert_eq!(members.len(), 2, "a rate row and a GPU-count row");
        assert_ne!(members[0].metric, members[1].metric);
        assert_eq!(
            (&members[0].model, &members[0].gpu),
            (&members[1].model, &members[1].gpu)
        );
    }
}

#[test]
fn kfold_is_seeded_and_keeps_cells_together() {
    let rows = chart();
    let (a, _) = folds(&rows, Scheme::KFold(4), 7);
    let (b, _) = folds(&rows, Scheme::KFold(4), 7);
    let (c, _) = folds(&rows, Scheme::KFold(4), 8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|f| *f < 4));
    let (loo, _) = folds(&rows, Scheme::Loo, 0);
    for i in 0..rows.len() {
        for j in 0..rows.len() {
            if loo[i] == loo[j] {
                assert_eq!(a[i], a[j]);
            }
        }
    }
}

#[test]
fn auto_is_leave_one_out_on_the_chart_and_ten_folds_on_thousands_of_cells() {
    assert_eq!(Scheme::Auto.resolve(&chart()), Scheme::Loo);
    let (name, text) = EMBEDDED_FILES[1];
    let table = load_csv(name, text, &Catalog::embedded().unwrap()).unwrap();
    assert_eq!(Scheme::Auto.resolve(&table), Scheme::KFold(10));
    assert_eq!(Scheme::Gpu.resolve(&table), Scheme::Gpu);
    assert_eq!(folds(&table, Scheme::Auto, 1).1.len(), 10);
}

#[test]
fn group_schemes_have_one_fold_per_group() {
    let rows = chart();
    assert_eq!(folds(&rows, Scheme::Gpu, 0).1.len(), 4);
    assert_eq!(folds(&rows, Scheme::Model, 0).1.len(), 2);
    assert_eq!(folds(&rows, Scheme::Budget, 0).1.len(), 2);
    assert_eq!(folds(&rows, Scheme::Source, 0).1.len(), 1);
}

#[test]
fn loo_held_out_error_of_the_chart_best_is_within_thirty_five_percent() {
    let cv = run(CHART_BEST_EXPERIMENT, Scheme::Loo);
    let rate = crate::evaluate::summarize_by_metric(&cv.held_out)[&Metric::ReqPerSPerGpu].clone();
    let ape = rate.median_ape.unwrap();
    assert!(ape <= 35.0, "held-out median APE {ape:.1} %");
    let in_sample = crate::evaluate::summarize_by_metric(&cv.in_sample)[&Metric::ReqPerSPerGpu]
        .median_ape
        .unwrap();
    assert!(
        ape >= in_sample,
        "held-out cannot beat in-sample here: {ape} < {in_sample}"
    );
}

#[test]
fn a_held_out_gpu_falls_back_to_its_prior_and_says_so() {
    let cv = run("serving-per-gpu", Scheme::Gpu);
    for fold in &cv.folds {
        assert!(
            fold.prior_fallbacks
                .contains(&format!("prefill_efficiency[{}]", fold.label)),
            "{fold:?}"
        );
        assert!(
            fold.prior_fallbacks
                .contains(&format!("decode_efficiency[{}]", fold.label)),
            "{fold:?}"
        );
    }
}

#[test]
fn folds_do_not_depend_on_the_thread_count() {
    let in_pool = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(|| run("serving-global", Scheme::KFold(4)))
    };
    let (one, two) = (in_pool(1), in_pool(2));
    let predictions = |cv: &CrossValidation| {
        cv.held_out
            .iter()
            .map(|h| h.predicted.map(f64::to_bits))
            .collect::<Vec<_>>()
    };
    assert_eq!(predictions(&one), predictions(&two));
}

#[test]
#[ignore = "slow guard (~1 min on 2 cores): cargo test -- --ignored"]
fn the_chart_best_experiment_wins_the_chart_comparison() {
    let catalog = Catalog::embedded().unwrap();
    let experiments: Vec<(ValidExperiment, Vec<BenchRow>)> = crate::experiment::CHART_EXPERIMENTS
        .iter()
        .map(|n| (shipped(n), chart()))
        .collect();
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let ranking = compare::compare(&experiments, &catalog, Scheme::Auto, 1, &options)
        .unwrap()
        .entries;
    assert_eq!(
        ranking[0].experiment,
        CHART_BEST_EXPERIMENT,
        "{:?}",
        ranking
            .iter()
            .map(|e| (&e.experiment, e.held_out.median_ape))
            .collect::<Vec<_>>()
    );
    let position = |name: &str| ranking.iter().position(|e| e.experiment == name).unwrap();
    assert!(position(CHART_BEST_EXPERIMENT) < position("reference-efficiency"));
    assert!(position(CHART_BEST_EXPERIMENT) < position("roofline-global"));
}

#[test]
#[ignore = "slow guard (cargo test -- --ignored): the default's leave-one-source-out, which the fast suite's default calibration also runs for its intervals"]
fn the_default_meets_the_real_data_bars() {
    let catalog = Catalog::embedded().unwrap();
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let e = shipped(crate::experiment::DEFAULT_EXPERIMENT);
    let rows = embedded_rows(&e.data, &catalog).unwrap();
    assert_eq!(rows.len(), 14_486, "all four embedded sources");
    let cv = cross_validate(&e, &rows, &catalog, Scheme::Source, &options).unwrap();
    let held_out = crate::evaluate::summarize_by_metric(&cv.held_out);
    for metric in [Metric::TtftS, Metric::ItlS] {
        let ape = held_out[&metric].median_ape.unwrap();
        assert!(ape <= 30.0, "{metric:?} held out by source: {ape:.1} %");
    }
    let static_batch: Vec<&crate::evaluate::RowEvaluation> = cv
        .in_sample
        .iter()
        .filter(|r| matches!(r.row.condition, Condition::StaticBatch { .. }))
        .collect();
    let right = static_batch
        .iter()
        .filter(|r| r.feasibility_correct())
        .count();
    let share = right as f64 / static_batch.len() as f64;
    assert!(
        share >= 0.9,
        "feasibility on the static-batch runs: {share:.3}"
    );
}

#[test]
fn the_intervals_cross_validation_matches_the_full_one_row_for_row() {
    let (catalog, cancel) = (Catalog::embedded().unwrap(), AtomicBool::new(false));
    let e = shipped("serving-global");
    let full = run("serving-global", Scheme::KFold(4));
    let c = crate::fit::calibrate(&e, &chart(), &catalog, &Options::silent(&cancel)).unwrap();
    let lean = for_intervals(
        &e,
        &c,
        &catalog,
        Some(Scheme::KFold(4)),
        &Options::silent(&cancel),
    )
    .unwrap();
    assert_eq!(lean.fold_of_row, full.fold_of_row);
    assert_eq!(lean.residuals, full.residuals());
    assert!(lean.residuals.iter().flatten().count() > 0);
    assert_eq!(lean.discrepancy(), full.discrepancy());
    assert_eq!(lean.coverage(&c.rows), full.coverage());
}

#[test]
fn folds_one_at_a_time_give_what_parallel_folds_give() {
    let (catalog, cancel) = (Catalog::embedded().unwrap(), AtomicBool::new(false));
    let (e, rows) = (shipped("serving-global"), chart());
    let c = crate::fit::calibrate(&e, &rows, &catalog, &Options::silent(&cancel)).unwrap();
    let (fold_of_row, labels) = folds(&c.rows, Scheme::KFold(4), 1);
    let trainable = vec![true; c.rows.len()];
    let held = |one_at_a_time: bool| {
        let view = View {
            rows: &c.rows,
            trainable: &trainable,
            fold_of_row: &fold_of_row,
            labels: &labels,
            one_at_a_time,
        };
        let keep = |row: &BenchRow, h: HeldOut| held_out_error(row, &h);
        let fitted = (&c, c.rows.len());
        run_folds(
            &e,
            &view,
            fitted,
            &catalog,
            &Options::silent(&cancel),
            &keep,
        )
        .unwrap()
    };
    let (one, parallel) = (held(true), held(false));
    assert_eq!(one.0, parallel.0);
    assert_eq!(one.1, parallel.1);
    assert!(
        one.1.iter().all(Option::is_some),
        "every row is held out once"
    );
}
