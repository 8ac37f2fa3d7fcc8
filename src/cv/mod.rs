//! Cross-validation: how well a calibrated model predicts rows it was not fitted on.
//! Rows are split into folds by a scheme — leave-one-out over chart cells (rows that
//! differ only in metric leave together), seeded k-fold, or leave one GPU, model, source
//! or budget out. Every fold refits from scratch with the experiment's own search; folds
//! run in parallel (one at a time from [`ONE_AT_A_TIME_FROM_ROWS`] rows, each fit then
//! parallel over its rows) and the result does not depend on the thread count. A tied
//! parameter whose group has no training rows takes its architecture's fitted mean (for a
//! GPU), else the global value, and the fold says so.

pub mod compare;
pub mod new_user;
mod scheme;

pub use scheme::{LOO_MAX_CELLS, Scheme, folds};

use rayon::prelude::*;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::{
    Assumptions, RowEvaluation, evaluate_rows, parameter_spread, predict_row, ratio,
};
use crate::experiment::{Mode, ValidExperiment};
use crate::fit::space::ParamSpace;
use crate::fit::{
    Calibration, FitError, ONE_AT_A_TIME_FROM_ROWS, Options, calibrate_borrowed, calibrate_owned,
    filter_rows,
};
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

fn prior_fallbacks(e: &ValidExperiment, train: &[&BenchRow], held: &[&BenchRow]) -> Vec<String> {
    let mut out = Vec::new();
    for p in &e.parameters {
        if !matches!(p.mode, Mode::Free(_)) {
            continue;
        }
        let key = |r: &&BenchRow| match p.tie {
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

/// The held-out errors behind a calibration's prediction intervals: each row's fold and
/// its error when its fold held it out. Rows are borrowed from the calibration, not kept.
#[derive(Debug, Clone)]
pub struct HeldOutErrors {
    /// Scheme.
    pub scheme: Scheme,
    /// Each row's fold.
    pub fold_of_row: Vec<usize>,
    /// Each row's held-out error (`None` for a row measured NA or predicted infeasible).
    pub residuals: Vec<Option<HeldOutError>>,
}

impl HeldOutErrors {
    /// The discrepancy table of the held-out residuals: what `fitted.json` carries.
    pub fn discrepancy(&self) -> DiscrepancyTable {
        discrepancy_of(self.scheme, &self.residuals)
    }

    /// Leave-one-fold-out coverage of the intervals over `rows` (the calibration's rows,
    /// in the order the errors follow), per scope.
    pub fn coverage(&self, rows: &[BenchRow]) -> crate::interval::coverage::CoverageReport {
        crate::interval::coverage::leave_fold_out(rows, &self.fold_of_row, &self.residuals)
    }
}

/// The cross-validation behind calibration `c`'s prediction intervals: its rows split by
/// `scheme` (default [`Scheme::for_intervals`]), each fold refitted with `e`'s search; the
/// fit on every row is `c` itself. Only each row's error is kept, and the folds borrow
/// `c`'s rows, so a million rows cost their fits, not copies of themselves.
pub fn for_intervals(
    e: &ValidExperiment,
    c: &Calibration,
    catalog: &Catalog,
    scheme: Option<Scheme>,
    options: &Options<'_>,
) -> Result<HeldOutErrors, FitError> {
    let seed = options.seed.unwrap_or(e.search.seed);
    let scheme = scheme
        .unwrap_or_else(|| Scheme::for_intervals(&c.rows))
        .resolve(&c.rows);
    let (fold_of_row, labels) = folds(&c.rows, scheme, seed);
    let trainable = vec![true; c.rows.len()];
    let view = View {
        rows: &c.rows,
        trainable: &trainable,
        fold_of_row: &fold_of_row,
        labels: &labels,
        one_at_a_time: c.rows.len() >= ONE_AT_A_TIME_FROM_ROWS,
    };
    let keep = |row: &BenchRow, h: HeldOut| held_out_error(row, &h);
    let (_, held_out) = run_folds(e, &view, (c, c.rows.len()), catalog, options, &keep)?;
    // Every scheme holds each row out once, so this only guards; it predicts afresh
    // because `c`'s per-row fits may not be built yet (`calibrate_owned_then`).
    let (uncertainty, model) = (
        c.parameter_uncertainty(),
        e.perf_model.with_params(&c.params),
    );
    let residuals = fill_in(held_out, |i| {
        let row = &c.rows[i];
        let predicted = predict_row(row, catalog, model.as_ref(), &c.assumptions)?;
        let fit = (&c.params, &c.assumptions, &uncertainty);
        Ok(held_out_error(
            row,
            &prediction_of(e, fit, catalog, row, predicted),
        ))
    })?;
    Ok(HeldOutErrors {
        scheme,
        fold_of_row,
        residuals,
    })
}

/// What a fold predicts with: parameters, assumptions, training loss and the parameters'
/// uncertainty.
type FoldFit = (ParamSet, Assumptions, f64, ParameterUncertainty);

/// A fold's fit on `train` (rows the experiment's filter already kept, borrowed from the
/// split), or the initial parameters (loss NaN, no uncertainty) when there is nothing to
/// train on.
fn fold_fit(
    e: &ValidExperiment,
    train: Vec<&BenchRow>,
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
    let fit = calibrate_borrowed(e, train, catalog, quiet)?;
    let uncertainty = fit.parameter_uncertainty();
    Ok((fit.params, fit.assumptions, fit.loss, uncertainty))
}

/// A row's prediction by the fold that held it out, without the row: the value (`None`
/// when infeasible) and why not, the level its GPU was predicted at and the log spread
/// of its parameters.
#[derive(Debug, Clone)]
struct HeldOut {
    predicted: Option<f64>,
    reason: Option<String>,
    level: Level,
    spread: f64,
}

/// A row's held-out error from its held-out prediction (`None` for a row measured NA or
/// predicted infeasible).
fn held_out_error(row: &BenchRow, h: &HeldOut) -> Option<HeldOutError> {
    error_of(row, ratio(row, h.predicted), h.level, h.spread)
}

/// A row's error from its predicted / measured `ratio`, the level its GPU was predicted at
/// and its parameters' log spread.
fn error_of(row: &BenchRow, ratio: Option<f64>, level: Level, log_sd: f64) -> Option<HeldOutError> {
    Some(HeldOutError {
        key: Key::of_row(row, level),
        residual: -ratio?.ln(),
        log_sd,
    })
}

/// The discrepancy table of `residuals` under `scheme`.
fn discrepancy_of(scheme: Scheme, residuals: &[Option<HeldOutError>]) -> DiscrepancyTable {
    let residuals: Vec<(Key, f64)> = (residuals.iter().flatten())
        .map(|h| (h.key, h.residual))
        .collect();
    DiscrepancyTable::from_residuals(&scheme.to_string(), &residuals)
}

/// A split, borrowed: the rows, which of them train, each row's fold and each fold's label,
/// and whether the folds run one at a time.
struct View<'a> {
    rows: &'a [BenchRow],
    trainable: &'a [bool],
    fold_of_row: &'a [usize],
    labels: &'a [String],
    one_at_a_time: bool,
}

/// What a cross-validation keeps of each held-out prediction (the interval path keeps only
/// the error, so a million rows do not hold a million reasons).
type Keep<'k, T> = &'k (dyn Fn(&BenchRow, HeldOut) -> T + Sync);

/// Trains fold `index` of `split` (or reuses `full` when its training set is every
/// trainable row, `trainable_rows` of them) and predicts its held-out rows, keeping what
/// `keep` makes of each.
fn run_fold<T>(
    e: &ValidExperiment,
    (index, split, keep): (usize, &View<'_>, Keep<'_, T>),
    full: &Calibration,
    trainable_rows: usize,
    catalog: &Catalog,
    quiet: &Options<'_>,
) -> Result<(Fold, Vec<T>), FitError> {
    let View {
        rows,
        trainable,
        fold_of_row,
        labels,
        ..
    } = *split;
    let held_out: Vec<usize> = (0..rows.len())
        .filter(|&i| fold_of_row[i] == index)
        .collect();
    let train: Vec<&BenchRow> = (0..rows.len())
        .filter(|&i| trainable[i] && fold_of_row[i] != index)
        .map(|i| &rows[i])
        .collect();
    let held: Vec<&BenchRow> = held_out.iter().map(|&i| &rows[i]).collect();
    let (untrained, prior_fallbacks) = (train.is_empty(), prior_fallbacks(e, &train, &held));
    let (params, assumptions, loss, uncertainty) = if train.len() == trainable_rows {
        let u = full.parameter_uncertainty();
        (full.params.clone(), full.assumptions.clone(), full.loss, u)
    } else {
        fold_fit(e, train, catalog, quiet)?
    };
    let model = e.perf_model.with_params(&params);
    let predicted = (held.iter())
        .map(|row| {
            let predicted = predict_row(row, catalog, model.as_ref(), &assumptions)?;
            let fit = (&params, &assumptions, &uncertainty);
            Ok(keep(row, prediction_of(e, fit, catalog, row, predicted)))
        })
        .collect::<Result<Vec<T>, FitError>>()?;
    let fold = Fold {
        label: labels[index].clone(),
        loss,
        untrained,
        prior_fallbacks,
        held_out,
    };
    Ok((fold, predicted))
}

/// Every fold of `split`: the folds and what `keep` made of each row's held-out prediction
/// (`None` for a row no fold held out). Folds run in parallel unless the split says one
/// at a time ([`ONE_AT_A_TIME_FROM_ROWS`]).
fn run_folds<T: Send>(
    e: &ValidExperiment,
    split: &View<'_>,
    (full, trainable_rows): (&Calibration, usize),
    catalog: &Catalog,
    options: &Options<'_>,
    keep: Keep<'_, T>,
) -> Result<(Vec<Fold>, Vec<Option<T>>), FitError> {
    let quiet = options.quiet();
    options.progress.start("folds", split.labels.len() as u64);
    let run = |f: usize| {
        let out = run_fold(e, (f, split, keep), full, trainable_rows, catalog, &quiet);
        options.progress.advance(1);
        out
    };
    let folds = 0..split.labels.len();
    let results: Vec<(Fold, Vec<T>)> = if split.one_at_a_time {
        folds.map(run).collect::<Result<_, FitError>>()?
    } else {
        folds
            .into_par_iter()
            .map(run)
            .collect::<Result<_, FitError>>()?
    };
    options.progress.finish();
    let mut held_out: Vec<Option<T>> = (0..split.rows.len()).map(|_| None).collect();
    let mut folds = Vec::with_capacity(results.len());
    for (fold, predicted) in results {
        for (&i, p) in fold.held_out.iter().zip(predicted) {
            held_out[i] = Some(p);
        }
        folds.push(fold);
    }
    Ok((folds, held_out))
}

/// Each row's held-out outcome; a row no fold held out takes `in_sample(i)`.
fn fill_in<T>(
    held_out: Vec<Option<T>>,
    in_sample: impl Fn(usize) -> Result<T, FitError>,
) -> Result<Vec<T>, FitError> {
    (held_out.into_iter().enumerate())
        .map(|(i, h)| h.map_or_else(|| in_sample(i), Ok))
        .collect()
}

/// What a fit (`params`, `assumptions`, the parameters' `uncertainty`) predicted for
/// `row` (`predicted`: value and why not), with the level its GPU's values came from and
/// the prediction's log spread.
fn prediction_of(
    e: &ValidExperiment,
    (params, assumptions, uncertainty): (&ParamSet, &Assumptions, &ParameterUncertainty),
    catalog: &Catalog,
    row: &BenchRow,
    (predicted, reason): (Option<f64>, Option<String>),
) -> HeldOut {
    HeldOut {
        predicted,
        reason,
        level: Level::of_gpu(&params.serving, catalog, &row.gpu),
        spread: parameter_spread(
            row,
            catalog,
            (e.perf_model, params),
            assumptions,
            uncertainty,
        ),
    }
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
    let quiet = options.quiet();
    let trainable_rows = split.trainable.iter().filter(|&&t| t).count();
    let full = match full {
        Some(full) => full,
        None => {
            let own =
                (split.rows.iter().zip(&split.trainable)).filter_map(|(r, &t)| t.then_some(r));
            let own: Vec<BenchRow> = own.cloned().collect();
            calibrate_owned(e, own, catalog, &quiet)?
        }
    };
    let view = View {
        rows: &split.rows,
        trainable: &split.trainable,
        fold_of_row: &split.fold_of_row,
        labels: &split.labels,
        one_at_a_time: split.rows.len() >= ONE_AT_A_TIME_FROM_ROWS,
    };
    let keep = |_: &BenchRow, h: HeldOut| h;
    let fitted = (&full, trainable_rows);
    let (folds, held_out) = run_folds(e, &view, fitted, catalog, options, &keep)?;
    let model = e.perf_model.with_params(&full.params);
    let in_sample_rows = evaluate_rows(&split.rows, catalog, model.as_ref(), &full.assumptions)?;
    let uncertainty = full.parameter_uncertainty();
    let held_out = fill_in(held_out, |i| {
        let r = &in_sample_rows[i];
        let predicted = (r.predicted, r.infeasible_reason.clone());
        let fit = (&full.params, &full.assumptions, &uncertainty);
        Ok(prediction_of(e, fit, catalog, &r.row, predicted))
    })?;
    let Split {
        rows,
        trainable,
        fold_of_row,
        ..
    } = split;
    let levels = held_out.iter().map(|h| h.level).collect();
    let spreads = held_out.iter().map(|h| h.spread).collect();
    let held_out = (held_out.into_iter().zip(&rows))
        .map(|(h, row)| RowEvaluation::new(row.clone(), h.predicted, h.reason))
        .collect();
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
        in_sample: in_sample_rows,
        full,
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

impl CrossValidation {
    /// Each row's interval key, held-out ln(measured / predicted) and parameter spread
    /// (`None` for a row measured NA or predicted infeasible).
    pub fn residuals(&self) -> Vec<Option<HeldOutError>> {
        (self.held_out.iter().zip(&self.levels).zip(&self.spreads))
            .map(|((h, &level), &spread)| error_of(&h.row, h.ratio, level, spread))
            .collect()
    }

    /// The discrepancy table of the held-out residuals: what `fitted.json` carries for
    /// prediction intervals.
    pub fn discrepancy(&self) -> DiscrepancyTable {
        discrepancy_of(self.scheme, &self.residuals())
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
