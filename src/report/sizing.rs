//! Rendering of a sizing: ranked deployments and the GPUs ruled out, with reasons.

use super::{csv_table, markdown_table, sig};
use crate::interval::Confidence;
use crate::perf::params::Coverage;
use crate::prices::Prices;
use crate::size::{Deployable, PlanFor, Sizing};

const HEADER: [&str; 13] = [
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
    "batch",
    "binding",
];

const COST_HEADER: [&str; 2] = ["usd_per_hour", "usd_per_m_tokens"];

const INTERVAL_HEADER: [&str; 3] = ["gpus_lo", "gpus_hi", "p_meets_budget"];

/// The optional column groups a table shows.
#[derive(Clone, Copy)]
struct Columns {
    /// Costs: when the sizing ranks by cost.
    costs: bool,
    /// Intervals: when any shown deployment has them.
    intervals: bool,
    /// The chance of meeting an ITL budget: when one was set and there are intervals.
    itl_chance: bool,
}

impl Columns {
    fn of(sizing: &Sizing, shown: &[&Deployable]) -> Columns {
        Columns {
            costs: sizing.by_cost,
            intervals: shown.iter().any(|d| d.gpus_interval.is_some()),
            itl_chance: shown.iter().any(|d| d.meets_itl_budget.is_some()),
        }
    }

    fn header(self) -> Vec<&'static str> {
        let mut header = HEADER.to_vec();
        if self.costs {
            header.extend(COST_HEADER);
        }
        if self.intervals {
            header.extend(INTERVAL_HEADER);
        }
        if self.itl_chance {
            header.push("p_meets_itl");
        }
        header
    }
}

fn cells(rank: usize, d: &Deployable, columns: Columns) -> Vec<String> {
    let absent = || "-".to_string();
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
        sig(d.running_batch, 3),
        d.binding.to_string(),
    ];
    if columns.costs {
        cells.extend([
            d.usd_per_hour
                .map_or_else(absent, |usd| format!("{usd:.2}")),
            d.usd_per_million_tokens
                .map_or_else(absent, |usd| format!("{usd:.3}")),
        ]);
    }
    if columns.intervals {
        let (lo, hi) = d.gpus_interval.unwrap_or((f64::NAN, f64::NAN));
        cells.extend([
            sig(lo, 4),
            sig(hi, 4),
            d.meets_budget.map_or_else(absent, |p| sig(p, 2)),
        ]);
    }
    if columns.itl_chance {
        cells.push(d.meets_itl_budget.map_or_else(absent, |p| sig(p, 2)));
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
            "Planned for the predicted figures: each deployment runs at the largest load whose predicted figures meet the budgets (TTFT {budget_s} s), so the binding one sits on its edge and is met about half the time; p_meets_budget (TTFT) and p_meets_itl are the chances the measured values stay within their budgets, from held-out errors; gpus_lo–gpus_hi is the {confidence} interval on gpus_for_target. `--plan-for upper` sizes for the interval's pessimistic end.\n"
        ),
        PlanFor::Upper => format!(
            "Planned for the upper end of the {confidence} intervals (--plan-for upper): each deployment runs at the largest load whose upper bounds meet the budgets (TTFT {budget_s} s), and its GPUs serve the target at the lower bound of throughput per GPU; ranked by those GPUs. gpus_lo–gpus_hi is the interval on the GPUs predicted at that load.\n"
        ),
    }
}

/// Markdown: the ranked deployments, then the GPUs ruled out.
pub fn to_markdown(sizing: &Sizing, shown: &[&Deployable]) -> String {
    let columns = Columns::of(sizing, shown);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, d)| cells(i + 1, d, columns))
        .collect();
    let header = columns.header();
    let mut right = vec![true; header.len()];
    for text_column in [1, 2, 4, 12] {
        right[text_column] = false;
    }
    let mut out = if rows.is_empty() {
        "No GPU can serve this target under the budget.\n".to_string()
    } else {
        markdown_table(&header, &right, &rows)
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

/// CSV: the ranked deployments; with intervals, a last column says which figures the GPU
/// counts were planned for (`point` or `upper`), since a CSV carries no note.
pub fn to_csv(sizing: &Sizing, shown: &[&Deployable]) -> String {
    let columns = Columns::of(sizing, shown);
    let plan_for = columns.intervals.then_some(sizing.plan_for.as_str());
    let rows: Vec<Vec<String>> = (shown.iter().enumerate())
        .map(|(i, d)| {
            let mut row = cells(i + 1, d, columns);
            row.extend(plan_for.map(str::to_string));
            row
        })
        .collect();
    let mut header = columns.header();
    header.extend(plan_for.map(|_| "plan_for"));
    csv_table(&header, &rows)
}

/// Where the prices come from, how the costs are figured, and the shown GPUs without one.
pub fn cost_note(prices: &Prices, shown: &[&Deployable]) -> String {
    let mut unpriced: Vec<&str> = shown
        .iter()
        .filter(|d| d.usd_per_hour.is_none())
        .map(|d| d.gpu.as_str())
        .collect();
    unpriced.sort_unstable();
    unpriced.dedup();
    let mut note = format!(
        "{}. Ranked by cost: usd_per_hour is the whole GPUs at their hourly price; usd_per_m_tokens is that hour's cost over the output tokens the target rate produces in it.\n",
        prices.provenance()
    );
    if !unpriced.is_empty() {
        note.push_str(&format!(
            "No price for {}: ranked after the priced GPUs.\n",
            unpriced.join(", ")
        ));
    }
    note
}

/// One JSON document: `deployable` (as shown) and `ruled_out`.
pub fn to_json(sizing: &Sizing, shown: &[&Deployable]) -> Result<String, serde_json::Error> {
    let doc = serde_json::json!({
        "plan_for": sizing.plan_for,
        "ranked_by": if sizing.by_cost { "cost" } else { "gpus" },
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
