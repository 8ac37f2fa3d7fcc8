//! Cross-validation: how well a calibrated model predicts rows it was not fitted on.
//! Rows are split into folds by a scheme — leave-one-out over chart cells (rows that
//! differ only in metric leave together), seeded k-fold, or leave one GPU, model, source
//! or budget out. Every fold refits from scratch with the experiment's own search; folds
//! run in parallel and the result does not depend on the thread count. A tied parameter
//! whose group has no training rows takes its architecture's fitted mean (for a GPU), else
//! the global value, and the fold says so.

pub mod compare;
pub mod new_user;
mod scheme;

pub use scheme::{LOO_MAX_CELLS, Scheme, folds};

use rayon::prelude::*;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::{Assumptions, RowEvaluation, evaluate_rows, parameter_spreads};
use crate::experiment::{Mode, ValidExperiment};
use crate::fit::space::ParamSpace;
use crate::fit::{Calibration, FitError, Options, Silent, calibrate, calibrate_owned, filter_rows};
use crate::interval::coverage::HeldOutError;
use crate::interval::{DiscrepancyTable, Key, Level, ParameterUncertainty};
use crate::perf::registry::{ParamSet, Tie};

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
    /// Where each row's GPU efficiencies came from in the fold that predicted it.
    pub levels: Vec<Level>,
    /// The log spread the fold's parameter uncertainty gave each row's prediction.
    pub spreads: Vec<f64>,
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
            Tie::Engine => Engine::family_of(&r.engine).map(|e| e.as_str().to_string()),
            Tie::Precision => r.precision.map(|p| p.as_str().to_string()),
            Tie::Global | Tie::GpuPrecision => None,
        };
        let mut missing: Vec<String> = held
            .iter()
            .filter_map(key)
            .filter(|g| !train.iter().any(|r| key(r).as_ref() == Some(g)))
            .collect();
        missing.sort();
        missing.dedup();
        out.extend(
            missing
                .into_iter()
                .map(|g| crate::fit::space::label(p.name, &g)),
        );
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

/// The cross-validation behind calibration `c`'s prediction intervals: its rows split by
/// `scheme` (default [`Scheme::for_intervals`]), each fold refitted with `e`'s search; the
/// fit on every row is `c` itself.
pub fn for_intervals(
    e: &ValidExperiment,
    c: &Calibration,
    catalog: &Catalog,
    scheme: Option<Scheme>,
    options: &Options<'_>,
) -> Result<CrossValidation, FitError> {
    let seed = options.seed.unwrap_or(e.search.seed);
    let scheme = scheme
        .unwrap_or_else(|| Scheme::for_intervals(&c.rows))
        .resolve(&c.rows);
    let (fold_of_row, labels) = folds(&c.rows, scheme, seed);
    let split = Split {
        rows: c.rows.clone(),
        trainable: vec![true; c.rows.len()],
        fold_of_row,
        labels,
    };
    cross_validate_split(e, split, Some(c.clone()), catalog, scheme, options)
}

/// What a fold predicts with: parameters, assumptions, training loss and the parameters'
/// uncertainty.
type FoldFit = (ParamSet, Assumptions, f64, ParameterUncertainty);

/// A fold's fit on `train` (rows the experiment's filter already kept, taken over by the
/// fit rather than copied), or the initial parameters (loss NaN, no uncertainty) when
/// there is nothing to train on.
fn fold_fit(
    e: &ValidExperiment,
    train: Vec<BenchRow>,
    catalog: &Catalog,
    quiet: &Options<'_>,
) -> Result<FoldFit, FitError> {
    if train.is_empty() {
        let space = ParamSpace::new(e, &|_| Vec::new()).map_err(FitError::Space)?;
        return Ok((
            space.params_at(&space.initial()),
            Assumptions::default(),
            f64::NAN,
            ParameterUncertainty::default(),
        ));
    }
    let fit = calibrate_owned(e, train, catalog, quiet)?;
    let uncertainty = fit.parameter_uncertainty();
    Ok((fit.params, fit.assumptions, fit.loss, uncertainty))
}

/// A held-out row's prediction, the level its GPU was predicted at and the log spread of
/// its parameters.
type HeldOut = (RowEvaluation, Level, f64);

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
) -> Result<(Fold, Vec<HeldOut>), FitError> {
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
    let (untrained, prior_fallbacks) = (train.is_empty(), prior_fallbacks(e, &train, &held));
    let (params, assumptions, loss, uncertainty) = if train.len() == trainable_rows {
        let u = full.parameter_uncertainty();
        (full.params.clone(), full.assumptions.clone(), full.loss, u)
    } else {
        fold_fit(e, train, catalog, quiet)?
    };
    let model = e.perf_model.with_params(&params);
    let predicted = evaluate_rows(&held, catalog, model.as_ref(), &assumptions)?;
    let levels = held
        .iter()
        .map(|r| Level::of_gpu(&params.serving, catalog, &r.gpu));
    let kind = e.perf_model;
    let spreads = parameter_spreads(&held, catalog, kind, &params, &assumptions, &uncertainty);
    let predicted = (predicted.into_iter().zip(levels).zip(spreads))
        .map(|((p, level), spread)| (p, level, spread))
        .collect();
    let fold = Fold {
        label: fold.label.to_string(),
        loss,
        untrained,
        prior_fallbacks,
        held_out,
    };
    Ok((fold, predicted))
}

