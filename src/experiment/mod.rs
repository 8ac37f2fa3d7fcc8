//! Calibration experiments: TOML files that say which performance model to fit to which
//! benchmark rows, how rows that leave precision or TP open are deployed (a value, `auto`,
//! or discrete hypotheses the search enumerates), which parameters are fixed, free or tied
//! per group (with bounds, initial value and prior), the loss and the search. An
//! experiment reaches the fitter only as a [`ValidExperiment`]: [`validate`] checks every
//! rule first and names the field that breaks one. Shipped experiments are embedded.

mod raw;
mod validate;
mod validate_fit;

use std::collections::BTreeMap;

use serde::Serialize;

pub use raw::RawExperiment;
pub use validate::validate;

use crate::bench::Metric;
use crate::catalog::Catalog;
use crate::perf::PerfModelKind;
use crate::perf::registry::{Param, ParamKind, Tie};
use crate::precision::Precision;
use crate::textfile::SourcePos;

/// Experiments shipped with infercal, embedded: (name, TOML text).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "reference-efficiency",
        include_str!("../../experiments/reference-efficiency.toml"),
    ),
    (
        "roofline-global",
        include_str!("../../experiments/roofline-global.toml"),
    ),
    (
        "serving-global",
        include_str!("../../experiments/serving-global.toml"),
    ),
    (
        "serving-per-gpu",
        include_str!("../../experiments/serving-per-gpu.toml"),
    ),
    (
        "serving-hypotheses",
        include_str!("../../experiments/serving-hypotheses.toml"),
    ),
    (
        "serving-real",
        include_str!("../../experiments/serving-real.toml"),
    ),
];

/// The shipped experiments fitted to the sizing chart alone: `cv --compare` ranks these by
/// default and `FINDINGS.md` reports them (leave-one-cell-out on 16 cells). `serving-real`
/// fits 10,000 measured rows and is cross-validated by GPU and by source instead.
pub const CHART_EXPERIMENTS: [&str; 5] = [
    "reference-efficiency",
    "roofline-global",
    "serving-global",
    "serving-per-gpu",
    "serving-hypotheses",
];

/// The experiment `infercal calibrate` and `infercal cv` run without an argument: the one
/// that ranks first when the shipped experiments are judged on all shipped data
/// (`infercal cv --compare serving-per-gpu serving-real --scheme kfold:10`; a test keeps
/// it so).
pub const DEFAULT_EXPERIMENT: &str = "serving-real";

/// The chart experiment that leave-one-cell-out cross-validation ranks first among
/// [`CHART_EXPERIMENTS`]: `FINDINGS.md` explains the chart through it (a test keeps it so).
pub const CHART_BEST_EXPERIMENT: &str = "serving-per-gpu";

/// The shipped experiment called `name`, validated against `catalog` (its data files are
/// embedded), or `None` when no shipped experiment has that name.
pub fn shipped(name: &str, catalog: &Catalog) -> Option<Result<ValidExperiment, ExperimentError>> {
    let (name, text) = EMBEDDED.iter().find(|(n, _)| *n == name)?;
    let exists = |path: &str| crate::bench::embedded_file(path).is_some();
    Some(
        parse(name, text)
            .and_then(|raw| validate(raw, name, content_hash(text.as_bytes()), catalog, &exists)),
    )
}

/// A rejected experiment: one line naming the file (and the place, for a syntax error)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExperimentError {
    /// Not TOML, or a field the schema lacks.
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: SourcePos,
        /// What was expected.
        message: String,
    },
    /// Parses, but breaks a rule.
    #[error("{file}: {message}")]
    Invalid {
        /// The experiment file (or embedded name).
        file: String,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// Parses experiment TOML; errors carry line and column.
pub fn parse(file: &str, text: &str) -> Result<RawExperiment, ExperimentError> {
    toml::from_str(text).map_err(|e| ExperimentError::Parse {
        at: SourcePos::of_offset(file, text, e.span().map_or(0, |s| s.start)),
        message: crate::catalog::names::closest_fields(e.message().trim()),
    })
}

/// How rows that leave precision empty are deployed on one GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionChoice {
    /// fp8 where the GPU has fp8 tensor cores, else fp16.
    Auto,
    /// This precision.
    Fixed(Precision),
}

