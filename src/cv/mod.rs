//! Cross-validation: how well a calibrated model predicts rows it was not fitted on.
//! Rows are split into folds by a scheme — leave-one-out over chart cells (rows that
//! differ only in metric leave together), seeded k-fold, or leave one GPU, model, source
//! or budget out. Every fold refits from scratch with the experiment's own search; folds
//! run in parallel and the result does not depend on the thread count. A tied parameter
//! whose group has no training rows falls back to its prior centre, and the fold says so.

pub mod compare;

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::evaluate::{RowEvaluation, evaluate_rows};
use crate::experiment::{Mode, ValidExperiment};
use crate::fit::{Calibration, FitError, Options, Silent, calibrate, filter_rows};
use crate::perf::registry::Tie;
use crate::scenario::Condition;

/// How rows are split into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Leave one cell out (its rows of every metric together).
    Loo,
    /// K folds of cells, shuffled with the experiment's seed.
    KFold(usize),
    /// Leave one GPU out.
    Gpu,
    /// Leave one model out.
    Model,
    /// Leave one source out.
    Source,
    /// Leave one TTFT budget (or other condition) out.
    Budget,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Loo => f.write_str("loo"),
            Scheme::KFold(k) => write!(f, "kfold:{k}"),
            Scheme::Gpu => f.write_str("gpu"),
            Scheme::Model => f.write_str("model"),
            Scheme::Source => f.write_str("source"),
            Scheme::Budget => f.write_str("budget"),
        }
    }
}

impl FromStr for Scheme {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = "expected loo, kfold:K (K ≥ 2), gpu, model, source or budget";
        match s.trim() {
            "loo" => Ok(Scheme::Loo),
            "gpu" => Ok(Scheme::Gpu),
            "model" => Ok(Scheme::Model),
            "source" => Ok(Scheme::Source),
            "budget" => Ok(Scheme::Budget),
            other => match other.strip_prefix("kfold:").map(str::parse::<usize>) {
                Some(Ok(k)) if k >= 2 => Ok(Scheme::KFold(k)),
                _ => Err(format!("unknown scheme `{other}`; {expected}")),
            },
        }
    }
}

/// The cell a row belongs to: everything but the metric, statistic, value and target.
fn cell(row: &BenchRow) -> String {
    let condition = match row.condition {
        Condition::TtftBudget { budget_s, .. } => format!("ttft<={budget_s}"),
        other => format!("{other:?}"),
    };
    format!(
        "{}|{}|{}|{:?}|{:?}|{:?}|{}|{}|{condition}",
        row.source, row.model, row.gpu, row.tp, row.pp, row.precision, row.isl, row.osl
    )
}

fn budget(row: &BenchRow) -> String {
    match row.condition {
        Condition::TtftBudget { budget_s, .. } => format!("TTFT ≤ {budget_s} s"),
        Condition::StaticBatch { .. } => "static batch".into(),
        Condition::Concurrency { .. } => "concurrency".into(),
        Condition::ArrivalRate { .. } => "arrival rate".into(),
        Condition::Saturated => "saturated".into(),
    }
}

/// Each row's fold index and each fold's label.
pub fn folds(rows: &[BenchRow], scheme: Scheme, seed: u64) -> (Vec<usize>, Vec<String>) {
    let key: Box<dyn Fn(&BenchRow) -> String> = match scheme {
        Scheme::Loo | Scheme::KFold(_) => Box::new(cell),
        Scheme::Gpu => Box::new(|r| r.gpu.clone()),
        Scheme::Model => Box::new(|r| r.model.clone()),
        Scheme::Source => Box::new(|r| r.source.clone()),
        Scheme::Budget => Box::new(budget),
    };
    let mut groups: Vec<String> = Vec::new();
    let group_of: Vec<usize> = rows
        .iter()
        .map(|r| {
            let k = key(r);
            groups.iter().position(|g| *g == k).unwrap_or_else(|| {
                groups.push(k);
                groups.len() - 1
            })
        })
        .collect();
    match scheme {
        Scheme::KFold(k) => {
            let mut order: Vec<usize> = (0..groups.len()).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let mut fold_of_group = vec![0; groups.len()];
            for (position, g) in order.into_iter().enumerate() {
                fold_of_group[g] = position % k;
            }
            let labels = (0..k.min(groups.len()))
                .map(|f| format!("fold {}", f + 1))
                .collect();
            (group_of.iter().map(|g| fold_of_group[*g]).collect(), labels)
        }
        Scheme::Loo => {
            let labels = groups
                .iter()
                .map(|g| g.split('|').skip(1).collect::<Vec<_>>().join(" "))
                .collect();
            (group_of, labels)
        }
        _ => (group_of, groups),
    }
}

/// One fold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fold {
    /// Label (the held-out GPU, model, cell, …).
    pub label: String,
    /// Rows held out (indices into the filtered rows).
    pub held_out: Vec<usize>,
    /// Training loss.
    pub loss: f64,
    /// Parameters that had no training data and fell back to their prior.
    pub prior_fallbacks: Vec<String>,
}

