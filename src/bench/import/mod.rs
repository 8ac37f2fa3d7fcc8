//! Importers: benchmark-tool outputs in their original formats converted into the tidy
//! schema. Each format is one module: `trtllm_dli` (the TensorRT-LLM 0.9.0 static-batch
//! table), `genai_perf` (GenAI-Perf `profile_export_genai_perf` CSV and JSON),
//! `perf_overview` (TensorRT-LLM's published max-throughput table), `vllm_bench`
//! (`vllm bench serve --save-result` JSON), `sglang_bench` (`sglang.bench_serving`
//! JSONL, read in SGLang's dialect of vLLM's layout) and `llmperf` (LLMPerf
//! `*_summary.json`). Fields a format does
//! not record come from [`Overrides`]; a missing one is an error naming the flag. Every
//! rejection names the file, and for tables the line, column and what was expected.

pub mod argonne;
pub mod genai_perf;
pub mod llmperf;
pub mod perf_doc;
pub mod perf_overview;
pub mod sglang_bench;
pub mod trtllm_dli;
pub mod vllm_bench;

use std::str::FromStr;

use super::{BenchRow, COLUMNS, DataError, Name, OPTIONAL_COLUMNS};
use crate::catalog::Catalog;
use crate::format::{UnknownChoice, csv_table, exact_or_na};
use crate::precision::Precision;
use crate::textfile::SourcePos;

/// The formats `infercal import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TensorRT-LLM 0.9.0 static-batch benchmark table (NVIDIA DLI data set).
    TrtllmBenchDli,
    /// GenAI-Perf `profile_export_genai_perf.csv` or `.json`.
    GenaiPerf,
    /// TensorRT-LLM performance-overview table: max-load output tok/s.
    TrtllmPerfOverview,
    /// `vllm bench serve --save-result` (or `benchmark_serving.py --save-result`) JSON.
    VllmBench,
    /// LLM-Inference-Bench (Argonne) result tables (`Plots/*.csv`).
    ArgonneBench,
    /// TensorRT-LLM's `perf-overview.md` page, as Markdown.
    TrtllmPerfDoc,
    /// `python -m sglang.bench_serving --output-file` JSONL.
    SglangBench,
    /// LLMPerf `token_benchmark_ray.py` `*_summary.json`.
    Llmperf,
}

impl Format {
    /// The name `infercal import` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::TrtllmBenchDli => "trtllm-bench-dli",
            Format::GenaiPerf => "genai-perf",
            Format::TrtllmPerfOverview => "trtllm-perf-overview",
            Format::VllmBench => "vllm-bench",
            Format::ArgonneBench => "argonne-llm-inference-bench",
            Format::TrtllmPerfDoc => "trtllm-perf-doc",
            Format::SglangBench => "sglang-bench",
            Format::Llmperf => "llmperf",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trtllm-bench-dli" => Ok(Format::TrtllmBenchDli),
            "genai-perf" => Ok(Format::GenaiPerf),
            "trtllm-perf-overview" => Ok(Format::TrtllmPerfOverview),
            "vllm-bench" => Ok(Format::VllmBench),
            "argonne-llm-inference-bench" => Ok(Format::ArgonneBench),
            "trtllm-perf-doc" => Ok(Format::TrtllmPerfDoc),
            "sglang-bench" => Ok(Format::SglangBench),
            "llmperf" => Ok(Format::Llmperf),
            other => Err(UnknownChoice {
                what: "format",
                given: other.to_string(),
                expected: "expected trtllm-bench-dli, genai-perf, trtllm-perf-overview, \
                           trtllm-perf-doc, vllm-bench, sglang-bench, llmperf or \
                           argonne-llm-inference-bench"
                    .to_string(),
            }),
        }
    }
}

/// Values the user supplies for what a file does not record.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Model name (any alias).
    pub model: Option<String>,
    /// GPU name (any alias).
    pub gpu: Option<String>,
    /// Tensor-parallel degree.
    pub tp: Option<u32>,
    /// Weight precision.
    pub precision: Option<Precision>,
    /// Serving engine.
    pub engine: Option<String>,
    /// Closed-loop concurrency (GenAI-Perf CSV exports do not record it).
    pub concurrency: Option<f64>,
}

/// Converts `text` (from `file`) in `format` into rows; the first value that cannot be
/// imported is an error naming file, line and field.
pub fn import(
    format: Format,
    file: &str,
    text: &str,
    catalog: &Catalog,
    overrides: &Overrides,
) -> Result<Vec<BenchRow>, DataError> {
    convert(format, file, text, catalog, overrides, None)
}

