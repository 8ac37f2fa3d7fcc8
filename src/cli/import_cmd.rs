//! `infercal import`: convert benchmark-tool outputs into the project's schema, to stdout
//! or (atomically) to a file.

use anyhow::Result;
use infercal::bench::import::{Format, Overrides, import, to_csv};
use infercal::bench::{DataError, check_rows};
use infercal::catalog::Catalog;

use super::BadInput;
use super::args::ImportArgs;
use super::common::{positive, precision};
use super::output::write_atomic;

/// Converts every file; returns the CSV (or a one-line note when written to a file).
pub fn run(catalog: &Catalog, a: &ImportArgs) -> Result<String> {
    let format: Format = a.format.parse().map_err(BadInput)?;
    let overrides = Overrides {
        model: a.model.clone(),
        gpu: a.gpu.clone(),
        tp: a.tp,
        precision: a
            .precision
            .as_deref()
            .map(|p| precision("--precision", p))
            .transpose()?,
        engine: a.engine.clone(),
        concurrency: a
            .concurrency
            .map(|c| positive("--concurrency", c))
            .transpose()?,
    };
    let mut rows = Vec::new();
    for file in &a.files {
        let text = std::fs::read_to_string(file).map_err(|e| DataError::Io {
            path: file.clone(),
            message: e.to_string(),
        })?;
        rows.extend(import(format, file, &text, catalog, &overrides)?);
    }
    let csv = to_csv(&rows);
    match &a.output {
        None => Ok(csv),
        Some(path) => {
            write_atomic(path, csv.as_bytes())?;
            let na = rows.iter().filter(|r| r.value.value().is_none()).count();
            let flagged = check_rows(&rows).len();
            Ok(format!(
                "wrote {} rows ({na} NA, {flagged} flagged by check-data) to {}\n",
                rows.len(),
                path.display()
            ))
        }
    }
}
