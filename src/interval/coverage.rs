//! How well intervals cover rows they were not built from: every fold of a
//! cross-validation gets intervals from a table of the *other* folds' held-out residuals
//! (leave-one-fold-out, the CV+ construction), and the share of its rows inside them is
//! counted per scope with the intervals' median relative half-width. A table built from
//! the rows it judges would cover by construction; this one cannot.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Confidence, DiscrepancyTable, Key};
use crate::bench::BenchRow;

/// The confidences coverage is reported at.
pub const REPORTED: [f64; 3] = [0.5, 0.8, 0.95];

/// Coverage of one scope at each of [`REPORTED`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeCoverage {
    /// `all`, `source X`, `gpu X`, `metric X` or `level X`.
    pub scope: String,
    /// Rows with an interval.
    pub rows: usize,
    /// Share of rows inside their interval, per confidence.
    pub covered: Vec<f64>,
    /// Median of (hi − lo) / (2 · predicted), per confidence.
    pub median_half_width: Vec<f64>,
}

/// Leave-one-fold-out coverage over a cross-validation, scope by scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// The confidences, in column order.
    pub confidences: Vec<f64>,
    /// Overall first, then per source, GPU, metric and level.
    pub scopes: Vec<ScopeCoverage>,
}

/// One scope's counts: rows, rows covered per confidence, and which counted rows it holds
/// (their half-widths are stored once, not once per scope).
#[derive(Default)]
struct Tally {
    rows: usize,
    covered: [usize; REPORTED.len()],
    members: Vec<u32>,
}

/// One row's held-out error: its group, ln(measured / predicted) and the log spread its
/// parameters gave its prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOutError {
    /// The row's group.
    pub key: Key,
    /// ln(measured / predicted).
    pub residual: f64,
    /// The parameters' log standard deviation for the row's figure.
    pub log_sd: f64,
}

/// Coverage counted one row at a time, per scope (overall, source, GPU, metric, level).
#[derive(Default)]
pub struct CoverageTally {
    scopes: BTreeMap<(u8, String), Tally>,
    /// Each counted row's relative half-width at each reported confidence.
    half_widths: Vec<[f64; REPORTED.len()]>,
}

impl CoverageTally {
    /// Counts `row` (of group `key`, held-out ln(measured / predicted) `residual`, the
    /// parameters' log spread `log_sd`) against the intervals `table` draws at each
    /// reported confidence; a row the table has no group for is not counted.
    pub fn add(&mut self, table: &DiscrepancyTable, row: &BenchRow, held: HeldOutError) {
        let HeldOutError {
            key,
            residual,
            log_sd,
        } = held;
        let Some((cell, _)) = table.widest_cell(key) else {
            return;
        };
        let measured = residual.exp();
        let factors = REPORTED.map(|c| cell.widened_factors(Confidence(c), log_sd));
        let covered = factors.map(|(lo, hi)| usize::from(lo <= measured && measured <= hi));
        let member = self.half_widths.len() as u32;
        self.half_widths
            .push(factors.map(|(lo, hi)| (hi - lo) / 2.0));
        let scopes = [
            (0, "all".to_string()),
            (1, format!("source {}", row.source)),
            (2, format!("gpu {}", row.gpu)),
            (3, format!("metric {}", key.metric.as_str())),
            (4, format!("level {}", key.level.as_str())),
        ];
        for scope in scopes {
            let tally = self.scopes.entry(scope).or_default();
            tally.rows += 1;
            for (count, hit) in tally.covered.iter_mut().zip(covered) {
                *count += hit;
            }
            tally.members.push(member);
        }
    }

    /// The report of the rows counted.
    pub fn report(self) -> CoverageReport {
        let half_widths = &self.half_widths;
        let median_of = |members: &[u32], c: usize| {
            let widths: Vec<f64> = members
                .iter()
                .map(|&i| half_widths[i as usize][c])
                .collect();
            crate::stats::median(&widths).unwrap_or(f64::NAN)
        };
        CoverageReport {
            confidences: REPORTED.to_vec(),
            scopes: (self.scopes.into_iter())
                .map(|((_, scope), t)| ScopeCoverage {
                    scope,
                    rows: t.rows,
                    covered: (t.covered.iter())
                        .map(|&c| c as f64 / t.rows.max(1) as f64)
                        .collect(),
                    median_half_width: (0..REPORTED.len())
                        .map(|c| median_of(&t.members, c))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Each fold's table of the other folds' residuals, visited with each of the fold's rows
/// that has a held-out error (row index, error).
fn per_fold(
    fold_of_row: &[usize],
    residuals: &[Option<HeldOutError>],
    mut visit: impl FnMut(&DiscrepancyTable, usize, HeldOutError),
) {
    let folds = fold_of_row.iter().max().map_or(0, |&f| f + 1);
    for fold in 0..folds {
        let others: Vec<(Key, f64)> = residuals
            .iter()
            .zip(fold_of_row)
            .filter(|(_, f)| **f != fold)
            .filter_map(|(r, _)| r.map(|r| (r.key, r.residual)))
            .collect();
        let table = DiscrepancyTable::from_residuals("", &others);
        for (i, &f) in fold_of_row.iter().enumerate() {
            if f == fold
                && let Some(held) = residuals[i]
            {
                visit(&table, i, held);
            }
        }
    }
}

/// Coverage of `residuals` (per row: its held-out error, `None` without one) when each
/// fold's intervals come from the other folds' residuals.
pub fn leave_fold_out(
    rows: &[BenchRow],
    fold_of_row: &[usize],
    residuals: &[Option<HeldOutError>],
) -> CoverageReport {
    let mut tally = CoverageTally::default();
    per_fold(fold_of_row, residuals, |table, i, held| {
        tally.add(table, &rows[i], held)
    });
    tally.report()
}

/// Each row's interval factors (low, high) at `confidence` as [`leave_fold_out`] judges
/// them: from the other folds' residuals and the row's own parameter spread; `None` for a
/// row without a held-out error or a group.
pub fn leave_fold_out_factors(
    fold_of_row: &[usize],
    residuals: &[Option<HeldOutError>],
    confidence: Confidence,
) -> Vec<Option<(f64, f64)>> {
    let mut factors = vec![None; residuals.len()];
    per_fold(fold_of_row, residuals, |table, i, held| {
        factors[i] = (table.widest_cell(held.key))
            .map(|(cell, _)| cell.widened_factors(confidence, held.log_sd));
    });
    factors
}
