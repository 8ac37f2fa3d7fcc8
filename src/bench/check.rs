//! Consistency checks across rows that parse individually but disagree with each other:
//! a rate and a GPU count for the same cell that imply different rates, a cell that is
//! `NA` in one metric and a number in another, percentiles out of order, end-to-end
//! latency below TTFT, and duplicates with different values. Findings flag; they never
//! drop or change a row.

use serde::Serialize;

use super::{BenchRow, Metric, Observed, Origin};
use crate::scenario::{Condition, Stat};

/// Relative disagreement above which two views of the same rate are flagged. Charts
/// round to two or three significant figures, which stays well below this.
const RATE_TOLERANCE: f64 = 0.05;

/// One inconsistency, anchored at the row it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The row flagged.
    pub origin: Origin,
    /// What disagrees, with the numbers.
    pub message: String,
}

/// Everything that identifies a measured cell except the metric and statistic. It
/// borrows the row's names: building a key allocates nothing, so checking two million rows
/// costs their keys' pointers, not copies of their text.
type CellKey<'r> = (
    &'r str,
    &'r str,
    &'r str,
    Option<u8>,
    &'r str,
    Option<u32>,
    Option<u32>,
    u32,
    u32,
    (u8, u64),
);

fn cell_key(row: &BenchRow) -> CellKey<'_> {
    (
        &row.source,
        &row.model,
        &row.gpu,
        row.precision.map(|p| p as u8),
        &row.engine,
        row.tp,
        row.pp,
        row.isl,
        row.osl,
        row.condition.cell_key(),
    )
}

/// Runs every check over `rows` and returns the findings in row order.
pub fn check_rows(rows: &[BenchRow]) -> Vec<Finding> {
    // Rows sorted by cell (stable, so file order within a cell) and walked cell by cell:
    // one pointer per row, where a map of keys to row lists cost more than the rows.
    let mut sorted: Vec<&BenchRow> = rows.iter().collect();
    sorted.sort_by(|a, b| cell_key(a).cmp(&cell_key(b)));
    let mut findings = Vec::new();
    for cell in sorted.chunk_by(|a, b| cell_key(a) == cell_key(b)) {
        check_rate_pair(cell, &mut findings);
        check_duplicates(cell, &mut findings);
        check_percentile_order(cell, &mut findings);
        check_e2e_above_ttft(cell, &mut findings);
    }
    findings.sort_by(|a, b| (&a.origin.file, a.origin.line).cmp(&(&b.origin.file, b.origin.line)));
    findings
}

fn find(cell: &[&BenchRow], metric: Metric, stat: Stat) -> Option<BenchRow> {
    cell.iter()
        .find(|r| r.metric == metric && r.stat == stat)
        .map(|r| (*r).clone())
}

fn check_rate_pair(cell: &[&BenchRow], findings: &mut Vec<Finding>) {
    let (Some(rate), Some(gpus)) = (
        find(cell, Metric::ReqPerSPerGpu, Stat::Mean),
        find(cell, Metric::GpusForTarget, Stat::Mean),
    ) else {
        return;
    };
    let Condition::TtftBudget {
        target_rps: Some(target),
        ..
    } = gpus.condition
    else {
        return;
    };
    match (rate.value, gpus.value) {
        (Observed::Value(r), Observed::Value(g)) => {
            let implied = target / g;
            if (implied - r).abs() / r > RATE_TOLERANCE {
                findings.push(Finding {
                    origin: rate.origin.clone(),
                    message: format!(
                        "req_per_s_per_gpu = {r} but {target}/gpus_for_target = {target}/{g} = {implied:.3} \
                         ({:+.1} %); both values kept (line {})",
                        100.0 * (implied - r) / r,
                        gpus.origin.line
                    ),
                });
            }
        }
        (Observed::NotAchievable, Observed::NotAchievable) => {}
        _ => findings.push(Finding {
            origin: rate.origin.clone(),
            message: format!(
                "req_per_s_per_gpu and gpus_for_target (line {}) disagree on feasibility: one is NA",
                gpus.origin.line
            ),
        }),
    }
}

fn check_duplicates(cell: &[&BenchRow], findings: &mut Vec<Finding>) {
    for (i, a) in cell.iter().enumerate() {
        if let Some(b) = cell[..i]
            .iter()
            .find(|b| b.metric == a.metric && b.stat == a.stat)
        {
            findings.push(Finding {
                origin: a.origin.clone(),
                message: format!(
                    "duplicate {} {} observation (first at line {}): {:?} vs {:?}",
                    a.metric, a.stat, b.origin.line, b.value, a.value
                ),
            });
        }
    }
}

fn check_percentile_order(cell: &[&BenchRow], findings: &mut Vec<Finding>) {
    for metric in [Metric::TtftS, Metric::ItlS, Metric::E2eS] {
        let mut previous: Option<(Stat, f64)> = None;
        for stat in [Stat::P50, Stat::P90, Stat::P95, Stat::P99] {
            let Some(row) = find(cell, metric, stat) else {
                continue;
            };
            let Some(value) = row.value.value() else {
                continue;
            };
            if let Some((lower, lower_value)) = previous
                && value < lower_value
            {
                findings.push(Finding {
                    origin: row.origin.clone(),
                    message: format!("{metric} {stat} = {value} is below {lower} = {lower_value}"),
                });
            }
            previous = Some((stat, value));
        }
    }
}

fn check_e2e_above_ttft(cell: &[&BenchRow], findings: &mut Vec<Finding>) {
    for stat in Stat::ALL {
        let (Some(ttft), Some(e2e)) = (
            find(cell, Metric::TtftS, stat),
            find(cell, Metric::E2eS, stat),
        ) else {
            continue;
        };
        if let (Some(t), Some(e)) = (ttft.value.value(), e2e.value.value())
            && e < t
        {
            findings.push(Finding {
                origin: e2e.origin.clone(),
                message: format!(
                    "e2e_s {stat} = {e} is below ttft_s {stat} = {t} (line {})",
                    ttft.origin.line
                ),
            });
        }
    }
}
