//! Calibration: fitting a performance model's free parameters to benchmark rows. Stage 1
//! evaluates a seeded space-filling grid over the free parameters under every deployment
//! hypothesis, in parallel; stage 2 runs Levenberg-Marquardt or Nelder-Mead from the best
//! grid points (and from each hypothesis's best, so hypotheses can be ranked), in parallel
//! (one after another from [`ONE_AT_A_TIME_FROM_ROWS`] rows, each then parallel over its
//! rows); the best result is kept, then its uncertainty is estimated. The result is the
//! same for a seed whatever the number of threads: work is indexed, collected in order
//! and ties break by index.
//! The fitter does no IO; progress goes through the [`Progress`] trait.

pub mod finetune;
pub mod grid;
mod grid_stage;
pub mod levenberg;
pub mod objective;
mod prepare;
pub mod refine;
pub mod space;
pub mod uncertainty;

use grid_stage::{GridPoint, grid_stage, never_worse_than_the_grid, starting_points};
use prepare::prepare_from;
pub use prepare::{hypotheses, prepare};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bench::BenchRow;
use crate::catalog::{Catalog, CatalogError};
use crate::evaluate::Assumptions;
use crate::experiment::{Filter, RefineMethod, ValidExperiment};
use crate::perf::registry::{NotGroupable, Param, ParamSet};
use levenberg::levenberg_marquardt;
use objective::{Objective, RowFit};
use refine::{Refined, nelder_mead};
use space::Start;
use uncertainty::Flag;
use uncertainty::UncertaintyReport;

/// Why a calibration could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// The filter left no rows.
    #[error("no benchmark rows left after the experiment's filter")]
    NoRows,
    /// A row names something the catalog lacks.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The parameter space could not be built.
    #[error("parameter space: {0}")]
    Space(#[from] NotGroupable),
    /// argmin refused its settings.
    #[error("optimiser: {0}")]
    Optimiser(String),
    /// A generated experiment (a fine-tune's) failed its validation.
    #[error("experiment: {0}")]
    Experiment(String),
}

/// Where the fitter reports progress (the CLI draws bars; tests ignore it).
pub trait Progress: Sync {
    /// A stage with `total` steps begins.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` steps of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {}

/// Rows from which a fit's refinement starts, and a cross-validation's folds, run one at
/// a time: each already spreads its rows over the threads, and two at once would hold two
/// sets of per-row work (a Levenberg-Marquardt step's Jacobian columns, a fold's compiled
/// rows: hundreds of megabytes at a million rows). Results do not depend on it.
pub const ONE_AT_A_TIME_FROM_ROWS: usize = 100_000;

/// How to run a calibration.
pub struct Options<'a> {
    /// Overrides the experiment's grid seed.
    pub seed: Option<u64>,
    /// Set to stop early; the best point so far is returned, marked interrupted.
    pub cancel: &'a AtomicBool,
    /// Progress sink.
    pub progress: &'a dyn Progress,
}

impl<'a> Options<'a> {
    /// The experiment's seed, no progress, stopped by `cancel`.
    pub fn silent(cancel: &'a AtomicBool) -> Options<'a> {
        Options {
            seed: None,
            cancel,
            progress: &Silent,
        }
    }

    /// These options without progress (a fold inside a run that reports its own).
    pub fn quiet(&self) -> Options<'a> {
        Options {
            seed: self.seed,
            cancel: self.cancel,
            progress: &Silent,
        }
    }
}

/// One free parameter's estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// The parameter.
    pub name: Param,
    /// Group (empty when global).
    pub group: String,
    /// Natural value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Fixed or free.
    pub free: bool,
    /// Standard error.
    pub std_error: Option<f64>,
    /// 95 % interval.
    pub interval_95: Option<[f64; 2]>,
    /// Warnings.
    pub flags: Vec<Flag>,
}

impl Estimate {
    /// `name` or `name[group]`.
    pub fn label(&self) -> String {
        space::label(self.name, &self.group)
    }
}

impl Calibration {
    /// Each row's interval at `confidence` around its prediction under this fit, from
    /// `table` and the fit's own parameter uncertainty, as `predict` would draw it for the
    /// row's scenario (`None` for a row without a prediction or a group).
    pub fn row_intervals(
        &self,
        table: &crate::interval::DiscrepancyTable,
        kind: crate::perf::PerfModelKind,
        catalog: &Catalog,
        confidence: crate::interval::Confidence,
    ) -> Vec<Option<(f64, f64)>> {
        use crate::interval::{Key, Level};
        let (set, assumptions) = (&self.params, &self.assumptions);
        let uncertainty = self.parameter_uncertainty();
        let spreads = crate::evaluate::parameter_spreads(
            &self.rows,
            catalog,
            kind,
            set,
            assumptions,
            &uncertainty,
        );
        (self.rows.iter().zip(&self.fits).zip(spreads))
            .map(|((row, fit), log_sd)| {
                let key = Key::of_row(row, Level::of_gpu(&set.serving, catalog, &row.gpu));
                let interval = table.interval(key, fit.predicted?, log_sd, confidence)?;
                Some((interval.lo, interval.hi))
            })
            .collect()
    }

