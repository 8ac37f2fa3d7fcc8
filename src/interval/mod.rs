//! Prediction intervals: how far a predicted figure may be from what the deployment will
//! measure. This module owns the *discrepancy table* — the distribution of cross-validated
//! errors |ln(measured / predicted)|, by metric, regime (static batch, closed loop, open
//! loop, saturated) and the level the GPU's efficiencies come from (its own fit, its
//! architecture's mean, the mean of every fitted GPU) — and turns it into an interval for a
//! new prediction (split-conformal with the absolute log ratio as the score: the
//! ⌈(n+1)c⌉-th smallest held-out error, so the interval is symmetric on the log scale) or
//! into the probability that a figure stays under a budget. The residuals come from folds
//! that refit without the rows they predict, so the spread holds both what the model cannot
//! express and how far a refit on other data moves the parameters. The score is absolute
//! because a held-out source's bias does not carry over to the next one in sign (measured
//! on the shipped data, signed quantiles covered fewer held-out rows at the same width).
//! It knows nothing of fitting or IO: `calibrate` builds a table from a cross-validation
//! and stores it in `fitted.json`; `predict` and `size` read it.
//!
//! ## References
//! - Split-conformal prediction with the absolute residual as the score, and its
//!   ⌈(n+1)(1−α)⌉/n quantile: Lei, G'Sell, Rinaldo, Tibshirani & Wasserman,
//!   "Distribution-free predictive inference for regression", *JASA* 113 (2018), §2.1;
//!   Vovk, Gammerman & Shafer, *Algorithmic Learning in a Random World* (2005), ch. 2.
//! - Intervals from leave-one-fold-out residuals (CV+): Barber, Candès, Ramdas &
//!   Tibshirani, "Predictive inference with the jackknife+", *Ann. Statist.* 49 (2021), §3.
//! - Conditional (per-group) calibration, "Mondrian" conformal prediction: Vovk et al.
//!   (2005), §4.5.

#![deny(clippy::float_cmp)]

mod confidence;
pub mod coverage;
pub mod parameter;
mod unfitted_engine;

pub use confidence::{BadConfidence, Confidence};
pub use parameter::{ParameterUncertainty, Spread, Uncertain};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::perf::params::{BudgetLoad, Coverage, ServingParams};
use crate::scenario::{Condition, Metric};

/// The probabilities at which a table stores its quantiles: the tails densely, so 95 % and
/// 99 % intervals interpolate between stored points rather than extrapolate.
pub const PROBABILITIES: [f64; 25] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65,
    0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995,
];

/// Fewest held-out rows a cell needs before its quantiles are trusted; below it a
/// prediction falls back to a broader cell. Measured on the shipped data held out by
/// source, groups of 30–100 rows (a handful of GPUs or runs) under-covered: the 80 %
/// interval held 69 % of held-out rows at a minimum of 30, 75 % at 100, and no more at 200
/// or 400.
pub const MIN_CELL_ROWS: usize = 100;

/// The default confidence of an interval.
pub const DEFAULT_CONFIDENCE: f64 = 0.8;

/// How a row's load is applied: residuals differ in kind between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// A fixed batch, all requests together.
    Static,
    /// Synchronised clients (a concurrency, or the concurrency a TTFT budget allows).
    ClosedLoop,
    /// Poisson arrivals at a rate.
    OpenLoop,
    /// As many requests as the engine holds.
    Saturated,
}

impl Regime {
    /// The regime of a load condition.
    pub fn of(condition: &Condition) -> Regime {
        match condition {
            Condition::StaticBatch { .. } => Regime::Static,
            Condition::Concurrency { .. } | Condition::TtftBudget { .. } => Regime::ClosedLoop,
            Condition::ArrivalRate { .. } => Regime::OpenLoop,
            Condition::Saturated => Regime::Saturated,
        }
    }

