//! Cross-validation: how well a calibrated model predicts rows it was not fitted on.
//! Rows are split into folds by a scheme — leave-one-out over chart cells (rows that
//! differ only in metric leave together), seeded k-fold, or leave one GPU, model, source
//! or budget out. Every fold refits from scratch with the experiment's own search; folds
//! run in parallel and the result does not depend on the thread count. A tied parameter
//! whose group has no training rows takes its architecture's fitted mean (for a GPU), else
//! the global value, and the fold says so.

pub mod compare;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::evaluate::{Assumptions, RowEvaluation, evaluate_rows};
use crate::experiment::{Mode, ValidExperiment};
use crate::fit::space::ParamSpace;
use crate::fit::{Calibration, FitError, Options, Silent, calibrate, filter_rows};
use crate::perf::registry::{ParamSet, Tie};
use crate::scenario::Condition;

/// How rows are split into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Leave one cell out when there are at most [`LOO_MAX_CELLS`] cells, else ten folds.
    Auto,
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
            Scheme::Auto => f.write_str("auto"),
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
        let expected = "expected auto, loo, kfold:K (K ≥ 2), gpu, model, source or budget";
        match s.trim() {
            "auto" => Ok(Scheme::Auto),
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

/// Leave-one-out refits once per cell: past this many cells `auto` uses ten folds instead
/// (the 16-cell chart stays leave-one-out; 3,500 static-batch cells would take hours).
pub const LOO_MAX_CELLS: usize = 100;

impl Scheme {
    /// The concrete scheme for `rows`: `auto` resolved, everything else as is.
    pub fn resolve(self, rows: &[BenchRow]) -> Scheme {
        if self != Scheme::Auto {
            return self;
        }
        let cells: HashSet<CellKey<'_>> = rows.iter().map(CellKey::of).collect();
        if cells.len() <= LOO_MAX_CELLS {
            Scheme::Loo
        } else {
            Scheme::KFold(10)
        }
    }
}

/// The cell a row belongs to: everything but the metric, statistic, value and target
/// rate. Rows of one cell (a chart cell's rate and GPU count, a run's TTFT, ITL and
/// throughput) are held out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CellKey<'r> {
    source: &'r str,
    model: &'r str,
    gpu: &'r str,
    tp: Option<u32>,
    pp: Option<u32>,
    precision: Option<crate::precision::Precision>,
    isl: u32,
    osl: u32,
    /// [`Condition::cell_key`].
    condition: (u8, u64),
}