    /// The fitted parameters' uncertainty, as prediction intervals propagate it.
    pub fn parameter_uncertainty(&self) -> crate::interval::ParameterUncertainty {
        uncertainty::parameter_uncertainty(&self.estimates, &self.known_correlation())
    }

    /// The correlation matrix with `None` where a parameter is undetermined (NaN), as
    /// `fitted.json` stores it.
    pub fn known_correlation(&self) -> Vec<Vec<Option<f64>>> {
        (self.correlation.iter())
            .map(|row| row.iter().map(|x| x.is_finite().then_some(*x)).collect())
            .collect()
    }
}

/// A hypothesis and the best loss found under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesisScore {
    /// The deployment choices.
    pub assumptions: Assumptions,
    /// Best loss.
    pub loss: f64,
}

/// A finished calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Fitted parameter set (fixed values included).
    pub params: ParamSet,
    /// The deployment hypothesis chosen.
    pub assumptions: Assumptions,
    /// Every parameter with its uncertainty (free first, then fixed).
    pub estimates: Vec<Estimate>,
    /// Correlations of the free parameters, in `estimates` order.
    pub correlation: Vec<Vec<f64>>,
    /// How many parameter directions the data determine (rank of the Jacobian).
    pub identified_directions: usize,
    /// Hypotheses ranked by loss (best first).
    pub hypotheses: Vec<HypothesisScore>,
    /// Final loss.
    pub loss: f64,
    /// Best loss of the grid stage.
    pub grid_loss: f64,
    /// The rows fitted (after the filter).
    pub rows: Vec<BenchRow>,
    /// Each row's fit at the optimum.
    pub fits: Vec<RowFit>,
    /// Each row's weight.
    pub weights: Vec<f64>,
    /// Each row's loss term.
    pub row_losses: Vec<f64>,
    /// Objective evaluations.
    pub evaluations: u64,
    /// Wall time, seconds.
    pub wall_time_s: f64,
    /// Seed used.
    pub seed: u64,
    /// Whether the run was cancelled before finishing.
    pub interrupted: bool,
}

/// The rows an experiment keeps.
pub fn filter_rows(rows: &[BenchRow], filter: &Filter) -> Vec<BenchRow> {
    rows.iter().filter(|r| filter.keeps(r)).cloned().collect()
}