    /// The regime a question's prediction runs in: a TTFT budget is searched under the
    /// load `load` generates (a closed-loop sweep, or Poisson arrivals: open loop); any
    /// other condition as [`Regime::of`].
    pub fn of_question(condition: &Condition, load: BudgetLoad) -> Regime {
        match condition {
            Condition::TtftBudget { .. } => Regime::of_budget(load),
            _ => Regime::of(condition),
        }
    }

    /// The regime a TTFT budget is searched in under `load`.
    pub fn of_budget(load: BudgetLoad) -> Regime {
        match load {
            BudgetLoad::ClosedLoop => Regime::ClosedLoop,
            BudgetLoad::Poisson => Regime::OpenLoop,
        }
    }

    /// Its name in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Static => "static",
            Regime::ClosedLoop => "closed-loop",
            Regime::OpenLoop => "open-loop",
            Regime::Saturated => "saturated",
        }
    }
}

/// Where a prediction's GPU efficiencies come from, ordered from best to least informed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// The GPU's own fitted values.
    Own,
    /// The mean of its architecture's fitted GPUs.
    Architecture,
    /// The mean of every fitted GPU (no GPU of its architecture was fitted).
    Pooled,
}

impl Level {
    /// The level of a parameter set's coverage of a GPU.
    pub fn of(coverage: &Coverage) -> Level {
        match coverage {
            Coverage::Own => Level::Own,
            Coverage::Borrowed(_) => Level::Architecture,
            Coverage::Global => Level::Pooled,
        }
    }

    /// The level `serving` predicts the GPU named `gpu` at (own when the catalog does not
    /// know it: such a row has no prediction anyway).
    pub fn of_gpu(serving: &ServingParams, catalog: &Catalog, gpu: &str) -> Level {
        catalog.gpu(gpu).map_or(Level::Own, |g| {
            Level::of(&serving.coverage(&g.slug, &g.architecture))
        })
    }

    /// Its name in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Own => "own",
            Level::Architecture => "architecture",
            Level::Pooled => "pooled",
        }
    }
}

/// What a held-out residual is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The metric.
    pub metric: Metric,
    /// The load regime.
    pub regime: Regime,
    /// The level the GPU's efficiencies came from in the fold that predicted the row.
    pub level: Level,
}

impl Key {
    /// The group of a benchmark row whose GPU was predicted at `level`.
    pub fn of_row(row: &crate::bench::BenchRow, level: Level) -> Key {
        Key {
            metric: row.metric,
            regime: Regime::of(&row.condition),
            level,
        }
    }
}

/// The held-out log ratios of one group (`None` fields match every value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// The metric, or every metric.
    pub metric: Option<Metric>,
    /// The regime, or every regime.
    pub regime: Option<Regime>,
    /// The level, or every level.
    pub level: Option<Level>,
    /// Held-out rows in the group.
    pub rows: usize,
    /// |ln(measured / predicted)| at each of [`PROBABILITIES`].
    pub quantiles: Vec<f64>,
}

impl Cell {
    /// |ln(measured / predicted)| at probability `p`, interpolated between the stored
    /// quantiles (clamped to the outermost ones).
    pub fn log_quantile(&self, p: f64) -> f64 {
        let last = PROBABILITIES.len() - 1;
        if p <= PROBABILITIES[0] {
            return self.quantiles[0];
        }
        if p >= PROBABILITIES[last] {
            return self.quantiles[last];
        }
        let i = PROBABILITIES.partition_point(|&q| q <= p).min(last);
        let (p0, p1) = (PROBABILITIES[i - 1], PROBABILITIES[i]);
        let w = (p - p0) / (p1 - p0);
        self.quantiles[i - 1] * (1.0 - w) + self.quantiles[i] * w
    }

