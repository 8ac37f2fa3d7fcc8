//! The chart comparison as text: Markdown (table and summary), CSV and JSON.

use super::{csv_table, markdown_table, sig};
use crate::chart::{CompareRow, CompareTable};

const HEADER: [&str; 11] = [
    "model",
    "gpu",
    "ttft_budget_s",
    "predicted_ttft_s",
    "meets_budget",
    "measured_req_per_s_per_gpu",
    "predicted_req_per_s_per_gpu",
    "ratio",
    "measured_gpus_for_target",
    "predicted_gpus_for_target",
    "infeasible_reason",
];

fn cells_text(r: &CompareRow, na: &str) -> Vec<String> {
    let num = |x: Option<f64>, digits| x.map_or(na.to_string(), |v| sig(v, digits));
    vec![
        r.model.to_string(),
        r.gpu.to_string(),
        sig(r.ttft_budget_s, 3),
        num(r.predicted_ttft_s, 4),
        if r.meets_budget { "yes" } else { "no" }.to_string(),
        num(r.measured_req_per_s_per_gpu, 3),
        num(r.predicted_req_per_s_per_gpu, 4),
        num(r.ratio, 3),
        num(r.measured_gpus_for_target, 4),
        num(r.predicted_gpus_for_target, 4),
        r.infeasible_reason.clone().unwrap_or_default(),
    ]
}

impl CompareTable {
    /// Markdown: the table, then the summary as a short list.
    pub fn to_markdown(&self) -> String {
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| cells_text(r, "N/A")).collect();
        let header = [
            "model",
            "GPU",
            "TTFT budget s",
            "pred TTFT s",
            "meets budget",
            "measured req/s/GPU",
            "pred req/s/GPU",
            "pred/measured",
            "measured GPUs",
            "pred GPUs",
            "infeasible because",
        ];
        let right = [
            false, false, true, true, false, true, true, true, true, true, false,
        ];
        let mut out = markdown_table(&header, &right, &rows);
        let s = &self.summary;
        let opt = |x: Option<f64>, d| x.map_or("n/a".to_string(), |v| sig(v, d));
        out.push_str(&format!(
            "\nPerf model `{}`: {} cells, {} compared. pred/measured req/s/GPU: median {}×, min {}×, max {}×; \
             median APE {} %. Chart N/A cells: {}, ruled out by the model: {}.\n",
            self.perf_model, s.cells, s.compared_cells, opt(s.median_ratio, 3), opt(s.min_ratio, 3),
            opt(s.max_ratio, 3), opt(s.median_ape_pct, 3), s.na_cells, s.na_cells_ruled_out
        ));
        out
    }

    /// CSV: one line per cell, `NA` for missing numbers.
    pub fn to_csv(&self) -> String {
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| cells_text(r, "NA")).collect();
        csv_table(&HEADER, &rows)
    }

    /// One JSON document: `perf_model`, `rows`, `summary`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
