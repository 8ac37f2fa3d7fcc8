//! TensorRT-LLM's performance overview: maximum output tokens/s at saturating load per
//! model, GPU, TP, precision and ISL/OSL, as a transcribed CSV
//! (`model,gpu,tp,precision,isl,osl,output_tok_s,engine`, `#` comments for provenance;
//! numbers may carry thousands separators). Each line becomes one saturated `output_tok_s`
//! row.

use super::{Run, at, checked_record, keep};
use crate::bench::{BenchRow, DataError, LineIndex, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

const SOURCE: &str = "trtllm-perf-overview";
const HEADER: [&str; 8] = [
    "model",
    "gpu",
    "tp",
    "precision",
    "isl",
    "osl",
    "output_tok_s",
    "engine",
];

/// Converts the transcribed table in `text`.
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let lines = LineIndex::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| at(file, 1, 1, format!("not valid CSV: {e}")))?
        .clone();
    let header_line = lines.of(header.position());
    for (i, name) in HEADER.iter().enumerate() {
        if header.get(i).map(str::trim) != Some(*name) {
            return Err(at(
                file,
                header_line,
                i + 1,
                format!(
                    "expected column `{name}` (the header is {})",
                    HEADER.join(",")
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let row = checked_record(file, &lines, record, HEADER.len())
            .and_then(|(line, r)| parse_record(file, line, &r, catalog));
        if let Some(row) = keep(row, &mut skipped)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// `"1,916.33"` → 1916.33, when positive and finite.
fn positive(text: &str) -> Option<f64> {
    text.replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// One table row as a benchmark row.
fn parse_record(
    file: &str,
    line: u64,
    r: &csv::StringRecord,
    catalog: &Catalog,
) -> Result<BenchRow, DataError> {
    let field = |i: usize| r.get(i).unwrap_or("").trim();
    let fail = |i: usize, what: &str| {
        at(
            file,
            line,
            i + 1,
            format!("{}: expected {what}, found `{}`", HEADER[i], field(i)),
        )
    };
    let int = |i: usize| {
        field(i)
            .replace(',', "")
            .parse::<u32>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| fail(i, "a positive integer"))
    };
    let model = catalog
        .model(field(0))
        .map_err(|e| at(file, line, 1, e.to_string()))?;
    let gpu = catalog
        .gpu(field(1))
        .map_err(|e| at(file, line, 2, e.to_string()))?;
    let precision = field(3)
        .parse::<Precision>()
        .map_err(|e| at(file, line, 4, e.to_string()))?;
    let value = positive(field(6)).ok_or_else(|| fail(6, "a positive number"))?;
    let run = Run {
        source: SOURCE.to_string().into(),
        model: model.slug.clone().into(),
        gpu: gpu.slug.clone().into(),
        tp: int(2)?,
        pp: 1,
        precision,
        engine: field(7).to_string().into(),
        isl: int(4)?,
        osl: int(5)?,
        condition: Condition::Saturated,
        origin: Origin {
            file: file.to_string().into(),
            line,
        },
    };
    Ok(run.row(
        Metric::OutputTokS,
        Stat::Mean,
        Observed::Value(value),
        String::new(),
    ))
}