/// A cross-validation run.
#[derive(Debug, Clone, Serialize)]
pub struct CrossValidation {
    /// Experiment name.
    pub experiment: String,
    /// Scheme.
    pub scheme: Scheme,
    /// The rows (after the experiment's filter).
    pub rows: Vec<BenchRow>,
    /// Each row's fold.
    pub fold_of_row: Vec<usize>,
    /// The folds.
    pub folds: Vec<Fold>,
    /// Each row predicted by the fold that held it out.
    pub held_out: Vec<RowEvaluation>,
    /// Each row predicted by the fit on all rows.
    pub in_sample: Vec<RowEvaluation>,
    /// The fit on all rows.
    pub full: Calibration,
    /// Wall time of the whole run, seconds.
    pub wall_time_s: f64,
}

fn prior_fallbacks(e: &ValidExperiment, train: &[BenchRow], held: &[BenchRow]) -> Vec<String> {
    let mut out = Vec::new();
    for p in &e.parameters {
        if !matches!(p.mode, Mode::Free(_)) {
            continue;
        }
        let key = |r: &BenchRow| match p.tie {
            Tie::Gpu => Some(r.gpu.clone()),
            Tie::Model => Some(r.model.clone()),
            Tie::Global | Tie::GpuPrecision => None,
        };
        let mut missing: Vec<String> = held
            .iter()
            .filter_map(key)
            .filter(|g| !train.iter().any(|r| key(r).as_ref() == Some(g)))
            .collect();
        missing.sort();
        missing.dedup();
        out.extend(missing.into_iter().map(|g| format!("{}[{g}]", p.name)));
    }
    out
}

/// Cross-validates `experiment` on `rows` (all loaded rows; the filter applies) under
/// `scheme`. `options.progress` sees one step per fold; the seed shuffles k-fold splits.
pub fn cross_validate(
    e: &ValidExperiment,
    rows: &[BenchRow],
    catalog: &Catalog,
    scheme: Scheme,
    options: &Options<'_>,
) -> Result<CrossValidation, FitError> {
    let started = std::time::Instant::now();
    let rows = filter_rows(rows, &e.filter);
    if rows.is_empty() {
        return Err(FitError::NoRows);
    }
    let seed = options.seed.unwrap_or(e.search.seed);
    let (fold_of_row, labels) = folds(&rows, scheme, seed);
    let quiet = Options {
        seed: options.seed,
        cancel: options.cancel,
        progress: &Silent,
    };
    let full = calibrate(e, &rows, catalog, &quiet)?;
    options.progress.start("folds", labels.len() as u64);
    let results = (0..labels.len())
        .into_par_iter()
        .map(|f| {
            let held_out: Vec<usize> = (0..rows.len()).filter(|&i| fold_of_row[i] == f).collect();
            let train: Vec<BenchRow> = (0..rows.len())
                .filter(|&i| fold_of_row[i] != f)
                .map(|i| rows[i].clone())
                .collect();
            let held: Vec<BenchRow> = held_out.iter().map(|&i| rows[i].clone()).collect();
            let fit = calibrate(e, &train, catalog, &quiet)?;
            let model = e.perf_model.with_params(&fit.params);
            let predicted = evaluate_rows(&held, catalog, model.as_ref(), &fit.assumptions)?;
            options.progress.advance(1);
            let fold = Fold {
                label: labels[f].clone(),
                loss: fit.loss,
                prior_fallbacks: prior_fallbacks(e, &train, &held),
                held_out,
            };
            Ok((fold, predicted))
        })
        .collect::<Result<Vec<(Fold, Vec<RowEvaluation>)>, FitError>>()?;
    options.progress.finish();
    let mut held_out: Vec<Option<RowEvaluation>> = vec![None; rows.len()];
    let mut folds = Vec::with_capacity(results.len());
    for (fold, predicted) in results {
        for (&i, p) in fold.held_out.iter().zip(predicted) {
            held_out[i] = Some(p);
        }
        folds.push(fold);
    }
    let model = e.perf_model.with_params(&full.params);
    let in_sample = evaluate_rows(&rows, catalog, model.as_ref(), &full.assumptions)?;
    let held_out = held_out
        .into_iter()
        .zip(&in_sample)
        .map(|(h, i)| h.unwrap_or_else(|| i.clone()))
        .collect();
    Ok(CrossValidation {
        experiment: e.name.clone(),
        scheme,
        rows,
        fold_of_row,
        folds,
        held_out,
        in_sample,
        full,
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

/// Held-out and in-sample summaries side by side, per scope (overall, metrics, GPUs).
pub fn side_by_side(
    cv: &CrossValidation,
) -> Vec<(String, crate::evaluate::Summary, crate::evaluate::Summary)> {
    let inside = crate::evaluate::scopes(&cv.in_sample);
    crate::evaluate::scopes(&cv.held_out)
        .into_iter()
        .zip(inside)
        .map(|((name, h), (_, i))| (name, h, i))
        .collect()
}

#[cfg(test)]
mod tests;
