//! Evaluation of a performance model against benchmark rows: the scenario each row
//! implies, the model's prediction of the row's metric, and the error summaries a
//! planner reads (median and p90 APE, median |log ratio|, share within 25 %, feasibility
//! accuracy), overall and per metric. The fitter's residuals are built on the same
//! row → scenario mapping.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bench::{BenchRow, Metric, Observed};
use crate::catalog::{Catalog, CatalogError};
use crate::engine::Engine;
use crate::perf::PerfModel;
pub use crate::scenario::Assumptions;
use crate::scenario::{Deployment, Scenario};
use crate::stats::{ape, median, quantile};

/// The scenario a row describes: the deployment it states, else `assumptions`, else the
/// default assumption ([`Deployment::assumed`]).
pub fn scenario_for<'c>(
    row: &BenchRow,
    catalog: &'c Catalog,
    assumptions: &Assumptions,
) -> Result<Scenario<'c>, CatalogError> {
    let gpu = catalog.gpu(&row.gpu)?;
    let precision = row
        .precision
        .or_else(|| assumptions.precision.get(&gpu.slug).copied());
    let tp = row
        .tp
        .or_else(|| assumptions.tp.get(row.model.as_str()).copied());
    Ok(Scenario {
        model: catalog.model(&row.model)?,
        gpu,
        deployment: Deployment {
            synthetic_weights: row.synthetic_weights,
            ..Deployment::assumed(gpu, precision, tp, row.pp).on(Engine::family_of(&row.engine)
                .or_else(|| assumptions.engine.get(&gpu.slug).copied()))
        },
        isl: row.isl,
        osl: row.osl,
        condition: row.condition,
        stat: row.stat,
    })
}

/// One row with the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowEvaluation {
    /// The row.
    pub row: BenchRow,
    /// The predicted value of the row's metric (`None` when predicted infeasible).
    pub predicted: Option<f64>,
    /// Why the model calls the row infeasible.
    pub infeasible_reason: Option<String>,
    /// predicted / measured.
    pub ratio: Option<f64>,
}

impl RowEvaluation {
    /// `row` with its prediction (`None` when infeasible) and the reason it is infeasible.
    pub fn new(row: BenchRow, predicted: Option<f64>, infeasible_reason: Option<String>) -> Self {
        let ratio = ratio(&row, predicted);
        RowEvaluation {
            row,
            predicted,
            infeasible_reason,
            ratio,
        }
    }

    /// Whether the model's feasibility matches the row (NA ⇔ infeasible).
    pub fn feasibility_correct(&self) -> bool {
        matches!(self.row.value, Observed::NotAchievable) == self.predicted.is_none()
    }
}

/// predicted / measured for `row` (`None` when either is missing).
pub fn ratio(row: &BenchRow, predicted: Option<f64>) -> Option<f64> {
    predicted.zip(row.value.value()).map(|(p, m)| p / m)
}

/// `model`'s value of `row`'s metric (`None` when predicted infeasible) and why not.
pub fn predict_row(
    row: &BenchRow,
    catalog: &Catalog,
    model: &dyn PerfModel,
    assumptions: &Assumptions,
) -> Result<(Option<f64>, Option<String>), CatalogError> {
    let scenario = scenario_for(row, catalog, assumptions)?;
    Ok(match model.predict(&scenario) {
        Ok(p) => (p.metric(row.metric), None),
        Err(why) => (None, Some(why.to_string())),
    })
}

/// Predicts one row with `model`.
pub fn evaluate_row(
    row: BenchRow,
    catalog: &Catalog,
    model: &dyn PerfModel,
    assumptions: &Assumptions,
) -> Result<RowEvaluation, CatalogError> {
    let (predicted, infeasible_reason) = predict_row(&row, catalog, model, assumptions)?;
    Ok(RowEvaluation::new(row, predicted, infeasible_reason))
}

/// Predicts every row with `model`.
pub fn evaluate_rows(
    rows: &[BenchRow],
    catalog: &Catalog,
    model: &dyn PerfModel,
    assumptions: &Assumptions,
) -> Result<Vec<RowEvaluation>, CatalogError> {
    rows.iter()
        .map(|row| evaluate_row(row.clone(), catalog, model, assumptions))
        .collect()
}

/// Each row's log spread from the fitted parameters (`uncertainty`) for its own metric
/// under `kind` with `set`: the parameter part of its interval; 0 for a row whose scenario
/// cannot be built or predicted.
pub fn parameter_spreads(
    rows: &[BenchRow],
    catalog: &Catalog,
    kind: crate::perf::PerfModelKind,
    set: &crate::perf::registry::ParamSet,
    assumptions: &Assumptions,
    uncertainty: &crate::interval::ParameterUncertainty,
) -> Vec<f64> {
    rows.iter()
        .map(|row| parameter_spread(row, catalog, (kind, set), assumptions, uncertainty))
        .collect()
}

/// One row's log spread, as [`parameter_spreads`] gives it.
pub fn parameter_spread(
    row: &BenchRow,
    catalog: &Catalog,
    (kind, set): (crate::perf::PerfModelKind, &crate::perf::registry::ParamSet),
    assumptions: &Assumptions,
    uncertainty: &crate::interval::ParameterUncertainty,
) -> f64 {
    scenario_for(row, catalog, assumptions)
        .map_or(0.0, |s| uncertainty.spread(kind, set, &s).of(row.metric))
}

