//! The runs behind `FINDINGS.md`, the reference plan's "identify discrepancies,
//! hypothesise reasons": leave-one-cell-out cross-validation of every shipped experiment on
//! the chart, the default refitted with a squared loss, the reference calculator against
//! the chart, batch-1 decode by FLOPs against by HBM, and how much of the saturated rate
//! each cell's TTFT budget allows. It computes; `report::findings` writes the prose.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::bench::{BenchRow, Name};
use crate::bias::{BiasGroup, bias_table};
use crate::catalog::Catalog;
use crate::chart::{CompareTable, build, chart_cells};
use crate::cv::{CrossValidation, Scheme, cross_validate};
use crate::evaluate::{Assumptions, Summary, evaluate_rows, scenario_for, scopes};
use crate::experiment::{CHART_BEST_EXPERIMENT, LossKind, ValidExperiment};
use crate::fit::{Calibration, FitError, Options, calibrate};
use crate::perf::PerfModelKind;
use crate::perf::registry::ParamSet;
use crate::scenario::Condition;

/// Batch-1 time per output token of one chart cell, FLOPs-only against HBM-bound.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeComparison {
    /// Model slug.
    pub model: Name,
    /// GPU slug.
    pub gpu: Name,
    /// The reference calculator's ITL (FLOPs only), seconds.
    pub flops_only_itl_s: f64,
    /// The uncalibrated roofline's ITL (weights and KV cache read from memory), seconds.
    pub hbm_bound_itl_s: f64,
}

/// How much of its saturated rate a chart cell's TTFT budget allows.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetShare {
    /// Model slug.
    pub model: Name,
    /// GPU slug.
    pub gpu: Name,
    /// The cell's TTFT budget, seconds.
    pub budget_s: f64,
    /// Rate under the budget ÷ saturated rate.
    pub share: f64,
}

/// Every run the findings report on.
pub struct Findings {
    /// Each shipped experiment with its leave-one-cell-out cross-validation.
    pub cvs: Vec<(ValidExperiment, CrossValidation)>,
    /// The default chart experiment refitted with a squared loss.
    pub squared: Calibration,
    /// The reference calculator against the chart.
    pub calculator: CompareTable,
    /// Batch-1 decode of the loose-budget cells.
    pub decode: Vec<DecodeComparison>,
    /// The budget's share of the saturated rate, per numeric cell, under the default.
    pub budget: Vec<BudgetShare>,
    /// The default experiment on all its data, in-sample.
    pub all_data: AllData,
    /// Time the runs took, seconds.
    pub wall_time_s: f64,
}

/// The default experiment fitted to every shipped row: its in-sample error per scope
/// (source, engine, …) and the bias table.
#[derive(Debug, Clone)]
pub struct AllData {
    /// The experiment's name.
    pub experiment: String,
    /// Rows fitted.
    pub rows: usize,
    /// In-sample summaries, overall and per metric, source, engine and GPU.
    pub scopes: Vec<(String, Summary)>,
    /// Median predicted/measured per group.
    pub bias: Vec<BiasGroup>,
}

/// Fits `experiment` to `rows` and judges it in-sample, by scope and by bias group.
pub fn all_data(
    catalog: &Catalog,
    experiment: &ValidExperiment,
    rows: &[BenchRow],
) -> Result<AllData, FitError> {
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let fit = calibrate(experiment, rows, catalog, &options)?;
    let model = experiment.perf_model.with_params(&fit.params);
    let evaluated = evaluate_rows(rows, catalog, model.as_ref(), &fit.assumptions)?;
    Ok(AllData {
        experiment: experiment.name.clone(),
        rows: rows.len(),
        scopes: scopes(&evaluated),
        bias: bias_table(&evaluated, catalog),
    })
}

impl Findings {
    /// The cross-validation of experiment `name`.
    pub fn cv(&self, name: &str) -> Option<&CrossValidation> {
        self.cvs
            .iter()
            .find(|(e, _)| e.name == name)
            .map(|(_, cv)| cv)
    }
}