/// How rows that leave TP empty are deployed for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TpChoice {
    /// The smallest power of two that fits.
    Auto,
    /// This degree.
    Fixed(u32),
}

/// Which rows an experiment keeps (empty = all).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filter {
    /// Metrics kept.
    pub metrics: Vec<Metric>,
    /// GPU slugs kept.
    pub gpus: Vec<String>,
    /// Model slugs kept.
    pub models: Vec<String>,
    /// Sources kept.
    pub sources: Vec<String>,
}

impl Filter {
    /// Whether `row` passes the filter.
    pub fn keeps(&self, row: &crate::bench::BenchRow) -> bool {
        let keep = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        (self.metrics.is_empty() || self.metrics.contains(&row.metric))
            && keep(&self.gpus, &row.gpu)
            && keep(&self.models, &row.model)
            && keep(&self.sources, &row.source)
    }
}

/// The choices per GPU (precision) and per model (TP); key `default` for the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AssumptionSpace {
    /// Precision choices per GPU slug or `default`.
    pub precision: BTreeMap<String, Vec<PrecisionChoice>>,
    /// TP choices per model slug or `default`.
    pub tp: BTreeMap<String, Vec<TpChoice>>,
    /// Concurrencies the benchmark swept, for the closed-loop budget search (empty: all).
    pub concurrency_sweep: Vec<u32>,
}

/// A Gaussian prior on the transformed parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prior {
    /// Center, in natural units.
    pub center: f64,
    /// Standard deviation in the transformed (logit) space.
    pub width: f64,
}

/// A free parameter's search domain.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FreeSpec {
    /// Initial value (natural units).
    pub init: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Prior (defaults to a weak one centred on `init`).
    pub prior: Prior,
    /// Transform kind.
    #[serde(skip)]
    pub kind: ParamKind,
}

impl FreeSpec {
    /// This spec starting at, and with its prior centred on, `value` (brought just inside
    /// the bounds): how a fine-tune draws a parameter towards its base calibration.
    pub fn centred_on(self, value: f64) -> FreeSpec {
        let margin = 1e-6 * (self.hi - self.lo);
        let value = value.clamp(self.lo + margin, self.hi - margin);
        FreeSpec {
            init: value,
            prior: Prior {
                center: value,
                width: self.prior.width,
            },
            ..self
        }
    }
}

/// Fixed or free.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Held at a value.
    Fixed(f64),
    /// Fitted.
    Free(FreeSpec),
}

/// One parameter's treatment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// The parameter.
    pub name: Param,
    /// One copy per group of this kind.
    pub tie: Tie,
    /// Fixed or free.
    pub mode: Mode,
}

/// Robust loss on log residuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// ½r².
    Squared,
    /// Quadratic within the scale, linear beyond.
    Huber,
    /// (s²/2)·ln(1 + (r/s)²): large residuals barely count.
    Cauchy,
}

/// How `NA` rows count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NaPolicy {
    /// A penalty residual when the model calls the row feasible.
    Infeasible,
    /// Ignored.
    Skip,
}

/// The loss.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loss {
    /// Robust function.
    pub kind: LossKind,
    /// Its scale, in log units.
    pub scale: f64,
    /// NA rows.
    pub na: NaPolicy,
    /// Residual (log units) charged for a feasibility the model gets wrong.
    pub infeasible_residual: f64,
    /// Weights per metric (default 1).
    pub metric_weights: BTreeMap<Metric, f64>,
    /// Weights per source (default 1).
    pub source_weights: BTreeMap<String, f64>,
}

/// Space-filling design of the grid stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GridKind {
    /// Owen-scrambled Sobol points.
    Sobol,
    /// Latin hypercube.
    Lhs,
    /// A Cartesian product (≤ 3 free parameters).
    Cartesian,
}

