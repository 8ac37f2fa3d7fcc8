//! Rendering of a sizing: ranked deployments and the GPUs ruled out, with reasons.

use super::{csv_table, markdown_table, sig};
use crate::interval::Confidence;
use crate::perf::params::Coverage;
use crate::size::{Deployable, PlanFor, Sizing};

const HEADER: [&str; 14] = [
    "rank",
    "gpu",
    "precision",
    "tp",
    "engine",
    "req_per_s_per_gpu",
    "gpus_for_target",
    "instances",
    "whole_gpus",
    "ttft_s",
    "itl_ms",
    "gpus_lo",
    "gpus_hi",
    "p_meets_budget",
];

/// Whether any shown deployment has intervals (then their columns are shown).
fn with_intervals(shown: &[&Deployable]) -> bool {
    shown.iter().any(|d| d.gpus_interval.is_some())
}

fn header(intervals: bool) -> &'static [&'static str] {
    if intervals { &HEADER } else { &HEADER[..11] }
}

fn cells(rank: usize, d: &Deployable, intervals: bool) -> Vec<String> {
    let mut cells = vec![
        rank.to_string(),
        d.gpu.clone(),
        d.precision.to_string(),
        d.tp.to_string(),
        d.engine.map_or("-".to_string(), |e| e.to_string()),
        sig(d.req_per_s_per_gpu, 4),
        sig(d.gpus_for_target, 4),
        d.instances.to_string(),
        d.whole_gpus.to_string(),
        sig(d.ttft_s, 3),
        sig(d.itl_s * 1e3, 3),
    ];
    if intervals {
        let (lo, hi) = d.gpus_interval.unwrap_or((f64::NAN, f64::NAN));
        cells.extend([
            sig(lo, 4),
            sig(hi, 4),
            d.meets_budget.map_or("-".to_string(), |p| sig(p, 2)),
        ]);
    }
    cells
}

/// What the GPU counts were planned for and how to read the interval columns.
pub fn plan_note(sizing: &Sizing, confidence: Confidence, budget_s: f64) -> String {
    let Some(first) = sizing.deployable.first() else {
        return String::new();
    };
    if first.gpus_interval.is_none() {
        return "No intervals: these parameters carry no cross-validated errors.\n".to_string();
    }
    match sizing.plan_for {
        PlanFor::Point => format!(
            "Planned for the predicted figures: each deployment runs at the load whose predicted TTFT is the {budget_s} s budget, so p_meets_budget (the chance the measured TTFT stays within it, from held-out errors) is near one half; gpus_lo–gpus_hi is the {confidence} interval on gpus_for_target. `--plan-for upper` sizes for the interval's pessimistic end.\n"
        ),
        PlanFor::Upper => format!(
            "Planned for the upper end of the {confidence} intervals (--plan-for upper): each deployment runs at the load whose TTFT upper bound is the {budget_s} s budget, and its GPUs serve the target at the lower bound of throughput per GPU; ranked by those GPUs. gpus_lo–gpus_hi is the interval on the GPUs predicted at that load.\n"
        ),
    }
}

/// Markdown: the ranked deployments, then the GPUs ruled out.
pub fn to_markdown(sizing: &Sizing, shown: &[&Deployable]) -> String {
    let intervals = with_intervals(shown);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, d)| cells(i + 1, d, intervals))
        .collect();
    let header = header(intervals);
    let mut right = vec![true; header.len()];
    for text_column in [1, 2, 4] {
        right[text_column] = false;
    }
    let mut out = if rows.is_empty() {
        "No GPU can serve this target under the budget.\n".to_string()
    } else {
        markdown_table(header, &right, &rows)
    };
    if !sizing.ruled_out.is_empty() {
        out.push_str("\nRuled out:\n\n");
        for r in &sizing.ruled_out {
            let reasons: Vec<String> = r
                .reasons
                .iter()
                .map(|(p, tp, why)| format!("{p} TP{tp}: {why}"))
                .collect();
            let reasons = if reasons.is_empty() {
                "no supported precision among those asked".to_string()
            } else {
                reasons.join("; ")
            };
            out.push_str(&format!("- {}: {reasons}\n", r.gpu));
        }
    }
    out
}

/// CSV: the ranked deployments.
pub fn to_csv(shown: &[&Deployable]) -> String {
    let intervals = with_intervals(shown);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, d)| cells(i + 1, d, intervals))
        .collect();
    csv_table(header(intervals), &rows)
}

/// One JSON document: `deployable` (as shown) and `ruled_out`.
pub fn to_json(sizing: &Sizing, shown: &[&Deployable]) -> Result<String, serde_json::Error> {
    let doc = serde_json::json!({
        "plan_for": sizing.plan_for,
        "deployable": shown,
        "ruled_out": sizing.ruled_out,
    });
    serde_json::to_string_pretty(&doc)
}

/// Which of the shown GPUs borrow their efficiencies or use the global ones.
pub fn coverage_note(
    shown: &[&Deployable],
    coverage_of: impl Fn(&str) -> Option<Coverage>,
) -> String {
    let mut borrowed = Vec::new();
    let mut global = Vec::new();
    let mut gpus: Vec<&str> = shown.iter().map(|d| d.gpu.as_str()).collect();
    gpus.sort_unstable();
    gpus.dedup();
    for slug in gpus {
        let Some(coverage) = coverage_of(slug) else {
            continue;
        };
        match coverage {
            Coverage::Own => {}
            Coverage::Borrowed(arch) => borrowed.push(format!("{slug} ({arch})")),
            Coverage::Global => global.push(slug.to_string()),
        }
    }
    let mut note = String::new();
    if !borrowed.is_empty() {
        note.push_str(&format!(
            "No rows fitted for {}: their efficiencies are the mean of the fitted GPUs of the same architecture.\n",
            borrowed.join(", ")
        ));
    }
    if !global.is_empty() {
        note.push_str(&format!(
            "No rows fitted for {}, nor for their architecture: global efficiencies (in a calibration, the mean of every fitted GPU; uncalibrated, the literature defaults), so read their rows as rough.\n",
            global.join(", ")
        ));
    }
    note
}
