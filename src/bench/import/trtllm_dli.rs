//! The TensorRT-LLM 0.9.0 static-batch table (NVIDIA DLI course data set): one run per
//! line with model, GPU, TP, PP, precision (`Mixed` = fp16), `Input/Output Lengths`,
//! batch size and results. Each run becomes three rows — `ttft_s` (first-token latency of
//! the whole batch), `itl_s` (token-to-token) and `output_tok_s` (the batch's output
//! tokens over the whole run, prefill included, as the schema means it: `Throughput`, not
//! `Generation Throughput`, which leaves the prefill out and so is the ITL again) —
//! and an empty result becomes `NA` with the note "did not complete": most such runs ran
//! out of memory, so they are feasibility observations.

use std::collections::HashMap;

use super::{Run, at, checked_record, keep, positive_int};
use crate::bench::{BenchRow, DataError, LineIndex, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

const SOURCE: &str = "trtllm-0.9.0-dli";
const ENGINE: &str = "trtllm-0.9.0";
const REQUIRED: [&str; 9] = [
    "Model",
    "GPU",
    "Precision",
    "Input/Output Lengths",
    "Tensor Model Parallel Size",
    "Pipeline Model Parallel Size",
    "Batch Size",
    "1st Token Latency (ms)",
    "Token-to-token Latency (ms)",
];
/// batch × output tokens / `Latency (ms)`, the whole run: checked against the table, it
/// is that to 0.03 % on all 2,790 completed runs, while `Generation Throughput` is
/// batch × output tokens / (latency − first-token latency).
const THROUGHPUT: &str = "Throughput (tokens / sec)";
/// `Yes` when the engine was built with generated weights instead of a checkpoint (every
/// run of the DLI table): decode of a mixture-of-experts model then reads one token's
/// experts however large the batch.
const FAKE_WEIGHTS: &str = "Use Fake Weight";

struct Record<'a> {
    file: &'a str,
    line: u64,
    fields: &'a csv::StringRecord,
    index: &'a HashMap<&'a str, usize>,
}

impl Record<'_> {
    fn text(&self, name: &str) -> &str {
        self.fields.get(self.index[name]).unwrap_or("").trim()
    }

    fn fail(&self, name: &str, message: String) -> DataError {
        at(
            self.file,
            self.line,
            self.index[name] + 1,
            format!("{name}: {message}"),
        )
    }

    fn positive_int(&self, name: &str) -> Result<u32, DataError> {
        positive_int(self.text(name)).map_err(|m| self.fail(name, m))
    }

    /// A result cell divided by `divisor` (1000 for ms → s): empty = did not complete;
    /// otherwise a positive number.
    fn result(&self, name: &str, divisor: f64) -> Result<Observed, DataError> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(Observed::NotAchievable);
        }
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| Observed::Value(v / divisor))
            .ok_or_else(|| {
                self.fail(
                    name,
                    format!("expected a positive number or an empty cell, found `{text}`"),
                )
            })
    }
}

fn header_index<'a>(
    file: &str,
    header: &'a csv::StringRecord,
) -> Result<HashMap<&'a str, usize>, DataError> {
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    for name in REQUIRED.iter().chain(std::iter::once(&THROUGHPUT)) {
        if !index.contains_key(name) {
            return Err(at(
                file,
                1,
                header.len() + 1,
                format!("missing column `{name}`"),
            ));
        }
    }
    Ok(index)
}

/// Converts the table in `text`.
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let lines = LineIndex::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| at(file, 1, 1, format!("not valid CSV: {e}")))?
        .clone();
    let index = header_index(file, &header)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let parsed =
            checked_record(file, &lines, record, header.len()).and_then(|(line, fields)| {
                run(
                    &Record {
                        file,
                        line,
                        fields: &fields,
                        index: &index,
                    },
                    catalog,
                )
            });
        if let Some(run_rows) = keep(parsed, &mut skipped)? {
            rows.extend(run_rows);
        }
    }
    Ok(rows)
}

/// `Input/Output Lengths`: `ISL,OSL`, both positive.
fn lengths(r: &Record<'_>) -> Result<(u32, u32), DataError> {
    let lengths = r.text("Input/Output Lengths");
    lengths
        .split_once(',')
        .and_then(|(i, o)| Some((i.trim().parse::<u32>().ok()?, o.trim().parse::<u32>().ok()?)))
        .filter(|(i, o)| *i > 0 && *o > 0)
        .ok_or_else(|| {
            r.fail(
                "Input/Output Lengths",
                format!("expected `ISL,OSL`, found `{lengths}`"),
            )
        })
}

fn run(r: &Record<'_>, catalog: &Catalog) -> Result<Vec<BenchRow>, DataError> {
    let model = catalog
        .model(r.text("Model"))
        .map_err(|e| r.fail("Model", e.to_string()))?;
    let gpu = catalog
        .gpu(r.text("GPU"))
        .map_err(|e| r.fail("GPU", e.to_string()))?;
    let precision = match r.text("Precision") {
        "Mixed" => Precision::Fp16,
        other => other
            .parse::<Precision>()
            .map_err(|e| r.fail("Precision", e.to_string()))?,
    };
    let (isl, osl) = lengths(r)?;
    let tp = r.positive_int("Tensor Model Parallel Size")?;
    let pp = r.positive_int("Pipeline Model Parallel Size")?;
    let batch_size = r.positive_int("Batch Size")?;
    let results = [
        (Metric::TtftS, r.result("1st Token Latency (ms)", 1000.0)?),
        (
            Metric::ItlS,
            r.result("Token-to-token Latency (ms)", 1000.0)?,
        ),
        (Metric::OutputTokS, r.result(THROUGHPUT, 1.0)?),
    ];
    let run = Run {
        source: SOURCE.to_string().into(),
        model: model.slug.clone().into(),
        gpu: gpu.slug.clone().into(),
        tp,
        pp,
        precision,
        engine: ENGINE.to_string().into(),
        isl,
        osl,
        condition: Condition::StaticBatch { batch_size },
        origin: Origin {
            file: r.file.to_string().into(),
            line: r.line,
        },
    };
    let note = |value: Observed| {
        if value == Observed::NotAchievable {
            "did not complete".to_string()
        } else {
            String::new()
        }
    };
    let synthetic_weights = match r.index.get(FAKE_WEIGHTS).map(|_| r.text(FAKE_WEIGHTS)) {
        None | Some("" | "No") => false,
        Some("Yes") => true,
        Some(other) => {
            return Err(r.fail(FAKE_WEIGHTS, format!("expected Yes or No, found `{other}`")));
        }
    };
    Ok(results
        .into_iter()
        .map(|(metric, value)| BenchRow {
            synthetic_weights,
            ..run.row(metric, Stat::Mean, value, note(value))
        })
        .collect())
}