    /// The probability that |ln(measured / predicted)| is at most `x` (the inverse of
    /// [`Cell::log_quantile`], clamped to the outermost stored probabilities).
    pub fn probability_within(&self, x: f64) -> f64 {
        let last = PROBABILITIES.len() - 1;
        if x < self.quantiles[0] {
            return PROBABILITIES[0];
        }
        if x >= self.quantiles[last] {
            return PROBABILITIES[last];
        }
        let i = self.quantiles.partition_point(|&q| q <= x).clamp(1, last);
        let (q0, q1) = (self.quantiles[i - 1], self.quantiles[i]);
        let w = if q1 > q0 { (x - q0) / (q1 - q0) } else { 1.0 };
        PROBABILITIES[i - 1] * (1.0 - w) + PROBABILITIES[i] * w
    }

    /// The factors an interval at `confidence` multiplies a prediction by: e^∓q for q the
    /// conformal quantile of this group's errors.
    pub fn factors(&self, confidence: Confidence) -> (f64, f64) {
        self.widened_factors(confidence, 0.0)
    }

    /// This cell's errors combined with an independent normal error of log standard
    /// deviation `log_sd` (the parameters' part): each stored quantile q at probability p
    /// becomes √(q² + (z·log_sd)²), z the p-quantile of |N(0, 1)| (see
    /// [`Cell::widened_quantile`]).
    pub fn widened(&self, log_sd: f64) -> Cell {
        let mut cell = self.clone();
        if log_sd > 0.0 {
            for (q, &p) in cell.quantiles.iter_mut().zip(&PROBABILITIES) {
                *q = combined(*q, p, log_sd);
            }
        }
        cell
    }

    /// |ln(measured / predicted)| at probability `p` with the parameters' spread `log_sd`
    /// added in quadrature: exact when both parts are normal; for the heavier-tailed
    /// held-out errors it widens the tails no less than either part alone would.
    pub fn widened_quantile(&self, p: f64, log_sd: f64) -> f64 {
        combined(self.log_quantile(p), p, log_sd)
    }

    /// The factors an interval at `confidence` multiplies a prediction by when the
    /// parameters spread it by `log_sd`.
    pub fn widened_factors(&self, confidence: Confidence, log_sd: f64) -> (f64, f64) {
        let q = self.widened_quantile(conformal_probability(confidence.get(), self.rows), log_sd);
        ((-q).exp(), q.exp())
    }

    /// The error at 80 %, by which cells are compared for width.
    fn reference_width(&self) -> f64 {
        let reference = PROBABILITIES.partition_point(|&p| p < 0.8);
        self.quantiles[reference]
    }

    /// The group the cell holds.
    pub fn group(&self) -> Group {
        Group {
            metric: self.metric,
            regime: self.regime,
            level: self.level,
        }
    }

    /// The label of the group, e.g. `ttft_s · closed-loop · own`.
    pub fn label(&self) -> String {
        self.group().label()
    }
}

/// A group of residuals (`None` fields: pooled over that dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    /// The metric, or every metric.
    pub metric: Option<Metric>,
    /// The regime, or every regime.
    pub regime: Option<Regime>,
    /// The level, or every level.
    pub level: Option<Level>,
}

impl Group {
    /// `ttft_s · closed-loop · own`, `every metric · every regime · pooled`, …
    pub fn label(&self) -> String {
        [
            self.metric.map_or("every metric", Metric::as_str),
            self.regime.map_or("every regime", Regime::as_str),
            self.level.map_or("every level", Level::as_str),
        ]
        .join(" · ")
    }
}

/// The cross-validated discrepancy of a calibration: held-out log ratios by group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscrepancyTable {
    /// The cross-validation scheme whose held-out predictions gave the residuals.
    pub scheme: String,
    /// Held-out rows with a residual (measured and predicted feasible).
    pub rows: usize,
    /// Every group with at least [`MIN_CELL_ROWS`] rows, the pooled ones included, in
    /// the order of their groups, each once (a table read from a file is checked for it):
    /// a prediction looks up a few dozen groups, by binary search.
    cells: Vec<Cell>,
    /// The table of engine families held out, whose ranges this one takes where wider
    /// (see [`DiscrepancyTable::at_least`]); never stored, only for predictions of an
    /// engine without rows.
    #[serde(skip)]
    engines: Option<Box<DiscrepancyTable>>,
}