impl<'r> CellKey<'r> {
    fn of(row: &'r BenchRow) -> CellKey<'r> {
        CellKey {
            source: &row.source,
            model: &row.model,
            gpu: &row.gpu,
            tp: row.tp,
            pp: row.pp,
            precision: row.precision,
            isl: row.isl,
            osl: row.osl,
            condition: row.condition.cell_key(),
        }
    }
}

/// A leave-one-out fold's label: the cell of `row`, without its source.
fn cell_label(row: &BenchRow) -> String {
    let condition = match row.condition {
        Condition::TtftBudget { budget_s, .. } => format!("ttft<={budget_s}"),
        other => format!("{other:?}"),
    };
    format!(
        "{} {} {:?} {:?} {:?} {} {} {condition}",
        row.model, row.gpu, row.tp, row.pp, row.precision, row.isl, row.osl
    )
}

/// Each row's group (numbered in order of first appearance) and the first row of each
/// group.
fn groups_of<'r, K: Eq + std::hash::Hash>(
    rows: &'r [BenchRow],
    key: impl Fn(&'r BenchRow) -> K,
) -> (Vec<usize>, Vec<usize>) {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut first_rows = Vec::new();
    let group_of = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            *index.entry(key(r)).or_insert_with(|| {
                first_rows.push(i);
                first_rows.len() - 1
            })
        })
        .collect();
    (group_of, first_rows)
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
    let scheme = scheme.resolve(rows);
    let (group_of, first_rows) = match scheme {
        Scheme::Auto | Scheme::Loo | Scheme::KFold(_) => groups_of(rows, CellKey::of),
        Scheme::Gpu => groups_of(rows, |r| r.gpu.clone()),
        Scheme::Model => groups_of(rows, |r| r.model.clone()),
        Scheme::Source => groups_of(rows, |r| r.source.clone()),
        Scheme::Budget => groups_of(rows, budget),
    };
    let label = |g: usize| -> String {
        let row = &rows[first_rows[g]];
        match scheme {
            Scheme::Gpu => row.gpu.to_string(),
            Scheme::Model => row.model.to_string(),
            Scheme::Source => row.source.to_string(),
            Scheme::Budget => budget(row),
            Scheme::Auto | Scheme::Loo | Scheme::KFold(_) => cell_label(row),
        }
    };
    let groups = first_rows.len();
    match scheme {
        Scheme::KFold(k) => {
            let mut order: Vec<usize> = (0..groups).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let mut fold_of_group = vec![0; groups];
            for (position, g) in order.into_iter().enumerate() {
                fold_of_group[g] = position % k;
            }
            let labels = (0..k.min(groups))
                .map(|f| format!("fold {}", f + 1))
                .collect();
            (group_of.iter().map(|g| fold_of_group[*g]).collect(), labels)
        }
        _ => (group_of, (0..groups).map(label).collect()),
    }
}

/// One fold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fold {
    /// Label (the held-out GPU, model, cell, …).
    pub label: String,
    /// Rows held out (indices into the filtered rows).
    pub held_out: Vec<usize>,
    /// Training loss (NaN when the fold had no training rows).
    pub loss: f64,
    /// The fold had no training rows and predicted with the initial parameters.
    pub untrained: bool,
    /// Parameters that had no training data (they take the architecture's fitted mean for a
    /// GPU, else the global value).
    pub prior_fallbacks: Vec<String>,
}

/// A cross-validation run.
#[derive(Debug, Clone, Serialize)]
pub struct CrossValidation {
    /// Experiment name.
    pub experiment: String,
    /// Scheme.
    pub scheme: Scheme,
    /// The rows predicted (after the experiment's filter).
    pub rows: Vec<BenchRow>,
    /// Whether the experiment trained on each row (a comparison over several experiments'
    /// data also predicts rows an experiment does not fit).
    pub trainable: Vec<bool>,
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
            Tie::Gpu => Some(r.gpu.to_string()),
            Tie::Model => Some(r.model.to_string()),
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

/// What a cross-validation predicts and how it splits it: the evaluation rows, which of
/// them the experiment trains on, and each row's fold.
#[derive(Debug, Clone)]
pub struct Split {
    /// Rows to predict (already filtered).
    pub rows: Vec<BenchRow>,
    /// Whether the experiment may train on each row; the others are only predicted.
    pub trainable: Vec<bool>,
    /// Each row's fold.
    pub fold_of_row: Vec<usize>,
    /// Each fold's label.
    pub labels: Vec<String>,
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
    let rows = filter_rows(rows, &e.filter);
    if rows.is_empty() {
        return Err(FitError::NoRows);
    }
    let seed = options.seed.unwrap_or(e.search.seed);
    let scheme = scheme.resolve(&rows);
    let (fold_of_row, labels) = folds(&rows, scheme, seed);
    let split = Split {
        trainable: vec![true; rows.len()],
        rows,
        fold_of_row,
        labels,
    };
    cross_validate_split(e, split, None, catalog, scheme, options)
}

/// A fold's parameters, assumptions and training loss: a fit on `train`, or the initial
/// parameters (loss NaN) when there is nothing to train on.
fn fold_fit(
    e: &ValidExperiment,
    train: &[BenchRow],
    catalog: &Catalog,
    quiet: &Options<'_>,
) -> Result<(ParamSet, Assumptions, f64), FitError> {
    if train.is_empty() {
        let space = ParamSpace::new(e, &|_| Vec::new()).map_err(FitError::Space)?;
        return Ok((
            space.params_at(&space.initial()),
            Assumptions::default(),
            f64::NAN,
        ));
    }
    let fit = calibrate(e, train, catalog, quiet)?;
    Ok((fit.params, fit.assumptions, fit.loss))
}

/// One fold of a split, as `run_fold` sees it.
struct FoldInput<'a> {
    index: usize,
    label: &'a str,
    rows: &'a [BenchRow],
    trainable: &'a [bool],
    fold_of_row: &'a [usize],
}

