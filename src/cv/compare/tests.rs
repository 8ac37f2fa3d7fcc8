use std::sync::atomic::AtomicBool;

use super::*;
use crate::bench::embedded_rows;
use crate::cv::cross_validate;
use crate::cv::tests::{chart, shipped};
use crate::experiment::DEFAULT_EXPERIMENT;

/// The chart with its second half relabelled as another source (lines shifted so the
/// rows stay distinct).
fn chart_as_two_sources() -> Vec<BenchRow> {
    let mut rows = chart();
    let half = rows.len() / 2;
    for row in &mut rows[half..] {
        row.source = "second-source".into();
        row.origin.file = "second.csv".into();
    }
    rows
}

#[test]
fn the_evaluation_set_holds_each_row_once_and_knows_who_fits_it() {
    let all = chart_as_two_sources();
    let first: Vec<BenchRow> = all
        .iter()
        .filter(|r| r.source != "second-source")
        .cloned()
        .collect();
    let experiments = vec![
        (shipped("serving-global"), first.clone()),
        (shipped("serving-per-gpu"), all.clone()),
        (shipped("serving-global"), first.clone()),
    ];
    let (union, trainable) = evaluation_set(&experiments);
    assert_eq!(union.len(), all.len());
    assert_eq!(trainable[0].iter().filter(|t| **t).count(), first.len());
    assert!(trainable[1].iter().all(|t| *t));
    assert_eq!(trainable[0], trainable[2]);
}

#[test]
fn the_score_is_the_mean_of_the_per_source_medians() {
    let cancel = AtomicBool::new(false);
    let cv = cross_validate(
        &shipped("serving-global"),
        &chart_as_two_sources(),
        &Catalog::embedded().unwrap(),
        Scheme::Loo,
        &Options::silent(&cancel),
    )
    .unwrap();
    let (summaries, score) = by_source(&cv.held_out);
    assert_eq!(summaries.len(), 2);
    let medians: Vec<f64> = summaries.values().map(|s| s.median_ape.unwrap()).collect();
    let mean = (medians[0] + medians[1]) / 2.0;
    assert!((score.unwrap() - mean).abs() < 1e-12);
}

#[test]
fn a_source_an_experiment_never_fits_is_still_predicted() {
    let all = chart_as_two_sources();
    let trainable: Vec<bool> = all.iter().map(|r| r.source != "second-source").collect();
    let (fold_of_row, labels) = folds(&all, Scheme::Source, 1);
    let split = Split {
        rows: all.clone(),
        trainable,
        fold_of_row,
        labels,
    };
    let cancel = AtomicBool::new(false);
    let cv = cross_validate_split(
        &shipped("serving-global"),
        split,
        None,
        &Catalog::embedded().unwrap(),
        Scheme::Source,
        &Options::silent(&cancel),
    )
    .unwrap();
    let untrained: Vec<&str> = cv
        .folds
        .iter()
        .filter(|f| f.untrained)
        .map(|f| f.label.as_str())
        .collect();
    assert_eq!(
        untrained,
        ["nim-sizing-chart"],
        "holding out its only source leaves no training row"
    );
    // The other fold's training set is everything the experiment fits: the full fit, reused.
    for (i, row) in all.iter().enumerate() {
        if row.source == "second-source" {
            assert_eq!(
                cv.held_out[i].predicted.map(f64::to_bits),
                cv.in_sample[i].predicted.map(f64::to_bits)
            );
        }
    }
}

#[test]
fn k_fold_draws_are_pooled_and_fixed_splits_drawn_once() {
    let rows = chart_as_two_sources();
    let experiments = vec![(shipped("serving-global"), rows.clone())];
    let cancel = AtomicBool::new(false);
    let catalog = Catalog::embedded().unwrap();
    let drawn = compare(
        &experiments,
        &catalog,
        Scheme::KFold(4),
        3,
        &Options::silent(&cancel),
    )
    .unwrap();
    let entry = &drawn.entries[0];
    assert_eq!(entry.draw_scores.len(), 3);
    assert_eq!(entry.held_out.n, 3 * rows.len(), "every row once per draw");
    let scores: Vec<f64> = entry.draw_scores.iter().map(|s| s.unwrap()).collect();
    let (low, high) = scores
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), s| {
            (l.min(*s), h.max(*s))
        });
    assert!(low < high, "different folds, different scores: {scores:?}");
    let fixed = compare(
        &experiments,
        &catalog,
        Scheme::Source,
        3,
        &Options::silent(&cancel),
    )
    .unwrap();
    assert_eq!(
        fixed.entries[0].draw_scores.len(),
        1,
        "a source split has one draw"
    );
}

#[test]
#[ignore = "slowest guard (~2-3 min on 2 cores): cargo test -- --ignored"]
fn the_union_comparison_ranks_the_default_first_on_all_shipped_data() {
    let catalog = Catalog::embedded().unwrap();
    let experiments: Vec<(ValidExperiment, Vec<BenchRow>)> = ["serving-per-gpu", "serving-real"]
        .map(|name| {
            let e = shipped(name);
            let rows = embedded_rows(&e.data, &catalog).unwrap();
            (e, rows)
        })
        .into();
    let cancel = AtomicBool::new(false);
    let draws = DEFAULT_DRAWS as usize;
    let ranking = compare(
        &experiments,
        &catalog,
        Scheme::Auto,
        draws,
        &Options::silent(&cancel),
    )
    .unwrap();
    assert_eq!(
        ranking.scheme,
        Scheme::KFold(10),
        "thousands of cells: ten folds"
    );
    let ranking = ranking.entries;
    assert_eq!(
        ranking[0].experiment,
        DEFAULT_EXPERIMENT,
        "{:?}",
        ranking
            .iter()
            .map(|e| (&e.experiment, e.score, &e.held_out_by_source))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ranking[0].held_out_by_source.len(),
        4,
        "every shipped source"
    );
}