/// An interval around one predicted figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// The group whose residuals set it.
    pub group: Group,
}

impl Interval {
    /// Half the width relative to `value`.
    pub fn relative_half_width(&self, value: f64) -> f64 {
        (self.hi - self.lo) / (2.0 * value)
    }
}

/// `q`, the errors' quantile at probability `p`, with a normal spread `log_sd` added in
/// quadrature at the same probability.
fn combined(q: f64, p: f64, log_sd: f64) -> f64 {
    if log_sd > 0.0 {
        let z = crate::stats::normal_quantile(0.5 + 0.5 * p) * log_sd;
        (q * q + z * z).sqrt()
    } else {
        q
    }
}

/// The probability of the stored quantiles at which an interval of `confidence` from `n`
/// errors is read: the ⌈(n+1)c⌉-th smallest error (order statistic k of n sits at
/// (k−1)/(n−1)), so that coverage holds in finite samples; past the sample, its largest.
fn conformal_probability(confidence: f64, n: usize) -> f64 {
    if n < 2 {
        return 1.0;
    }
    let k = ((n + 1) as f64 * confidence).ceil();
    ((k - 1.0) / (n as f64 - 1.0)).clamp(0.0, 1.0)
}

impl DiscrepancyTable {
    /// Whether a table read from a file can be used: every cell has one error per stored
    /// probability, finite, non-negative and non-decreasing, and at least one row. The
    /// problem, naming the cell, otherwise.
    pub fn check(&self) -> Result<(), String> {
        for (i, cell) in self.cells.iter().enumerate() {
            let at = format!("intervals.cells[{i}] ({})", cell.label());
            if cell.quantiles.len() != PROBABILITIES.len() {
                return Err(format!(
                    "{at}: {} quantiles, expected {}",
                    cell.quantiles.len(),
                    PROBABILITIES.len()
                ));
            }
            if cell.rows == 0 {
                return Err(format!("{at}: rows must be at least 1"));
            }
            if i > 0 && self.cells[i - 1].group() >= cell.group() {
                return Err(format!(
                    "{at}: follows {}: cells are sorted by metric, regime and level, each \
                     group once, as `calibrate` writes them",
                    self.cells[i - 1].label()
                ));
            }
            let ordered = cell.quantiles.windows(2).all(|w| w[0] <= w[1]);
            if !ordered || cell.quantiles.iter().any(|q| !q.is_finite() || *q < 0.0) {
                return Err(format!(
                    "{at}: quantiles must be finite, non-negative and non-decreasing"
                ));
            }
        }
        Ok(())
    }

    /// The table of `residuals` (key, ln(measured / predicted); the sign is dropped), labelled with the scheme
    /// that held them out. Every combination of metric, regime and level — each also
    /// pooled over — with at least [`MIN_CELL_ROWS`] rows becomes a cell.
    pub fn from_residuals(scheme: &str, residuals: &[(Key, f64)]) -> DiscrepancyTable {
        use std::collections::BTreeMap;
        let mut groups: BTreeMap<Group, Vec<f64>> = BTreeMap::new();
        for &(k, r) in residuals.iter().filter(|(_, r)| r.is_finite()) {
            for metric in [Some(k.metric), None] {
                for regime in [Some(k.regime), None] {
                    for level in [Some(k.level), None] {
                        let group = Group {
                            metric,
                            regime,
                            level,
                        };
                        groups.entry(group).or_default().push(r.abs());
                    }
                }
            }
        }
        let cells = groups
            .into_iter()
            .filter(|(_, values)| values.len() >= MIN_CELL_ROWS)
            .map(|(group, mut values)| {
                values.sort_by(f64::total_cmp);
                Cell {
                    metric: group.metric,
                    regime: group.regime,
                    level: group.level,
                    rows: values.len(),
                    quantiles: PROBABILITIES
                        .iter()
                        .filter_map(|&p| crate::stats::quantile_of_sorted(&values, p))
                        .collect(),
                }
            })
            .collect();
        DiscrepancyTable {
            scheme: scheme.to_string(),
            rows: residuals.iter().filter(|(_, r)| r.is_finite()).count(),
            cells,
            engines: None,
        }
    }