/// Trains fold `fold` (or reuses `full` when its training set is every trainable row,
/// `trainable_rows` of them) and predicts its held-out rows.
fn run_fold(
    e: &ValidExperiment,
    fold: &FoldInput<'_>,
    full: &Calibration,
    trainable_rows: usize,
    catalog: &Catalog,
    quiet: &Options<'_>,
) -> Result<(Fold, Vec<RowEvaluation>), FitError> {
    let FoldInput {
        index,
        rows,
        trainable,
        fold_of_row,
        ..
    } = *fold;
    let held_out: Vec<usize> = (0..rows.len())
        .filter(|&i| fold_of_row[i] == index)
        .collect();
    let train: Vec<BenchRow> = (0..rows.len())
        .filter(|&i| trainable[i] && fold_of_row[i] != index)
        .map(|i| rows[i].clone())
        .collect();
    let held: Vec<BenchRow> = held_out.iter().map(|&i| rows[i].clone()).collect();
    let (params, assumptions, loss) = if train.len() == trainable_rows {
        (full.params.clone(), full.assumptions.clone(), full.loss)
    } else {
        fold_fit(e, &train, catalog, quiet)?
    };
    let model = e.perf_model.with_params(&params);
    let predicted = evaluate_rows(&held, catalog, model.as_ref(), &assumptions)?;
    let fold = Fold {
        label: fold.label.to_string(),
        loss,
        untrained: train.is_empty(),
        prior_fallbacks: prior_fallbacks(e, &train, &held),
        held_out,
    };
    Ok((fold, predicted))
}

/// Cross-validates `e` over a prepared split. A fold's training set is the trainable rows
/// outside it: when that is every trainable row the full fit is reused (the fit is
/// deterministic, so refitting would give the same answer), and when it is empty the
/// fold predicts with the experiment's initial parameters and says so. `full` is the fit on
/// every trainable row when the caller already has it (another draw of the same split's
/// rows); `None` fits it here.
pub fn cross_validate_split(
    e: &ValidExperiment,
    split: Split,
    full: Option<Calibration>,
    catalog: &Catalog,
    scheme: Scheme,
    options: &Options<'_>,
) -> Result<CrossValidation, FitError> {
    let started = std::time::Instant::now();
    let Split {
        rows,
        trainable,
        fold_of_row,
        labels,
    } = split;
    let quiet = Options {
        seed: options.seed,
        cancel: options.cancel,
        progress: &Silent,
    };
    let own: Vec<BenchRow> = (0..rows.len())
        .filter(|&i| trainable[i])
        .map(|i| rows[i].clone())
        .collect();
    let full = match full {
        Some(full) => full,
        None => calibrate(e, &own, catalog, &quiet)?,
    };
    options.progress.start("folds", labels.len() as u64);
    let results = (0..labels.len())
        .into_par_iter()
        .map(|f| {
            let fold = FoldInput {
                index: f,
                label: &labels[f],
                rows: &rows,
                trainable: &trainable,
                fold_of_row: &fold_of_row,
            };
            let out = run_fold(e, &fold, &full, own.len(), catalog, &quiet);
            options.progress.advance(1);
            out
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
        trainable,
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