/// Every fold of `split`, in parallel: the folds and each row's held-out prediction
/// (`None` for a row no fold held out).
fn run_folds(
    e: &ValidExperiment,
    split: &Split,
    full: &Calibration,
    trainable_rows: usize,
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<(Vec<Fold>, Vec<Option<HeldOut>>), FitError> {
    let quiet = Options {
        seed: options.seed,
        cancel: options.cancel,
        progress: &Silent,
    };
    let Split {
        rows,
        trainable,
        fold_of_row,
        labels,
    } = split;
    options.progress.start("folds", labels.len() as u64);
    let results = (0..labels.len())
        .into_par_iter()
        .map(|f| {
            let fold = FoldInput {
                index: f,
                label: &labels[f],
                rows,
                trainable,
                fold_of_row,
            };
            let out = run_fold(e, &fold, full, trainable_rows, catalog, &quiet);
            options.progress.advance(1);
            out
        })
        .collect::<Result<Vec<(Fold, Vec<HeldOut>)>, FitError>>()?;
    options.progress.finish();
    let mut held_out: Vec<Option<HeldOut>> = vec![None; rows.len()];
    let mut folds = Vec::with_capacity(results.len());
    for (fold, predicted) in results {
        for (&i, p) in fold.held_out.iter().zip(predicted) {
            held_out[i] = Some(p);
        }
        folds.push(fold);
    }
    Ok((folds, held_out))
}

/// Each row's held-out prediction, level and parameter spread, split apart; a row no fold
/// held out takes its in-sample prediction under `full`.
fn fill_in(
    held_out: Vec<Option<HeldOut>>,
    in_sample: &[RowEvaluation],
    e: &ValidExperiment,
    full: &Calibration,
    catalog: &Catalog,
) -> (Vec<RowEvaluation>, Vec<Level>, Vec<f64>) {
    let uncertainty = full.parameter_uncertainty();
    let (set, assumptions) = (&full.params, &full.assumptions);
    let mut levels = Vec::with_capacity(in_sample.len());
    let mut spreads = Vec::with_capacity(in_sample.len());
    let held_out = (held_out.into_iter().zip(in_sample))
        .map(|(h, i)| {
            let (evaluation, level, spread) = h.unwrap_or_else(|| {
                let level = Level::of_gpu(&set.serving, catalog, &i.row.gpu);
                let one = std::slice::from_ref(&i.row);
                let kind = e.perf_model;
                let spread = parameter_spreads(one, catalog, kind, set, assumptions, &uncertainty);
                (i.clone(), level, spread[0])
            });
            levels.push(level);
            spreads.push(spread);
            evaluation
        })
        .collect();
    (held_out, levels, spreads)
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
    let quiet = Options {
        seed: options.seed,
        cancel: options.cancel,
        progress: &Silent,
    };
    let own: Vec<BenchRow> = (0..split.rows.len())
        .filter(|&i| split.trainable[i])
        .map(|i| split.rows[i].clone())
        .collect();
    let full = match full {
        Some(full) => full,
        None => calibrate(e, &own, catalog, &quiet)?,
    };
    let (folds, held_out) = run_folds(e, &split, &full, own.len(), catalog, options)?;
    let model = e.perf_model.with_params(&full.params);
    let Split {
        rows,
        trainable,
        fold_of_row,
        ..
    } = split;
    let in_sample = evaluate_rows(&rows, catalog, model.as_ref(), &full.assumptions)?;
    let (held_out, levels, spreads) = fill_in(held_out, &in_sample, e, &full, catalog);
    Ok(CrossValidation {
        experiment: e.name.clone(),
        scheme,
        rows,
        trainable,
        fold_of_row,
        folds,
        held_out,
        levels,
        spreads,
        in_sample,
        full,
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

impl CrossValidation {
    /// Each row's interval key, held-out ln(measured / predicted) and parameter spread
    /// (`None` for a row measured NA or predicted infeasible).
    pub fn residuals(&self) -> Vec<Option<HeldOutError>> {
        (self.held_out.iter().zip(&self.levels).zip(&self.spreads))
            .map(|((h, &level), &log_sd)| {
                h.ratio.map(|ratio| HeldOutError {
                    key: Key::of_row(&h.row, level),
                    residual: -ratio.ln(),
                    log_sd,
                })
            })
            .collect()
    }

    /// The discrepancy table of the held-out residuals: what `fitted.json` carries for
    /// prediction intervals.
    pub fn discrepancy(&self) -> DiscrepancyTable {
        let residuals: Vec<(Key, f64)> = (self.residuals().into_iter().flatten())
            .map(|h| (h.key, h.residual))
            .collect();
        DiscrepancyTable::from_residuals(&self.scheme.to_string(), &residuals)
    }

    /// Each row's held-out interval at `confidence` around its held-out prediction, as the
    /// leave-one-fold-out coverage judges it (`None` without a held-out error).
    pub fn held_out_intervals(
        &self,
        confidence: crate::interval::Confidence,
    ) -> Vec<Option<(f64, f64)>> {
        let factors = crate::interval::coverage::leave_fold_out_factors(
            &self.fold_of_row,
            &self.residuals(),
            confidence,
        );
        (factors.into_iter().zip(&self.held_out))
            .map(|(f, h)| Some((f?, h.predicted?)).map(|((lo, hi), p)| (p * lo, p * hi)))
            .collect()
    }

    /// Leave-one-fold-out coverage of the intervals, per scope.
    pub fn coverage(&self) -> crate::interval::coverage::CoverageReport {
        crate::interval::coverage::leave_fold_out(&self.rows, &self.fold_of_row, &self.residuals())
    }
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