    /// Every cell, in the order of their groups.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cell of exactly `group`, if it has enough rows.
    pub fn of_group(&self, group: Group) -> Option<&Cell> {
        let at = self
            .cells
            .binary_search_by(|c| c.group().cmp(&group))
            .ok()?;
        Some(&self.cells[at])
    }

    /// The cell for `key`: the most specific group of its level with enough rows, trying
    /// (metric, regime), metric, regime, then the level alone; when the level has no group,
    /// the next less informed level's (never a better informed one: an interval must not
    /// narrow because a level was never held out), then every level pooled. The flag says
    /// whether the level was borrowed.
    pub fn cell(&self, key: Key) -> Option<(&Cell, bool)> {
        let levels = [Level::Own, Level::Architecture, Level::Pooled];
        let at = levels.iter().position(|&l| l == key.level).unwrap_or(0);
        let tries = |level: Option<Level>| {
            [
                (Some(key.metric), Some(key.regime)),
                (Some(key.metric), None),
                (None, Some(key.regime)),
                (None, None),
            ]
            .into_iter()
            .find_map(move |(metric, regime)| {
                let group = Group {
                    metric,
                    regime,
                    level,
                };
                self.of_group(group)
            })
        };
        levels[at..]
            .iter()
            .enumerate()
            .find_map(|(i, &l)| tries(Some(l)).map(|c| (c, i > 0)))
            .or_else(|| tries(None).map(|c| (c, key.level != Level::Own)))
    }

    /// The group an interval for `key` is drawn from: of the cells for `key` at its level
    /// and at every better-informed level, the widest (largest 80 % error). A less-informed
    /// level must not narrow an interval because its few held-out GPUs happened to be
    /// predicted well: what the data do not determine widens the interval, it never
    /// vanishes. For an engine without rows ([`DiscrepancyTable::at_least`]), the wider of
    /// that cell and the held-out engines' table's. The flag says whether the cell is not
    /// the level's own.
    pub fn widest_cell(&self, key: Key) -> Option<(&Cell, bool)> {
        let own = self.widest_own_cell(key);
        match (
            own,
            self.engines.as_ref().and_then(|t| t.widest_own_cell(key)),
        ) {
            (Some(own), Some(held_out))
                if held_out.0.reference_width() > own.0.reference_width() =>
            {
                Some((held_out.0, true))
            }
            (None, held_out) => held_out.map(|(cell, _)| (cell, true)),
            (own, _) => own,
        }
    }

    /// [`DiscrepancyTable::widest_cell`] in this table's own cells.
    fn widest_own_cell(&self, key: Key) -> Option<(&Cell, bool)> {
        let mut widest = self.cell(key)?;
        for level in [Level::Own, Level::Architecture] {
            if level < key.level
                && let Some((cell, _)) = self.cell(Key { level, ..key })
                && cell.reference_width() > widest.0.reference_width()
            {
                widest = (cell, true);
            }
        }
        Some(widest)
    }

    /// The interval at `confidence` around `value`, a prediction of group `key` whose
    /// parameters spread it by `log_sd` (see [`Cell::widened`]).
    pub fn interval(
        &self,
        key: Key,
        value: f64,
        log_sd: f64,
        confidence: Confidence,
    ) -> Option<Interval> {
        let (cell, _) = self.widest_cell(key)?;
        let (lo, hi) = cell.widened_factors(confidence, log_sd);
        Some(Interval {
            lo: value * lo,
            hi: value * hi,
            group: cell.group(),
        })
    }