/// Calibrates `experiment` on `rows` (all loaded rows; the filter is applied here).
pub fn calibrate(
    experiment: &ValidExperiment,
    rows: &[BenchRow],
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<Calibration, FitError> {
    calibrate_owned(
        experiment,
        filter_rows(rows, &experiment.filter),
        catalog,
        options,
    )
}

/// As [`calibrate`], taking the rows: the filter drops rows in place and the result keeps
/// the rest, so the rows exist once (what the CLI calls on files of a million rows).
pub fn calibrate_owned(
    experiment: &ValidExperiment,
    rows: Vec<BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<Calibration, FitError> {
    fit_rows(experiment, rows, catalog, options, None)
}

/// Fine-tunes the calibration `start` on `rows`: only the experiment's free parameters
/// for the groups the rows hold move, each drawn towards the calibration's value by its
/// prior; everything else keeps the calibration's value, and the architecture and global
/// values are not re-derived (a few rows of one GPU must not move every other GPU).
pub fn fine_tune(
    experiment: &ValidExperiment,
    rows: Vec<BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
    start: &Start<'_>,
) -> Result<Calibration, FitError> {
    fit_rows(experiment, rows, catalog, options, Some(start))
}

fn fit_rows(
    experiment: &ValidExperiment,
    mut rows: Vec<BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
    start: Option<&Start<'_>>,
) -> Result<Calibration, FitError> {
    rows.retain(|r| experiment.filter.keeps(r));
    let refs = rows.iter().collect();
    let (fit, _) = fit_borrowed(experiment, refs, catalog, options, (start, PerRow::Kept))?;
    // The fit borrowed the rows; now they move into the result rather than being copied
    // (a million rows are a few hundred megabytes).
    Ok(Calibration { rows, ..fit })
}

/// As [`calibrate_owned`], running `meanwhile` on the fit before its per-row vectors
/// (`fits`, `weights`, `row_losses`) are built: `meanwhile` sees them empty, and what it
/// allocates is never held together with them or with the fit's compiled rows (the CLI
/// cross-validates its prediction intervals there; on a million rows that is a hundred
/// megabytes less at the peak). The vectors are then computed from the rows again, the
/// same as [`calibrate_owned`] gives them.
pub fn calibrate_owned_then<R>(
    experiment: &ValidExperiment,
    mut rows: Vec<BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
    meanwhile: impl FnOnce(&Calibration) -> R,
) -> Result<(Calibration, R), FitError> {
    rows.retain(|r| experiment.filter.keeps(r));
    let refs = rows.iter().collect();
    let (fit, at) = fit_borrowed(experiment, refs, catalog, options, (None, PerRow::Dropped))?;
    let mut calibration = Calibration { rows, ..fit };
    let out = meanwhile(&calibration);
    let objective = prepare_from(experiment, calibration.rows.iter().collect(), catalog, None)?;
    (
        calibration.fits,
        calibration.weights,
        calibration.row_losses,
    ) = per_row(&objective, &at);
    Ok((calibration, out))
}

/// Each row's fit, weight and loss term at `at`.
fn per_row(objective: &Objective<'_>, at: &Optimum) -> (Vec<RowFit>, Vec<f64>, Vec<f64>) {
    (
        objective.row_fits(at.hypothesis, &at.u),
        objective.weights().to_vec(),
        objective.row_losses(at.hypothesis, &at.u),
    )
}

/// As [`calibrate_owned`] on rows the caller keeps (a cross-validation fold's training
/// rows, borrowed from the whole set rather than copied) when only the fitted parameters
/// and their uncertainty are wanted: the result holds no per-row vectors (`rows`, `fits`,
/// `weights` and `row_losses` are empty), which on a million rows saves a hundred
/// megabytes.
pub(crate) fn calibrate_borrowed(
    experiment: &ValidExperiment,
    mut rows: Vec<&BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<Calibration, FitError> {
    rows.retain(|r| experiment.filter.keeps(r));
    let (fit, _) = fit_borrowed(experiment, rows, catalog, options, (None, PerRow::Dropped))?;
    Ok(fit)
}

/// Where a fit ended: the hypothesis and the point in the unbounded coordinates.
struct Optimum {
    hypothesis: usize,
    u: Vec<f64>,
}

/// Whether a fit's result keeps each row's fit, weight and loss term.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PerRow {
    Kept,
    Dropped,
}

/// The fit of `rows` (already filtered) and where it ended; the result's `rows` is left
/// empty, and so are its other per-row vectors when `keep` drops them.
fn fit_borrowed(
    experiment: &ValidExperiment,
    rows: Vec<&BenchRow>,
    catalog: &Catalog,
    options: &Options<'_>,
    (start, keep): (Option<&Start<'_>>, PerRow),
) -> Result<(Calibration, Optimum), FitError> {
    let started = Instant::now();
    if rows.is_empty() {
        return Err(FitError::NoRows);
    }
    let objective = prepare_from(experiment, rows, catalog, start)?;
    let seed = options.seed.unwrap_or(experiment.search.seed);
    let evaluations = AtomicU64::new(0);
    let grid = grid_stage(&objective, experiment, seed, options, &evaluations);
    let refined = refine_stage(&objective, experiment, &grid, options, &evaluations)?;
    let grid_loss = grid.iter().map(|g| g.cost).fold(f64::INFINITY, f64::min);
    let best = best_of(&refined, &objective);
    let best = never_worse_than_the_grid(best, &grid, &objective);
    let ranking = rank_hypotheses(&objective, &grid, &refined);
    let uncertainty = uncertainty::estimate(&objective, best.hypothesis, &best.u);
    let estimates = estimates(experiment, &objective, &best.u, &uncertainty);
    let mut params = objective.space.params_at(&best.u);
    if start.is_none() {
        lend_across_architectures(&mut params, &estimates, objective.rows(), catalog);
    }
    let at = Optimum {
        hypothesis: best.hypothesis,
        u: best.u,
    };
    let (fits, weights, row_losses) = match keep {
        PerRow::Kept => per_row(&objective, &at),
        PerRow::Dropped => Default::default(),
    };
    let calibration = Calibration {
        assumptions: objective.hypotheses[best.hypothesis].clone(),
        fits,
        weights,
        row_losses,
        params,
        estimates,
        correlation: uncertainty.correlation,
        identified_directions: uncertainty.rank,
        hypotheses: ranking,
        loss: best.cost,
        grid_loss,
        rows: Vec::new(),
        evaluations: evaluations.load(Ordering::Relaxed),
        wall_time_s: started.elapsed().as_secs_f64(),
        seed,
        interrupted: options.cancel.load(Ordering::Relaxed),
    };
    Ok((calibration, at))
}

/// Stage 2: the experiment's refinement from the grid's best points, in parallel.
fn refine_stage(
    objective: &Objective<'_>,
    experiment: &ValidExperiment,
    grid: &[GridPoint],
    options: &Options<'_>,
    evaluations: &AtomicU64,
) -> Result<Vec<Refined>, FitError> {
    let starts = starting_points(grid, experiment.search.refine, objective.hypotheses.len());
    options.progress.start("refine", starts.len() as u64);
    let run = |start: &GridPoint| {
        let search = &experiment.search;
        let (h, u, cancel) = (start.hypothesis, &start.u, options.cancel);
        let run = match search.method {
            RefineMethod::NelderMead => nelder_mead(objective, h, u, search, evaluations, cancel),
            RefineMethod::LevenbergMarquardt => Ok(levenberg_marquardt(
                objective,
                h,
                u,
                search.max_iters,
                evaluations,
                cancel,
            )),
        };
        options.progress.advance(1);
        run
    };
    let refined = if objective.rows().len() >= ONE_AT_A_TIME_FROM_ROWS {
        starts
            .iter()
            .map(run)
            .collect::<Result<Vec<Refined>, FitError>>()
    } else {
        starts.par_iter().map(run).collect()
    };
    options.progress.finish();
    refined
}

/// The best refined run (the first on ties, so the answer does not depend on thread
/// timing), or the initial point when nothing was refined.
fn best_of(refined: &[Refined], objective: &Objective<'_>) -> Refined {
    refined
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cost.total_cmp(&b.1.cost).then(a.0.cmp(&b.0)))
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| Refined {
            hypothesis: 0,
            u: objective.space.initial(),
            cost: f64::INFINITY,
            iterations: 0,
        })
}

fn rank_hypotheses(
    objective: &Objective<'_>,
    grid: &[GridPoint],
    refined: &[Refined],
) -> Vec<HypothesisScore> {
    let mut scores: Vec<HypothesisScore> = objective
        .hypotheses
        .iter()
        .enumerate()
        .map(|(h, assumptions)| {
            let from_grid = grid.iter().filter(|g| g.hypothesis == h).map(|g| g.cost);
            let from_refine = refined.iter().filter(|r| r.hypothesis == h).map(|r| r.cost);
            let loss = from_grid.chain(from_refine).fold(f64::INFINITY, f64::min);
            HypothesisScore {
                assumptions: assumptions.clone(),
                loss,
            }
        })
        .collect();
    scores.sort_by(|a, b| a.loss.total_cmp(&b.loss));
    scores
}

/// Gives GPUs without rows their architecture's fitted values: the row-weighted geometric
/// mean over the fitted GPUs of that architecture whose values the data determine (a GPU
/// with a flagged, unidentified estimate lends nothing).
fn lend_across_architectures(
    params: &mut ParamSet,
    estimates: &[Estimate],
    rows: &[&BenchRow],
    catalog: &Catalog,
) {
    let undetermined = |gpu: &str| {
        estimates
            .iter()
            .any(|e| e.group == gpu && e.flags.contains(&Flag::NotIdentified))
    };
    let slugs: Vec<&str> = rows
        .iter()
        .filter_map(|r| catalog.gpu(&r.gpu).ok().map(|g| g.slug.as_str()))
        .collect();
    params.serving.derive_architecture_overrides(
        |gpu| catalog.gpu(gpu).ok().map(|g| g.architecture.clone()),
        |gpu| {
            if undetermined(gpu) {
                0
            } else {
                slugs.iter().filter(|s| **s == gpu).count()
            }
        },
    );
}

fn estimates(
    experiment: &ValidExperiment,
    objective: &Objective<'_>,
    u: &[f64],
    uncertainty: &UncertaintyReport,
) -> Vec<Estimate> {
    let unit = |param: Param| param.info().unit.to_string();
    let mut out: Vec<Estimate> = objective
        .space
        .free
        .iter()
        .zip(u)
        .zip(&uncertainty.parameters)
        .map(|((f, &x), unc)| Estimate {
            name: f.name,
            group: f.group.clone(),
            value: f.natural(x),
            unit: unit(f.name),
            free: true,
            std_error: unc.std_error,
            interval_95: unc.interval_95,
            flags: unc.flags.clone(),
        })
        .collect();
    for p in &experiment.parameters {
        if let crate::experiment::Mode::Fixed(value) = p.mode {
            out.push(Estimate {
                name: p.name,
                group: String::new(),
                value,
                unit: unit(p.name),
                free: false,
                std_error: None,
                interval_95: None,
                flags: Vec::new(),
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
