//! `infercal check-data`: load benchmark files, count rows, flag inconsistent ones.

use anyhow::Result;
use infercal::bench::{Observed, check_rows, load_file};
use infercal::catalog::Catalog;

use super::Report;
use super::args::CheckDataArgs;

/// Loads every file (the first bad one stops with its located error), then reports the
/// consistency findings across all of them.
pub fn check(catalog: &Catalog, args: &CheckDataArgs) -> Result<Report> {
    let mut out = String::new();
    let mut all = Vec::new();
    for file in &args.files {
        let rows = load_file(file, catalog)?;
        let na = rows
            .iter()
            .filter(|r| r.value == Observed::NotAchievable)
            .count();
        out.push_str(&format!("{file}: {} rows ({na} NA)\n", rows.len()));
        all.extend(rows);
    }
    let findings = check_rows(&all);
    for f in &findings {
        out.push_str(&format!("{}: flagged: {}\n", f.origin, f.message));
    }
    out.push_str(&format!("{} rows, {} flagged\n", all.len(), findings.len()));
    Ok(Report {
        stdout: out,
        failed: args.strict && !findings.is_empty(),
    })
}
