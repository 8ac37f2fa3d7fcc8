//! `infercal import`: convert benchmark-tool outputs into the project's schema, to stdout
//! or (atomically) to a file.

use anyhow::Result;
use infercal::bench::import::{Format, Overrides, import, import_skipping_bad, to_csv};
use infercal::bench::{BenchRow, DataError, check_rows, load_csv};
use infercal::catalog::Catalog;
use infercal::textfile::SourcePos;

use super::BadInput;
use super::args::ImportArgs;
use super::common::positive;
use super::output::write_atomic;

/// Converts every file; returns the CSV (or a one-line note when written to a file).
pub fn run(catalog: &Catalog, a: &ImportArgs) -> Result<String> {
    let format = a.format;
    let overrides = Overrides {
        model: a.model.clone(),
        gpu: a.gpu.clone(),
        tp: a.tp,
        precision: a.precision,
        engine: a.engine.clone(),
        concurrency: a
            .concurrency
            .map(|c| positive("--concurrency", c))
            .transpose()?,
    };
    refuse_overwriting_an_input(a)?;
    refuse_flags_the_format_records(format, a)?;
    let (rows, skipped) = convert_all(catalog, a, format, &overrides)?;
    let csv = to_csv(&rows);
    // The output passes check-data by construction: the loader that reads it back runs
    // here, before anything is written, and a refusal names the input the row came from.
    load_csv("imported rows", &csv, catalog).map_err(|e| located_in_input(e, &rows))?;
    for e in &skipped {
        eprintln!("skipped: {e}");
    }
    let skipped_note = if skipped.is_empty() {
        String::new()
    } else {
        format!(", {} skipped (listed on stderr)", skipped.len())
    };
    match &a.output {
        None => {
            if !skipped.is_empty() {
                eprintln!("{} values skipped", skipped.len());
            }
            Ok(csv)
        }
        Some(path) => {
            write_atomic(path, csv.as_bytes())?;
            let na = rows.iter().filter(|r| r.value.value().is_none()).count();
            let flagged = check_rows(&rows).len();
            Ok(format!(
                "wrote {} rows ({na} NA, {flagged} flagged by check-data{skipped_note}) to {}\n",
                rows.len(),
                path.display()
            ))
        }
    }
}

/// Every input converted: the rows, and what `--skip-bad` skipped.
fn convert_all(
    catalog: &Catalog,
    a: &ImportArgs,
    format: Format,
    overrides: &Overrides,
) -> Result<(Vec<BenchRow>, Vec<DataError>)> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for file in &a.files {
        let text =
            infercal::textfile::read(std::path::Path::new(file)).map_err(|e| DataError::Io {
                path: file.clone(),
                message: e.to_string(),
            })?;
        if a.skip_bad {
            let imported = import_skipping_bad(format, file, &text, catalog, overrides)?;
            rows.extend(imported.rows);
            skipped.extend(imported.skipped);
        } else {
            rows.extend(import(format, file, &text, catalog, overrides)?);
        }
    }
    Ok((rows, skipped))
}

/// Flags for facts a format records itself would be ignored: they are refused instead.
fn refuse_flags_the_format_records(format: Format, a: &ImportArgs) -> Result<()> {
    let given = [
        ("--model", a.model.is_some()),
        ("--gpu", a.gpu.is_some()),
        ("--tp", a.tp.is_some()),
        ("--precision", a.precision.is_some()),
        ("--engine", a.engine.is_some()),
        ("--concurrency", a.concurrency.is_some()),
    ];
    // The flags each format takes: what its files leave out (a vLLM result names its
    // model by a path or hub id, so --model may name the catalog's).
    let takes: &[&str] = match format {
        Format::GenaiPerf => &[
            "--model",
            "--gpu",
            "--tp",
            "--precision",
            "--engine",
            "--concurrency",
        ],
        Format::VllmBench | Format::SglangBench | Format::Llmperf => {
            &["--model", "--gpu", "--tp", "--precision", "--engine"]
        }
        Format::TrtllmPerfDoc => &["--engine"],
        Format::TrtllmBenchDli | Format::TrtllmPerfOverview | Format::ArgonneBench => &[],
    };
    match given
        .iter()
        .find(|(flag, set)| *set && !takes.contains(flag))
    {
        Some((flag, _)) => Err(BadInput(format!(
            "{flag} does not apply to {}: it records that in the file",
            a.format
        ))
        .into()),
        None => Ok(()),
    }
}

/// `-o` naming one of the inputs would replace the source with its conversion.
fn refuse_overwriting_an_input(a: &ImportArgs) -> Result<()> {
    let Some(out) = &a.output else {
        return Ok(());
    };
    let Ok(out) = std::fs::canonicalize(out) else {
        return Ok(()); // does not exist yet, so it is no input
    };
    for file in &a.files {
        if std::fs::canonicalize(file).is_ok_and(|f| f == out) {
            return Err(BadInput(format!(
                "-o {} is one of the inputs; write the conversion to another file",
                out.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// A refusal of converted row `line - 2` (after the header), moved to where the row
/// came from.
fn located_in_input(e: DataError, rows: &[BenchRow]) -> DataError {
    match e {
        DataError::At { at, message } => {
            let row = usize::try_from(at.line)
                .ok()
                .and_then(|l| l.checked_sub(2))
                .and_then(|i| rows.get(i));
            match row {
                Some(row) => DataError::At {
                    at: SourcePos::new(&row.origin.file, row.origin.line, 1),
                    message: format!("the converted row would be refused: {message}"),
                },
                None => DataError::At {
                    at: SourcePos { column: 1, ..at },
                    message,
                },
            }
        }
        other => other,
    }
}
