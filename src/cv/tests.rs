use std::sync::atomic::AtomicBool;

use super::*;
use crate::bench::{EMBEDDED_FILES, Metric, load_csv};
use crate::experiment::{DEFAULT_EXPERIMENT, EMBEDDED, content_hash, parse, validate};
use crate::fit::Silent;

fn shipped(name: &str) -> ValidExperiment {
    let catalog = Catalog::embedded().unwrap();
    let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == name).unwrap();
    validate(
        parse(name, text).unwrap(),
        name,
        content_hash(text.as_bytes()),
        &catalog,
        &|_| true,
    )
    .unwrap()
}

fn chart() -> Vec<BenchRow> {
    load_csv(
        EMBEDDED_FILES[0].0,
        EMBEDDED_FILES[0].1,
        &Catalog::embedded().unwrap(),
    )
    .unwrap()
}

fn run(name: &str, scheme: Scheme) -> CrossValidation {
    let cancel = AtomicBool::new(false);
    let options = Options {
        seed: None,
        cancel: &cancel,
        progress: &Silent,
    };
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
    for s in ["loo", "kfold:5", "gpu", "model", "source", "budget"] {
        assert_eq!(s.parse::<Scheme>().unwrap().to_string(), s);
    }
    assert!("kfold:1".parse::<Scheme>().is_err());
    assert!(
        "random"
            .parse::<Scheme>()
            .unwrap_err()
            .contains("expected loo")
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
fn group_schemes_have_one_fold_per_group() {
    let rows = chart();
    assert_eq!(folds(&rows, Scheme::Gpu, 0).1.len(), 4);
    assert_eq!(folds(&rows, Scheme::Model, 0).1.len(), 2);
    assert_eq!(folds(&rows, Scheme::Budget, 0).1.len(), 2);
    assert_eq!(folds(&rows, Scheme::Source, 0).1.len(), 1);
}

#[test]
fn loo_held_out_error_of_the_default_is_within_thirty_five_percent() {
    let cv = run(DEFAULT_EXPERIMENT, Scheme::Loo);
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
fn the_shipped_default_wins_the_comparison_on_the_shipped_data() {
    let catalog = Catalog::embedded().unwrap();
    let experiments: Vec<(ValidExperiment, Vec<BenchRow>)> = crate::experiment::CHART_EXPERIMENTS
        .iter()
        .map(|n| (shipped(n), chart()))
        .collect();
    let cancel = AtomicBool::new(false);
    let options = Options {
        seed: None,
        cancel: &cancel,
        progress: &Silent,
    };
    let ranking = compare::compare(&experiments, &catalog, Scheme::Loo, &options).unwrap();
    assert_eq!(
        ranking[0].experiment,
        DEFAULT_EXPERIMENT,
        "{:?}",
        ranking
            .iter()
            .map(|e| (&e.experiment, e.held_out.median_ape))
            .collect::<Vec<_>>()
    );
    let position = |name: &str| ranking.iter().position(|e| e.experiment == name).unwrap();
    assert!(position(DEFAULT_EXPERIMENT) < position("seed-efficiency"));
    assert!(position(DEFAULT_EXPERIMENT) < position("roofline-global"));
}