/// What a lenient import kept, and what it skipped (each with its place and reason).
#[derive(Debug, Default)]
pub struct Imported {
    /// Rows converted.
    pub rows: Vec<BenchRow>,
    /// Records or values that could not be imported.
    pub skipped: Vec<DataError>,
}

/// Like [`import`], but a record or value that cannot be imported is skipped and listed
/// instead of ending the import (`infercal import --skip-bad`). Structural problems (not
/// the format, a missing header, a missing flag) are still errors.
pub fn import_skipping_bad(
    format: Format,
    file: &str,
    text: &str,
    catalog: &Catalog,
    overrides: &Overrides,
) -> Result<Imported, DataError> {
    let mut skipped = Vec::new();
    let rows = convert(format, file, text, catalog, overrides, Some(&mut skipped))?;
    Ok(Imported { rows, skipped })
}

fn convert(
    format: Format,
    file: &str,
    text: &str,
    catalog: &Catalog,
    overrides: &Overrides,
    skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    match format {
        Format::TrtllmBenchDli => trtllm_dli::import(file, text, catalog, skipped),
        Format::GenaiPerf => genai_perf::import(file, text, catalog, overrides, skipped),
        Format::TrtllmPerfOverview => perf_overview::import(file, text, catalog, skipped),
        Format::VllmBench => vllm_bench::import(file, text, catalog, overrides, skipped),
        Format::SglangBench => sglang_bench::import(file, text, catalog, overrides, skipped),
        Format::Llmperf => llmperf::import(file, text, catalog, overrides, skipped),
        Format::ArgonneBench => argonne::import(file, text, catalog, skipped),
        Format::TrtllmPerfDoc => perf_doc::import(file, text, catalog, overrides, skipped),
    }
}

/// The value of `result`; or, when bad values are being skipped, `None` with the error
/// recorded.
pub(crate) fn keep<T>(
    result: Result<T, DataError>,
    skipped: &mut Option<&mut Vec<DataError>>,
) -> Result<Option<T>, DataError> {
    match (result, skipped) {
        (Ok(value), _) => Ok(Some(value)),
        (Err(e), Some(list)) => {
            list.push(e);
            Ok(None)
        }
        (Err(e), None) => Err(e),
    }
}

/// What every row of one measured run shares: all but the metric, statistic, value and note.
pub(crate) struct Run {
    pub(crate) source: Name,
    pub(crate) model: Name,
    pub(crate) gpu: Name,
    pub(crate) tp: u32,
    pub(crate) pp: u32,
    pub(crate) precision: Precision,
    pub(crate) engine: Name,
    pub(crate) isl: u32,
    pub(crate) osl: u32,
    pub(crate) condition: crate::scenario::Condition,
    pub(crate) origin: super::Origin,
}

impl Run {
    /// One observation of this run.
    pub(crate) fn row(
        &self,
        metric: super::Metric,
        stat: crate::scenario::Stat,
        value: super::Observed,
        note: String,
    ) -> BenchRow {
        BenchRow {
            source: self.source.clone(),
            model: self.model.clone(),
            gpu: self.gpu.clone(),
            tp: Some(self.tp),
            pp: Some(self.pp),
            precision: Some(self.precision),
            engine: self.engine.clone(),
            isl: self.isl,
            osl: self.osl,
            condition: self.condition,
            metric,
            stat,
            value,
            note: note.into(),
            synthetic_weights: false,
            origin: self.origin.clone(),
        }
    }
}

/// A record of a table with `expected` fields and its line, or the located reason not.
pub(crate) fn checked_record(
    file: &str,
    lines: &super::LineIndex,
    record: csv::Result<csv::StringRecord>,
    expected: usize,
) -> Result<(u64, csv::StringRecord), DataError> {
    let record = record.map_err(|e| csv_error(file, lines, &e))?;
    let line = lines.of(record.position());
    if record.len() != expected {
        return Err(at(
            file,
            line,
            record.len().min(expected) + 1,
            format!("expected {expected} fields, found {}", record.len()),
        ));
    }
    Ok((line, record))
}

/// A CSV reader's error, at its line.
pub(crate) fn csv_error(file: &str, lines: &super::LineIndex, e: &csv::Error) -> DataError {
    at(
        file,
        lines.of(e.position()),
        1,
        format!("not valid CSV: {e}"),
    )
}

/// `text` as a whole number of at least 1, or what was expected and found.
pub(crate) fn positive_int(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("expected a positive integer, found `{text}`"))
}

