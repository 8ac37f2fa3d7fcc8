//! Rendering of a sizing: ranked deployments and the GPUs ruled out, with reasons.

use super::{csv_table, markdown_table, sig};
use crate::perf::params::Coverage;
use crate::size::{Deployable, Sizing};

const HEADER: [&str; 11] = [
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
];

fn cells(rank: usize, d: &Deployable) -> Vec<String> {
    vec![
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
    ]
}

/// Markdown: the ranked deployments, then the GPUs ruled out.
pub fn to_markdown(sizing: &Sizing, shown: &[&Deployable]) -> String {
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, d)| cells(i + 1, d))
        .collect();
    let right = [
        true, false, false, true, false, true, true, true, true, true, true,
    ];
    let mut out = if rows.is_empty() {
        "No GPU can serve this target under the budget.\n".to_string()
    } else {
        markdown_table(&HEADER, &right, &rows)
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
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, d)| cells(i + 1, d))
        .collect();
    csv_table(&HEADER, &rows)
}

/// One JSON document: `deployable` (as shown) and `ruled_out`.
pub fn to_json(sizing: &Sizing, shown: &[&Deployable]) -> Result<String, serde_json::Error> {
    let doc = serde_json::json!({ "deployable": shown, "ruled_out": sizing.ruled_out });
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