    /// Whether held-out rows of `regime` made a group of their own. Without one, a figure
    /// of that regime takes the ranges of every regime pooled, which fewer than
    /// [`MIN_CELL_ROWS`] held-out rows run that way have tested, and the output says so.
    pub fn judges(&self, regime: Regime) -> bool {
        self.cells.iter().any(|c| c.regime == Some(regime))
    }

    /// The probability that the measured figure stays at or under `limit`, for a
    /// prediction `value` of group `key`, reading the errors as symmetric on the log scale
    /// (as the intervals do): ½ + ½·P(|r| ≤ x) above the prediction, ½ − ½·P(|r| ≤ −x)
    /// below it, for x = ln(limit / value); `log_sd` is the parameters' spread.
    pub fn probability_under(&self, key: Key, value: f64, log_sd: f64, limit: f64) -> Option<f64> {
        let (cell, _) = self.widest_cell(key)?;
        let x = (limit / value).ln();
        let within = cell.widened(log_sd).probability_within(x.abs());
        Some(if x >= 0.0 {
            0.5 + 0.5 * within
        } else {
            0.5 - 0.5 * within
        })
    }
}

/// The intervals of one prediction: every figure the model predicted, at one confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionIntervals<'t> {
    /// The confidence.
    pub confidence: Confidence,
    /// The level the GPU's efficiencies come from.
    pub level: Level,
    /// Each predicted figure's interval.
    pub figures: Vec<(Metric, Interval)>,
    /// Each figure's log standard deviation from the fitted parameters, included in
    /// its interval.
    pub parameters: Spread,
    /// The cross-validation scheme behind the table.
    pub scheme: &'t str,
    /// Held-out residuals in the table.
    pub residuals: usize,
    /// The question's load regime, when the table has no group of it (its ranges are
    /// every regime's, hardly tested for this load).
    pub unjudged_regime: Option<Regime>,
    /// For an engine without fitted rows: the held-out errors of engine families left out
    /// whose ranges the intervals take where wider.
    pub engines_held_out: Option<usize>,
}

impl PredictionIntervals<'_> {
    /// The interval of `metric`, if the prediction has one.
    pub fn of(&self, metric: Metric) -> Option<&Interval> {
        self.figures
            .iter()
            .find_map(|(m, i)| (*m == metric).then_some(i))
    }
}

/// Whether `condition` sets `metric` rather than the model predicting it: under Poisson
/// arrivals the instance serves the arrival rate, so its request rate (and that per GPU)
/// is the question's own number and has no interval.
fn imposed(condition: &Condition, metric: Metric) -> bool {
    matches!(condition, Condition::ArrivalRate { .. })
        && matches!(metric, Metric::ReqPerS | Metric::ReqPerSPerGpu)
}

impl DiscrepancyTable {
    /// The interval of every figure of `p`, predicted under `condition` (a budget searched
    /// under `load`) at `level` with the parameters' spread `parameters` (not of the
    /// figures the condition itself sets).
    pub fn for_prediction(
        &self,
        p: &crate::perf::Prediction,
        (condition, load): (&Condition, BudgetLoad),
        level: Level,
        parameters: Spread,
        confidence: Confidence,
    ) -> PredictionIntervals<'_> {
        let regime = Regime::of_question(condition, load);
        let figures = Metric::ALL
            .iter()
            .filter(|&&metric| !imposed(condition, metric))
            .filter_map(|&metric| {
                let value = p.metric(metric)?;
                let key = Key {
                    metric,
                    regime,
                    level,
                };
                let spread = parameters.of(metric);
                Some((metric, self.interval(key, value, spread, confidence)?))
            })
            .collect();
        PredictionIntervals {
            confidence,
            level,
            figures,
            parameters,
            scheme: &self.scheme,
            residuals: self.rows,
            unjudged_regime: (!self.judges(regime)).then_some(regime),
            engines_held_out: self.engines_held_out(),
        }
    }
}

#[cfg(test)]
mod tests;
