//! Prediction intervals as Markdown: how well a calibration's intervals covered rows held
//! out of the fit (per scope, at 50/80/95 %), and the discrepancy table they are drawn
//! from, each group as the factors its 80 % interval multiplies a prediction by.

use super::{markdown_table, sig};
use crate::interval::coverage::CoverageReport;
use crate::interval::{Confidence, DiscrepancyTable};

fn percent(share: f64) -> String {
    if share.is_finite() {
        sig(100.0 * share, 3)
    } else {
        "–".to_string()
    }
}

/// The coverage table: scope, rows, then the share covered and the median half-width at
/// each confidence.
pub fn coverage_markdown(c: &CoverageReport) -> String {
    if c.scopes.is_empty() {
        return format!(
            "No intervals: no fold had {} held-out residuals of other folds to draw them from.\n",
            crate::interval::MIN_CELL_ROWS
        );
    }
    let mut header: Vec<String> = vec!["scope".into(), "rows".into()];
    for conf in &c.confidences {
        header.push(format!("covered at {} %", (conf * 100.0).round()));
    }
    for conf in &c.confidences {
        header.push(format!("half-width at {} %", (conf * 100.0).round()));
    }
    let rows: Vec<Vec<String>> = c
        .scopes
        .iter()
        .map(|s| {
            let mut row = vec![s.scope.clone(), s.rows.to_string()];
            row.extend(s.covered.iter().map(|&x| percent(x)));
            row.extend(s.median_half_width.iter().map(|&x| percent(x)));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut right = vec![false];
    right.extend(std::iter::repeat_n(true, header.len() - 1));
    markdown_table(&header, &right, &rows)
}

/// `report.md`'s section: what the intervals are made of, their held-out coverage, and
/// the 80 % factors of every group of the table.
pub fn intervals_markdown(table: &DiscrepancyTable, coverage: &CoverageReport) -> String {
    let mut out = format!(
        "\n## Prediction intervals\n\n`predict` and `size` draw intervals from the {} held-out residuals ln(measured / predicted) of a `{}` cross-validation (each fold refitted without the rows it predicts), grouped by metric, load regime and where the GPU's efficiencies come from (split-conformal quantiles per group; a group needs {} rows).\n\n",
        table.rows,
        table.scheme,
        crate::interval::MIN_CELL_ROWS,
    );
    out.push_str(COVERAGE_LEAD);
    out.push_str(&coverage_markdown(coverage));
    out.push_str(&factors_markdown(table));
    out
}

/// What the coverage table measures.
const COVERAGE_LEAD: &str = "Coverage of rows held out of both the fit and the table (each fold's intervals come from the other folds' residuals), with the median half-width relative to the prediction, in percent:\n\n";

/// `report.md`'s section on the engine families held out: what an engine without fitted
/// rows takes where its ranges are wider, their coverage and their 80 % factors.
pub fn engine_intervals_markdown(table: &DiscrepancyTable, coverage: &CoverageReport) -> String {
    let mut out = format!(
        "\n### For an engine without fitted rows\n\nA prediction for an engine family the calibration has no rows of takes, group by group, the wider of the ranges above and those of the {} held-out residuals of an `engine` cross-validation, which refitted without each engine family in turn.\n\n",
        table.rows,
    );
    out.push_str(COVERAGE_LEAD);
    out.push_str(&coverage_markdown(coverage));
    out.push_str(&factors_markdown(table));
    out
}

/// Every group's 80 % interval as factors on the prediction.
fn factors_markdown(table: &DiscrepancyTable) -> String {
    let mut out =
        "\nThe 80 % interval of each group, as factors on the prediction:\n\n".to_string();
    let rows: Vec<Vec<String>> = table
        .cells()
        .iter()
        .map(|cell| {
            let (lo, hi) = cell.factors(Confidence::default());
            vec![
                cell.label(),
                cell.rows.to_string(),
                format!("{}×", sig(lo, 3)),
                format!("{}×", sig(hi, 3)),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &["group", "rows", "80 % low", "80 % high"],
        &[false, true, true, true],
        &rows,
    ));
    out
}