/// Error summary over a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Rows.
    pub n: usize,
    /// Rows with a measured number.
    pub n_numeric: usize,
    /// Rows marked NA.
    pub n_na: usize,
    /// Median absolute percentage error over numeric rows predicted feasible, percent.
    pub median_ape: Option<f64>,
    /// 90th-percentile APE, percent.
    pub p90_ape: Option<f64>,
    /// Median |ln(predicted/measured)|.
    pub median_abs_log_ratio: Option<f64>,
    /// Share of numeric rows predicted within ±25 % (an infeasible prediction is a miss).
    pub within_25pct: Option<f64>,
    /// Share of rows whose feasibility the model gets right.
    pub feasibility_accuracy: Option<f64>,
}

/// A [`Summary`] built one row at a time: what a streamed evaluation keeps per row is two
/// numbers, not the row.
#[derive(Debug, Clone, Default)]
pub struct SummaryBuilder {
    n: usize,
    n_numeric: usize,
    apes: Vec<f64>,
    log_ratios: Vec<f64>,
    within: usize,
    feasible: usize,
}

impl SummaryBuilder {
    /// Counts one evaluated row.
    pub fn add(&mut self, r: &RowEvaluation) {
        self.n += 1;
        self.feasible += usize::from(r.feasibility_correct());
        let Some(measured) = r.row.value.value() else {
            return;
        };
        self.n_numeric += 1;
        if let Some(predicted) = r.predicted {
            self.apes.push(ape(predicted, measured));
        }
        if let Some(ratio) = r.ratio {
            self.log_ratios.push(ratio.ln().abs());
            self.within += usize::from((ratio - 1.0).abs() <= 0.25);
        }
    }

    /// The summary of the rows added so far.
    pub fn summary(&self) -> Summary {
        let share = |count: usize, of: usize| (of > 0).then(|| count as f64 / of as f64);
        Summary {
            n: self.n,
            n_numeric: self.n_numeric,
            n_na: self.n - self.n_numeric,
            median_ape: median(&self.apes),
            p90_ape: quantile(&self.apes, 0.9),
            median_abs_log_ratio: median(&self.log_ratios),
            within_25pct: share(self.within, self.n_numeric),
            feasibility_accuracy: share(self.feasible, self.n),
        }
    }
}

/// Summarises `rows`.
pub fn summarize<'a>(rows: impl IntoIterator<Item = &'a RowEvaluation>) -> Summary {
    let mut builder = SummaryBuilder::default();
    for r in rows {
        builder.add(r);
    }
    builder.summary()
}

/// The summaries of every scope (overall, per metric, source, engine family and GPU),
/// built one row at a time.
#[derive(Debug, Clone, Default)]
pub struct ScopeSummaries {
    /// All rows.
    pub overall: SummaryBuilder,
    /// Per metric.
    pub per_metric: BTreeMap<Metric, SummaryBuilder>,
    /// Per source.
    pub per_source: BTreeMap<String, SummaryBuilder>,
    /// Per engine family (`no engine` for rows that name none the model knows).
    pub per_engine: BTreeMap<String, SummaryBuilder>,
    /// Per GPU slug.
    pub per_gpu: BTreeMap<String, SummaryBuilder>,
}

impl ScopeSummaries {
    /// Counts one evaluated row in every scope it belongs to.
    pub fn add(&mut self, r: &RowEvaluation) {
        self.overall.add(r);
        self.per_metric.entry(r.row.metric).or_default().add(r);
        let engine = Engine::label_of(&r.row.engine);
        add_to(&mut self.per_source, r.row.source.as_str(), r);
        add_to(&mut self.per_engine, engine, r);
        add_to(&mut self.per_gpu, r.row.gpu.as_str(), r);
    }

    /// The summaries in reading order: overall, each metric, source, engine, GPU.
    pub fn in_reading_order(&self) -> Vec<(String, Summary)> {
        let mut out = vec![("overall".to_string(), self.overall.summary())];
        out.extend(
            self.per_metric
                .iter()
                .map(|(m, b)| (format!("metric {m}"), b.summary())),
        );
        for (scope, builders) in [
            ("source", &self.per_source),
            ("engine", &self.per_engine),
            ("gpu", &self.per_gpu),
        ] {
            out.extend(
                builders
                    .iter()
                    .map(|(k, b)| (format!("{scope} {k}"), b.summary())),
            );
        }
        out
    }
}

/// Counts `r` in `key`'s builder, allocating the key only the first time it is seen
/// (this runs once per row of files with a million rows).
fn add_to(builders: &mut BTreeMap<String, SummaryBuilder>, key: &str, r: &RowEvaluation) {
    match builders.get_mut(key) {
        Some(builder) => builder.add(r),
        None => {
            let mut builder = SummaryBuilder::default();
            builder.add(r);
            builders.insert(key.to_string(), builder);
        }
    }
}

/// Summaries per metric, in metric order.
pub fn summarize_by_metric(rows: &[RowEvaluation]) -> BTreeMap<Metric, Summary> {
    let mut groups: BTreeMap<Metric, Vec<&RowEvaluation>> = BTreeMap::new();
    for r in rows {
        groups.entry(r.row.metric).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(m, rs)| (m, summarize(rs)))
        .collect()
}

/// Summaries per scope, in reading order: overall, each metric, source, engine, GPU.
pub fn scopes(rows: &[RowEvaluation]) -> Vec<(String, Summary)> {
    let mut summaries = ScopeSummaries::default();
    for r in rows {
        summaries.add(r);
    }
    summaries.in_reading_order()
}
