//! Rendering of an evaluation: per-row predictions with their ratio, and the summary
//! (overall, per metric, per GPU) as Markdown, CSV or one JSON document.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::interval::coverage::CoverageReport;

use super::{csv_table, markdown_table, sig};
use crate::bench::Metric;
use crate::evaluate::{RowEvaluation, ScopeSummaries, Summary, SummaryBuilder};

/// An evaluation ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationReport {
    /// Performance model name.
    pub perf_model: String,
    /// Every row with its prediction.
    pub rows: Vec<RowEvaluation>,
    /// Overall, per-metric and per-GPU summaries.
    pub summary: SummaryTables,
    /// How many rows the parameters' prediction intervals covered, when they carry them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
}

/// The summaries.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryTables {
    /// All rows.
    pub overall: Summary,
    /// Per metric.
    pub per_metric: BTreeMap<Metric, Summary>,
    /// Per GPU.
    pub per_gpu: BTreeMap<String, Summary>,
}

impl EvaluationReport {
    /// The report of rows evaluated as they streamed by: `rows` holds those kept (none
    /// unless they are to be listed) and `scopes` counted every row.
    pub fn from_scopes(
        perf_model: &str,
        rows: Vec<RowEvaluation>,
        scopes: &ScopeSummaries,
    ) -> EvaluationReport {
        let per_metric = scopes
            .per_metric
            .iter()
            .map(|(m, b)| (*m, SummaryBuilder::summary(b)));
        let per_gpu = scopes
            .per_gpu
            .iter()
            .map(|(g, b)| (g.clone(), SummaryBuilder::summary(b)));
        EvaluationReport {
            perf_model: perf_model.to_string(),
            rows,
            summary: SummaryTables {
                overall: scopes.overall.summary(),
                per_metric: per_metric.collect(),
                per_gpu: per_gpu.collect(),
            },
            coverage: None,
        }
    }

    /// Markdown: the rows (when the report keeps them), then the summaries.
    pub fn to_markdown(&self) -> String {
        let header = [
            "file:line",
            "model",
            "gpu",
            "condition",
            "metric",
            "stat",
            "measured",
            "predicted",
            "pred/meas",
            "infeasible because",
        ];
        let right = [
            false, false, false, false, false, false, true, true, true, false,
        ];
        let mut out = String::new();
        if !self.rows.is_empty() {
            let rows: Vec<Vec<String>> = self.rows.iter().map(|r| row_cells(r, "N/A")).collect();
            out = markdown_table(&header, &right, &rows);
            out.push('\n');
        }
        out.push_str(&format!("Summary of `{}`:\n\n", self.perf_model));
        out.push_str(&summary_markdown("scope", self.summary_rows()));
        if let Some(coverage) = &self.coverage {
            out.push_str("\nPrediction intervals: share of rows inside, then the median half-width relative to the prediction, in percent (rows the calibration was fitted to sit inside more often than new ones):\n\n");
            out.push_str(&super::intervals::coverage_markdown(coverage));
        }
        out
    }

    fn summary_rows(&self) -> Vec<(String, &Summary)> {
        let mut rows = vec![("overall".to_string(), &self.summary.overall)];
        rows.extend(
            self.summary
                .per_metric
                .iter()
                .map(|(m, s)| (format!("metric {m}"), s)),
        );
        rows.extend(
            self.summary
                .per_gpu
                .iter()
                .map(|(g, s)| (format!("gpu {g}"), s)),
        );
        rows
    }

    /// CSV: one line per row.
    pub fn to_csv(&self) -> String {
        let header = [
            "origin",
            "model",
            "gpu",
            "condition",
            "metric",
            "stat",
            "measured",
            "predicted",
            "ratio",
            "infeasible_reason",
        ];
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| row_cells(r, "NA")).collect();
        csv_table(&header, &rows)
    }

    /// CSV of the summaries: one line per scope (overall, each metric, each GPU).
    pub fn summary_csv(&self) -> String {
        let header = [
            "scope",
            "rows",
            "numeric",
            "na",
            "median_ape_pct",
            "p90_ape_pct",
            "median_abs_ln_ratio",
            "within_25pct",
            "feasibility_accuracy",
        ];
        let rows: Vec<Vec<String>> = self
            .summary_rows()
            .into_iter()
            .map(|(scope, s)| summary_cells(scope, s, super::exact_or_na, super::exact_or_na))
            .collect();
        csv_table(&header, &rows)
    }

    /// One JSON document: `perf_model`, `rows` (empty unless kept), `summary`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

fn row_cells(r: &RowEvaluation, na: &str) -> Vec<String> {
    let num = |x: Option<f64>| x.map_or(na.to_string(), |v| sig(v, 4));
    vec![
        r.row.origin.to_string(),
        r.row.model.to_string(),
        r.row.gpu.to_string(),
        super::condition_text(&r.row.condition),
        r.row.metric.to_string(),
        r.row.stat.to_string(),
        num(r.row.value.value()),
        num(r.predicted),
        num(r.ratio),
        r.infeasible_reason.clone().unwrap_or_default(),
    ]
}

/// The summary table: one line per scope.
pub fn summary_markdown(scope: &str, rows: Vec<(String, &Summary)>) -> String {
    let header = [
        scope,
        "rows",
        "numeric",
        "NA",
        "median APE %",
        "p90 APE %",
        "median |ln ratio|",
        "within 25 %",
        "feasibility",
    ];
    let right = [false, true, true, true, true, true, true, true, true];
    let pct = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.0} %", 100.0 * v));
    let num = |x: Option<f64>| x.map_or("n/a".into(), |v| sig(v, 3));
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(name, s)| summary_cells(name, s, num, pct))
        .collect();
    markdown_table(&header, &right, &cells)
}

/// One summary line: the scope, its counts, then the errors formatted by `num` and the
/// shares by `share` (exact for CSV, rounded for people).
fn summary_cells(
    scope: String,
    s: &Summary,
    num: impl Fn(Option<f64>) -> String,
    share: impl Fn(Option<f64>) -> String,
) -> Vec<String> {
    vec![
        scope,
        s.n.to_string(),
        s.n_numeric.to_string(),
        s.n_na.to_string(),
        num(s.median_ape),
        num(s.p90_ape),
        num(s.median_abs_log_ratio),
        share(s.within_25pct),
        share(s.feasibility_accuracy),
    ]
}