/// Runs `experiments` (the shipped ones) on the chart `rows`, and the default experiment
/// `all` on every shipped row.
pub fn run(
    catalog: &Catalog,
    rows: &[BenchRow],
    experiments: &[ValidExperiment],
    all: (&ValidExperiment, &[BenchRow]),
) -> Result<Findings, FitError> {
    let started = Instant::now();
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let mut cvs = Vec::new();
    for e in experiments {
        cvs.push((
            e.clone(),
            cross_validate(e, rows, catalog, Scheme::Loo, &options)?,
        ));
    }
    let default = experiments
        .iter()
        .find(|e| e.name == CHART_BEST_EXPERIMENT)
        .cloned()
        .ok_or(FitError::NoRows)?;
    let mut squared = default.clone();
    squared.loss.kind = LossKind::Squared;
    let squared = calibrate(&squared, rows, catalog, &options)?;
    let budget = match cvs.iter().find(|(e, _)| e.name == CHART_BEST_EXPERIMENT) {
        Some((_, cv)) => budget_shares(cv, catalog)?,
        None => Vec::new(),
    };
    Ok(Findings {
        calculator: calculator(catalog, rows)?,
        decode: decode(catalog, rows)?,
        budget,
        cvs,
        squared,
        all_data: all_data(catalog, all.0, all.1)?,
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

/// The reference calculator, as published, on every chart cell.
fn calculator(catalog: &Catalog, rows: &[BenchRow]) -> Result<CompareTable, FitError> {
    let cells = chart_cells(rows);
    let reference = PerfModelKind::Reference.with_params(&ParamSet::default());
    let outcomes = cells
        .iter()
        .map(|c| Ok(reference.predict(&scenario_for(c.first(), catalog, &Assumptions::default())?)))
        .collect::<Result<Vec<_>, FitError>>()?;
    Ok(build("reference", &cells, &outcomes))
}

/// Batch-1 ITL of every loose-budget cell by FLOPs and by memory reads.
fn decode(catalog: &Catalog, rows: &[BenchRow]) -> Result<Vec<DecodeComparison>, FitError> {
    let reference = PerfModelKind::Reference.with_params(&ParamSet::default());
    let roofline = PerfModelKind::Roofline.with_params(&ParamSet::default());
    let mut out = Vec::new();
    for cell in chart_cells(rows).iter().filter(
        |c| matches!(c.first().condition, Condition::TtftBudget { budget_s, .. } if budget_s > 1.0),
    ) {
        let mut scenario = scenario_for(cell.first(), catalog, &Assumptions::default())?;
        scenario.condition = Condition::StaticBatch { batch_size: 1 };
        if let (Ok(s), Ok(r)) = (reference.predict(&scenario), roofline.predict(&scenario)) {
            out.push(DecodeComparison {
                model: cell.first().model.clone(),
                gpu: cell.first().gpu.clone(),
                flops_only_itl_s: s.itl_s,
                hbm_bound_itl_s: r.itl_s,
            });
        }
    }
    Ok(out)
}

/// Under the full fit of `cv`, each numeric cell's rate under its budget as a share of
/// the saturated rate.
fn budget_shares(cv: &CrossValidation, catalog: &Catalog) -> Result<Vec<BudgetShare>, FitError> {
    let model = PerfModelKind::Serving.with_params(&cv.full.params);
    let mut out = Vec::new();
    for cell in chart_cells(&cv.rows)
        .iter()
        .filter(|c| c.first().value.value().is_some())
    {
        let row = cell.first();
        let mut scenario = scenario_for(row, catalog, &cv.full.assumptions)?;
        let Ok(under) = model.predict(&scenario) else {
            continue;
        };
        scenario.condition = Condition::Saturated;
        let Ok(free) = model.predict(&scenario) else {
            continue;
        };
        let Condition::TtftBudget { budget_s, .. } = row.condition else {
            continue;
        };
        out.push(BudgetShare {
            model: row.model.clone(),
            gpu: row.gpu.clone(),
            budget_s,
            share: under.req_per_s / free.req_per_s,
        });
    }
    Ok(out)
}
