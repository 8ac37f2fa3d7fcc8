//! `infercal check-data`: load benchmark files, count rows, flag inconsistent ones.

use anyhow::Result;
use infercal::bench::{Observed, check_rows, load_file_into};
use infercal::catalog::Catalog;

use super::CommandOutput;
use super::args::CheckDataArgs;

/// Flagged rows listed without `--rows`: enough to see what is wrong, never a flood.
const SHOWN_FINDINGS: usize = 20;

/// Loads every file (the first bad one stops with its located error), then reports the
/// consistency findings across all of them.
pub fn check(catalog: &Catalog, args: &CheckDataArgs) -> Result<CommandOutput> {
    let mut out = String::new();
    let mut all = Vec::new();
    for file in &args.files {
        let added = load_file_into(file, catalog, &mut all)?;
        let na = all[all.len() - added..]
            .iter()
            .filter(|r| r.value == Observed::NotAchievable)
            .count();
        out.push_str(&format!("{file}: {added} rows ({na} NA)\n"));
    }
    let findings = check_rows(&all);
    let shown = if args.rows {
        findings.len()
    } else {
        findings.len().min(SHOWN_FINDINGS)
    };
    for f in &findings[..shown] {
        out.push_str(&format!("{}: flagged: {}\n", f.origin, f.message));
    }
    if shown < findings.len() {
        out.push_str(&format!(
            "... and {} more flagged rows (--rows lists them all)\n",
            findings.len() - shown
        ));
    }
    out.push_str(&format!("{} rows, {} flagged\n", all.len(), findings.len()));
    Ok(CommandOutput {
        stdout: out,
        code: u8::from(args.strict && !findings.is_empty()),
    })
}