/// A token count from an export: a whole number of tokens from 1 to `u32::MAX`. Nothing
/// is clamped: an impossible length is an error.
pub(crate) fn token_count(file: &str, what: &str, v: f64) -> Result<u32, DataError> {
    let rounded = v.round();
    if v.is_finite() && (1.0..=f64::from(u32::MAX)).contains(&rounded) {
        Ok(rounded as u32)
    } else {
        Err(at(
            file,
            1,
            1,
            format!(
                "{what}: expected a token count from 1 to {}, found {v}",
                u32::MAX
            ),
        ))
    }
}

/// `value`, or the error that `flag` is required because of `reason` (what the format
/// does not record).
pub(crate) fn required<T>(
    value: Option<T>,
    file: &str,
    flag: &str,
    reason: &str,
) -> Result<T, DataError> {
    value.ok_or_else(|| at(file, 1, 1, format!("{flag} is required: {reason}")))
}

/// The GPU, TP and precision of runs in files of `format`, which record none of them
/// (`recorded_tp` when the file does record the TP): from the flags, each missing one an
/// error naming it.
pub(crate) fn deployment_from_flags<'c>(
    format: &str,
    file: &str,
    o: &Overrides,
    recorded_tp: Option<u32>,
    catalog: &'c Catalog,
) -> Result<(&'c crate::catalog::Gpu, u32, Precision), DataError> {
    let not_recorded = |what: &str| format!("{format} do not record {what}");
    let gpu = catalog
        .gpu(&required(
            o.gpu.clone(),
            file,
            "--gpu",
            &not_recorded("the GPU"),
        )?)
        .map_err(|e| at(file, 1, 1, e.to_string()))?;
    let tp = required(
        o.tp.or(recorded_tp),
        file,
        "--tp",
        &not_recorded("the tensor-parallel degree"),
    )?;
    let precision = required(
        o.precision,
        file,
        "--precision",
        &not_recorded("the precision"),
    )?;
    Ok((gpu, tp, precision))
}

/// A JSON parser's error, at its line and column of `file`.
pub(crate) fn json_error(file: &str, e: &serde_json::Error) -> DataError {
    at(
        file,
        e.line() as u64,
        e.column(),
        format!("not valid JSON: {e}"),
    )
}

/// An error at a place in a file.
pub(crate) fn at(file: &str, line: u64, column: usize, message: impl Into<String>) -> DataError {
    DataError::At {
        at: SourcePos::new(file, line, column),
        message: message.into(),
    }
}

/// Rows in the project's schema, as CSV text (what `load_csv` reads back). The optional
/// `weights` column is written only when a row served synthetic weights.
pub fn to_csv(rows: &[BenchRow]) -> String {
    let opt = |x: Option<u32>| x.map_or(String::new(), |v| v.to_string());
    let with_weights = rows.iter().any(|r| r.synthetic_weights);
    let records: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (batch, clients, budget, target) = match r.condition {
                crate::scenario::Condition::StaticBatch { batch_size } => (
                    batch_size.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                ),
                crate::scenario::Condition::Concurrency { clients } => (
                    String::new(),
                    clients.to_string(),
                    String::new(),
                    String::new(),
                ),
                crate::scenario::Condition::TtftBudget {
                    budget_s,
                    target_rps,
                    ..
                } => (
                    String::new(),
                    String::new(),
                    budget_s.to_string(),
                    target_rps.map_or(String::new(), |t| t.to_string()),
                ),
                // An open-loop run's arrival rate is its offered request rate.
                crate::scenario::Condition::ArrivalRate { rps } => {
                    (String::new(), String::new(), String::new(), rps.to_string())
                }
                crate::scenario::Condition::Saturated => Default::default(),
            };
            let mut record = vec![
                r.source.to_string(),
                r.model.to_string(),
                r.gpu.to_string(),
                opt(r.tp),
                opt(r.pp),
                r.precision.map_or(String::new(), |p| p.to_string()),
                r.engine.to_string(),
                r.isl.to_string(),
                r.osl.to_string(),
                batch,
                clients,
                budget,
                target,
                r.metric.to_string(),
                r.stat.to_string(),
                exact_or_na(r.value.value()),
                r.note.to_string(),
            ];
            if with_weights {
                let weights = if r.synthetic_weights { "synthetic" } else { "" };
                record.push(weights.to_string());
            }
            record
        })
        .collect();
    let mut header = COLUMNS.to_vec();
    if with_weights {
        header.extend(OPTIONAL_COLUMNS);
    }
    csv_table(&header, &records)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod public_tests;
