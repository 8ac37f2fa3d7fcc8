//! A performance model against a sizing chart: the chart's cells (model, GPU, TTFT
//! budget: the rows that differ only in metric), and for every cell the predicted TTFT and
//! whether it meets the budget, the predicted vs measured req/s/GPU and GPUs for the target
//! rate, their ratio, and the summary (median, min and max ratio; median absolute
//! percentage error). `report::compare` renders it.

use serde::Serialize;

use crate::bench::{BenchRow, Metric, Observed};
use crate::perf::Outcome;
use crate::scenario::Condition;
use crate::stats::{ape, median};

/// One chart cell with the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// Model slug.
    pub model: String,
    /// GPU slug.
    pub gpu: String,
    /// TTFT budget, seconds.
    pub ttft_budget_s: f64,
    /// Target rate for the GPU count, requests/s.
    pub target_rps: Option<f64>,
    /// Predicted TTFT, seconds (`None` when the model calls the cell infeasible).
    pub predicted_ttft_s: Option<f64>,
    /// Whether the predicted TTFT is within the budget.
    pub meets_budget: bool,
    /// Measured req/s/GPU (`None` = NA in the chart).
    pub measured_req_per_s_per_gpu: Option<f64>,
    /// Predicted req/s/GPU.
    pub predicted_req_per_s_per_gpu: Option<f64>,
    /// Predicted / measured req/s/GPU.
    pub ratio: Option<f64>,
    /// Measured GPUs for the target.
    pub measured_gpus_for_target: Option<f64>,
    /// Predicted GPUs for the target.
    pub predicted_gpus_for_target: Option<f64>,
    /// Why the model calls the cell infeasible, if it does.
    pub infeasible_reason: Option<String>,
}

/// Summary over the cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareSummary {
    /// Cells compared.
    pub cells: usize,
    /// Cells with a measured rate and a predicted one.
    pub compared_cells: usize,
    /// Median predicted/measured ratio of req/s/GPU.
    pub median_ratio: Option<f64>,
    /// Smallest ratio.
    pub min_ratio: Option<f64>,
    /// Largest ratio.
    pub max_ratio: Option<f64>,
    /// Median absolute percentage error of req/s/GPU, percent.
    pub median_ape_pct: Option<f64>,
    /// Chart NA cells.
    pub na_cells: usize,
    /// Chart NA cells the model also rules out (infeasible or TTFT over budget).
    pub na_cells_ruled_out: usize,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareTable {
    /// Performance model name.
    pub perf_model: String,
    /// One row per chart cell.
    pub rows: Vec<CompareRow>,
    /// Summary rows.
    pub summary: CompareSummary,
}

/// A chart cell: the rate row and the GPU-count row of one (model, GPU, budget).
#[derive(Debug, Clone)]
pub struct Cell<'a> {
    first: &'a BenchRow,
    rate: Option<&'a BenchRow>,
    gpus: Option<&'a BenchRow>,
}

impl<'a> Cell<'a> {
    /// The first row of the cell in file order: it defines the scenario.
    pub fn first(&self) -> &'a BenchRow {
        self.first
    }
}

/// Groups TTFT-budget rows into cells in file order; other rows are not chart cells.
pub fn chart_cells(rows: &[BenchRow]) -> Vec<Cell<'_>> {
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for row in rows {
        let Condition::TtftBudget { budget_s, .. } = row.condition else {
            continue;
        };
        let slot = match row.metric {
            Metric::ReqPerSPerGpu => 0,
            Metric::GpusForTarget => 1,
            _ => continue,
        };
        let same = |c: &Cell<'_>| {
            let f = c.first();
            let Condition::TtftBudget { budget_s: b, .. } = f.condition else {
                return false;
            };
            f.source == row.source
                && f.model == row.model
                && f.gpu == row.gpu
                && f.isl == row.isl
                && f.osl == row.osl
                && (b - budget_s).abs() < 1e-12
        };
        let index = match cells.iter().position(same) {
            Some(i) => i,
            None => {
                cells.push(Cell {
                    first: row,
                    rate: None,
                    gpus: None,
                });
                cells.len() - 1
            }
        };
        let cell = &mut cells[index];
        if slot == 0 {
            cell.rate = Some(row)
        } else {
            cell.gpus = Some(row)
        }
    }
    cells
}

/// Builds the table from cells and the model's outcome for each (same order).
pub fn build(perf_model: &str, cells: &[Cell<'_>], outcomes: &[Outcome]) -> CompareTable {
    let rows: Vec<CompareRow> = cells.iter().zip(outcomes).map(|(c, o)| row(c, o)).collect();
    let ratios: Vec<f64> = rows.iter().filter_map(|r| r.ratio).collect();
    let apes: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            Some(ape(
                r.predicted_req_per_s_per_gpu?,
                r.measured_req_per_s_per_gpu?,
            ))
        })
        .collect();
    let na: Vec<&CompareRow> = rows
        .iter()
        .filter(|r| r.measured_req_per_s_per_gpu.is_none())
        .collect();
    let summary = CompareSummary {
        cells: rows.len(),
        compared_cells: ratios.len(),
        median_ratio: median(&ratios),
        min_ratio: ratios.iter().copied().reduce(f64::min),
        max_ratio: ratios.iter().copied().reduce(f64::max),
        median_ape_pct: median(&apes),
        na_cells: na.len(),
        na_cells_ruled_out: na.iter().filter(|r| !r.meets_budget).count(),
    };
    CompareTable {
        perf_model: perf_model.to_string(),
        rows,
        summary,
    }
}

fn row(cell: &Cell<'_>, outcome: &Outcome) -> CompareRow {
    let first = cell.first();
    let (budget, target) = match first.condition {
        Condition::TtftBudget { budget_s, .. } => (
            budget_s,
            cell.gpus.and_then(|g| match g.condition {
                Condition::TtftBudget { target_rps, .. } => target_rps,
                _ => None,
            }),
        ),
        _ => (f64::NAN, None),
    };
    let measured = |r: Option<&BenchRow>| {
        r.and_then(|r| match r.value {
            Observed::Value(v) => Some(v),
            Observed::NotAchievable => None,
        })
    };
    let measured_rate = measured(cell.rate);
    let (predicted_ttft, predicted_rate, reason) = match outcome {
        Ok(p) => (Some(p.ttft_s), Some(p.req_per_s_per_gpu), None),
        Err(why) => (None, None, Some(why.to_string())),
    };
    CompareRow {
        model: first.model.to_string(),
        gpu: first.gpu.to_string(),
        ttft_budget_s: budget,
        target_rps: target,
        predicted_ttft_s: predicted_ttft,
        meets_budget: predicted_ttft.is_some_and(|t| t <= budget),
        measured_req_per_s_per_gpu: measured_rate,
        predicted_req_per_s_per_gpu: predicted_rate,
        ratio: predicted_rate.zip(measured_rate).map(|(p, m)| p / m),
        measured_gpus_for_target: measured(cell.gpus),
        predicted_gpus_for_target: predicted_rate.zip(target).map(|(p, t)| t / p),
        infeasible_reason: reason,
    }
}