/// How stage 2 refines the best grid points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefineMethod {
    /// Nelder-Mead: derivative-free, thousands of evaluations for tens of parameters.
    NelderMead,
    /// Levenberg-Marquardt on the loss as a sum of squares: `n + 2` evaluations an
    /// iteration, tens of iterations.
    LevenbergMarquardt,
}

/// The search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    /// Grid design.
    pub grid: GridKind,
    /// Stage 2's algorithm.
    pub method: RefineMethod,
    /// Grid points per hypothesis.
    pub points: usize,
    /// Stage-2 runs from the best grid points.
    pub refine: usize,
    /// Iteration cap of a stage-2 run (a Levenberg-Marquardt iteration is one Jacobian).
    pub max_iters: u64,
    /// Stop when the simplex's cost spread falls below this.
    pub sd_tolerance: f64,
    /// Initial simplex offset per parameter, transformed units.
    pub simplex_step: f64,
    /// Fresh-simplex restarts from a run's best point while they still improve.
    pub restarts: u32,
    /// Seed of the grid.
    pub seed: u64,
}

/// An experiment every rule has accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidExperiment {
    /// Name (used for the output directory).
    pub name: String,
    /// What it tests.
    pub description: String,
    /// Model fitted.
    pub perf_model: PerfModelKind,
    /// Benchmark files.
    pub data: Vec<String>,
    /// Row filter.
    pub filter: Filter,
    /// Deployment assumptions.
    pub assumptions: AssumptionSpace,
    /// Parameters (fixed and free).
    pub parameters: Vec<Parameter>,
    /// Loss.
    pub loss: Loss,
    /// Search.
    pub search: Search,
    /// Hash of the experiment text.
    pub hash: String,
}

impl ValidExperiment {
    /// Checks the experiment against the rows its data files hold: every source named in
    /// `loss.source_weights` or `filter.sources` must occur in them, and some row must
    /// keep a positive weight. A misspelt source would otherwise weigh 1 without a word,
    /// and all-zero weights would "fit" with loss 0. Cross-validation folds skip this
    /// (a fold may lack a source); it runs once on all the experiment's rows.
    pub fn check_rows(&self, rows: &[crate::bench::BenchRow]) -> Result<(), ExperimentError> {
        let fail = |message: String| ExperimentError::Invalid {
            file: self.name.clone(),
            message,
        };
        let sources: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.source.as_str()).collect();
        let named = self
            .loss
            .source_weights
            .keys()
            .map(|k| ("loss.source_weights", k))
            .chain(self.filter.sources.iter().map(|k| ("filter.sources", k)));
        for (field, source) in named {
            if !sources.contains(source.as_str()) {
                return Err(fail(format!(
                    "{field}: no row has source `{source}`; closest: {}",
                    crate::catalog::names::closest_three(source, sources.iter().copied())
                )));
            }
        }
        let weighed = rows.iter().filter(|r| self.filter.keeps(r)).any(|r| {
            let metric = self
                .loss
                .metric_weights
                .get(&r.metric)
                .copied()
                .unwrap_or(1.0);
            let source = self
                .loss
                .source_weights
                .get(r.source.as_str())
                .copied()
                .unwrap_or(1.0);
            metric * source > 0.0
        });
        if weighed {
            Ok(())
        } else {
            Err(fail(
                "loss: every row has weight 0 (metric_weights × source_weights), nothing to fit"
                    .to_string(),
            ))
        }
    }

    /// The free parameters, in file order.
    pub fn free(&self) -> impl Iterator<Item = (&Parameter, &FreeSpec)> {
        self.parameters.iter().filter_map(|p| match &p.mode {
            Mode::Free(spec) => Some((p, spec)),
            Mode::Fixed(_) => None,
        })
    }
}

/// The [`crate::textfile::ContentHash`] of `bytes`: the provenance hash of a text.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hash = crate::textfile::ContentHash::default();
    hash.update(bytes);
    hash.finish()
}

#[cfg(test)]
mod tests;
