//! LLM-Inference-Bench (Argonne) result tables: offline static batches of `Batch Size`
//! prompts, each `Input Output Length` tokens in and out (`ignore_eos`), timed as a whole.
//! Four layouts, told apart by their header: the main sweep (`All_results.csv`), the
//! TP/PP/EP study (`TP_PP_Results.csv`, a `Parallelism Type` column), the quantisation
//! study (`quant_all_results.csv`, a `kv_cache_dtype` cell with an unquoted comma) and the
//! first-token runs (`all_results_TTFT_ITL.csv`, output length 1). A run becomes one
//! `e2e_s` row (the published `Latency`, mean wall time of the batch) or, in the TTFT
//! table, one `ttft_s` row. The published `Throughput` is batch × (ISL + OSL) / latency,
//! the same number again, so it is not a second observation.
//!
//! llama.cpp runs are one sequence (`llama-bench -b B`: B is the prompt chunk, not a
//! batch) with the layers split over the GPUs: batch 1, TP 1, PP = GPUs. Only runs with
//! B ≥ 64 are imported: smaller chunks multiply the prefill passes, which has no column.
//!
//! ## References
//! - argonne-lcf/LLM-Inference-Bench @4211f5d (BSD-3-Clause): `Plots/*.csv` and the
//!   framework scripts that wrote them (`vLLM/*/benchmark_throughput.py`,
//!   `Deepspeed-MII/Gaudi2/run-throughput-bench.sh`).
//! - ALCF Polaris hardware overview (docs.alcf.anl.gov/polaris/hardware-overview): the
//!   laboratory's A100 system, four A100 40 GB SXM4 per node on NVLink; the runs never
//!   use more than four A100s.

use super::{Run, at, csv_error, keep, positive_int};
use crate::bench::{BenchRow, DataError, LineIndex, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

const SOURCE: &str = "argonne-llm-inference-bench";
/// The smallest llama.cpp prompt chunk (`n_batch`) whose runs are imported.
const LLAMA_CPP_MIN_CHUNK: u32 = 64;
const FIRST: [&str; 4] = ["Hardware", "Num of Hardware", "Framework", "Model"];

/// Which of the four tables a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `Input Output Length,Batch Size,Latency,Throughput`.
    Sweep,
    /// `…,Batch Size,Parallelism Type,Latency,Throughput`.
    Parallelism,
    /// `…,Batch Size,kv_cache_dtype,latency,throughput`.
    Quantisation,
    /// `Input Length,Output Length,Batch Size,TTFT Latency,end_latency`.
    FirstToken,
}

impl Layout {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Layout::Sweep => &["Input Output Length", "Batch Size", "Latency", "Throughput"],
            Layout::Parallelism => &[
                "Input Output Length",
                "Batch Size",
                "Parallelism Type",
                "Latency",
                "Throughput",
            ],
            Layout::Quantisation => &[
                "Input Output Length",
                "Batch Size",
                "kv_cache_dtype",
                "latency",
                "throughput",
            ],
            Layout::FirstToken => &[
                "Input Length",
                "Output Length",
                "Batch Size",
                "TTFT Latency",
                "end_latency",
            ],
        }
    }

    const ALL: [Layout; 4] = [
        Layout::Sweep,
        Layout::Parallelism,
        Layout::Quantisation,
        Layout::FirstToken,
    ];

    /// The layout whose header `fields` is.
    fn of(fields: &[&str]) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| {
            let expected = FIRST.iter().chain(l.columns());
            fields.len() == FIRST.len() + l.columns().len()
                && expected.zip(fields).all(|(e, f)| e == f)
        })
    }
}

/// Converts one of the four tables in `text`.
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let lines = LineIndex::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(at(file, 1, 1, format!("not valid CSV: {e}"))),
        None => return Err(at(file, 1, 1, "empty file: expected a header")),
    };
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    let layout = Layout::of(&names).ok_or_else(|| {
        at(
            file,
            1,
            1,
            format!(
                "not an LLM-Inference-Bench table: expected the header {} followed by one of: {}",
                FIRST.join(","),
                Layout::ALL
                    .iter()
                    .map(|l| l.columns().join(","))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        )
    })?;
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| csv_error(file, &lines, &e))?;
        // The first-token table separates groups with blank lines.
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = lines.of(record.position());
        let cells = Cells::new(file, line, layout, &record)?;
        if let Some(row) = keep(cells.row(catalog), &mut skipped)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One record's fields by column name, with the quantisation table's split cell mended.
struct Cells<'a> {
    file: &'a str,
    line: u64,
    layout: Layout,
    fields: Vec<String>,
}

impl<'a> Cells<'a> {
    fn new(
        file: &'a str,
        line: u64,
        layout: Layout,
        record: &csv::StringRecord,
    ) -> Result<Cells<'a>, DataError> {
        let mut fields: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
        let expected = FIRST.len() + layout.columns().len();
        // `Weight = fp8, KV Cache = fp8` is written without quotes: one cell, two fields.
        if layout == Layout::Quantisation && fields.len() == expected + 1 {
            let kv = fields.remove(7);
            fields[6] = format!("{}, {kv}", fields[6]);
        }
        // Some first-token runs have no `end_latency` (a column the import does not use).
        if layout == Layout::FirstToken && fields.len() + 1 == expected {
            fields.push(String::new());
        }
        if fields.len() != expected {
            return Err(at(
                file,
                line,
                fields.len().min(expected) + 1,
                format!("expected {expected} fields, found {}", fields.len()),
            ));
        }
        Ok(Cells {
            file,
            line,
            layout,
            fields,
        })
    }

    fn column(&self, name: &str) -> usize {
        FIRST
            .iter()
            .chain(self.layout.columns())
            .position(|c| *c == name)
            .expect("a column of this layout")
    }

    fn text(&self, name: &str) -> &str {
        &self.fields[self.column(name)]
    }

    fn fail(&self, name: &str, message: impl std::fmt::Display) -> DataError {
        at(
            self.file,
            self.line,
            self.column(name) + 1,
            format!("{name}: {message}"),
        )
    }

    fn positive_int(&self, name: &str) -> Result<u32, DataError> {
        positive_int(self.text(name)).map_err(|m| self.fail(name, m))
    }

    fn seconds(&self, name: &str) -> Result<f64, DataError> {
        let text = self.text(name);
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| {
                self.fail(
                    name,
                    format!("expected a positive number of seconds, found `{text}`"),
                )
            })
    }

    /// The catalog GPU of a `Hardware` label, or why its runs cannot be modelled.
    fn gpu<'c>(&self, catalog: &'c Catalog) -> Result<&'c str, DataError> {
        let slug = match self.text("Hardware") {
            "Nvidia A100 GPU" => "a100-sxm-40gb",
            "Nvidia H100 GPU" => "h100-sxm",
            "Nvidia GH200 GPU" => "gh200",
            "AMD MI250 GPU" => "mi250",
            "AMD MI300X GPU" => "mi300x",
            "Habana Gaudi2" => {
                return Err(self.fail(
                    "Hardware",
                    "Gaudi2 runs are not modelled: their script passes no --bf16 (so the \
                     precision is not known) and --world_size 1 whatever the visible modules",
                ));
            }
            "Intel PVC GPU" | "Intel Max 1550" => {
                return Err(self.fail(
                    "Hardware",
                    "Intel Max runs are not modelled: a Max 1550 is two stacks and the runs \
                     do not say whether `Num of Hardware` counts stacks or cards",
                ));
            }
            "SambaNova SN40L" => {
                return Err(self.fail(
                    "Hardware",
                    "SN40L runs are not modelled: a dataflow RDU, not a GPU, with the \
                     parallelism not stated",
                ));
            }
            other => return Err(self.fail("Hardware", format!("unknown hardware `{other}`"))),
        };
        catalog
            .gpu(slug)
            .map(|g| g.slug.as_str())
            .map_err(|e| self.fail("Hardware", e))
    }

    /// The engine name: framework, with the version where the repository states it.
    fn engine(&self, gpu: &str) -> Result<&'static str, DataError> {
        Ok(match (self.text("Framework"), gpu) {
            ("vLLM", "mi250" | "mi300x") => "vllm-0.6.1",
            ("vLLM", "gh200") => "vllm-0.5.3",
            ("vLLM", _) => "vllm",
            ("TensorRT-LLM", "a100-sxm-40gb" | "h100-sxm") => "trtllm-0.11",
            ("TensorRT-LLM", _) => "trtllm",
            ("llama.cpp", _) => "llama.cpp",
            ("Deepspeed-MII", _) => "deepspeed-mii",
            (other, _) => {
                return Err(self.fail(
                    "Framework",
                    format!(
                        "expected vLLM, TensorRT-LLM, llama.cpp or Deepspeed-MII, found `{other}`"
                    ),
                ));
            }
        })
    }

    /// Weight precision: fp16 everywhere but the quantisation table, where weights and KV
    /// cache must agree (the schema has no KV-precision column). `full_prec` is fp16.
    fn precision(&self) -> Result<Precision, DataError> {
        if self.layout != Layout::Quantisation {
            return Ok(Precision::Fp16);
        }
        let cell = self.text("kv_cache_dtype");
        let part = |key: &str| {
            cell.split(',')
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|v| v.trim().trim_start_matches('=').trim())
        };
        let (Some(weights), Some(kv)) = (part("Weight"), part("KV Cache")) else {
            return Err(self.fail(
                "kv_cache_dtype",
                format!("expected `Weight = W, KV Cache = K`, found `{cell}`"),
            ));
        };
        match (weights, kv) {
            ("full_prec" | "fp16", "full_prec" | "fp16") => Ok(Precision::Fp16),
            ("fp8", "fp8") => Ok(Precision::Fp8),
            _ => Err(self.fail(
                "kv_cache_dtype",
                format!(
                    "weights {weights} with a {kv} KV cache is not expressible (the schema \
                     has no KV-precision column; only fp16/fp16 and fp8/fp8 are imported)"
                ),
            )),
        }
    }

    /// (TP, PP, batch) of the run.
    fn layout_of_run(&self, gpus: u32, framework: &str) -> Result<(u32, u32, u32), DataError> {
        let batch = self.positive_int("Batch Size")?;
        if framework == "llama.cpp" {
            // With n_batch = 64 a prompt of 128–2048 tokens takes 2–32 forward passes
            // beside 128–2048 decode steps: within ~2 % of one prefill pass. Smaller chunks
            // add up to ISL extra passes (n_batch = 1 doubles the time), which the schema
            // has no column for.
            if batch < LLAMA_CPP_MIN_CHUNK {
                return Err(self.fail(
                    "Batch Size",
                    format!(
                        "llama.cpp prompt chunk n_batch={batch} is not expressible (only runs \
                         with n_batch >= {LLAMA_CPP_MIN_CHUNK} are imported)"
                    ),
                ));
            }
            return Ok((1, gpus, 1));
        }
        if self.layout != Layout::Parallelism {
            return Ok((gpus, 1, batch));
        }
        match self.text("Parallelism Type") {
            "Tensor Parallelism" | "TP" => Ok((gpus, 1, batch)),
            "Pipeline Parallelism" | "PP" => Ok((1, gpus, batch)),
            t if t.contains("Tensor (2) and Pipeline (2)") || t.contains("TP = 2 and PP = 2") => {
                Ok((2, 2, batch))
            }
            other => Err(self.fail(
                "Parallelism Type",
                format!("`{other}` is not expressible (expert parallelism has no column)"),
            )),
        }
    }

    fn row(&self, catalog: &Catalog) -> Result<BenchRow, DataError> {
        let gpu = self.gpu(catalog)?;
        let engine = self.engine(gpu)?;
        let model = catalog
            .model(self.text("Model"))
            .map_err(|e| self.fail("Model", e))?;
        let gpus = self.positive_int("Num of Hardware")?;
        let framework = self.text("Framework");
        let (tp, pp, batch_size) = self.layout_of_run(gpus, framework)?;
        let (isl, osl, metric, seconds) = match self.layout {
            Layout::FirstToken => (
                self.positive_int("Input Length")?,
                self.positive_int("Output Length")?,
                Metric::TtftS,
                self.seconds("TTFT Latency")?,
            ),
            Layout::Quantisation => {
                let length = self.positive_int("Input Output Length")?;
                (length, length, Metric::E2eS, self.seconds("latency")?)
            }
            Layout::Sweep | Layout::Parallelism => {
                let length = self.positive_int("Input Output Length")?;
                (length, length, Metric::E2eS, self.seconds("Latency")?)
            }
        };
        let run = Run {
            source: SOURCE.to_string().into(),
            model: model.slug.clone().into(),
            gpu: gpu.to_string().into(),
            tp,
            pp,
            precision: self.precision()?,
            engine: engine.to_string().into(),
            isl,
            osl,
            condition: Condition::StaticBatch { batch_size },
            origin: Origin {
                file: self.file.to_string().into(),
                line: self.line,
            },
        };
        let note = if framework == "llama.cpp" {
            format!(
                "llama-bench n_batch={}, one sequence, layers split over {gpus} GPU(s)",
                self.text("Batch Size")
            )
        } else {
            String::new()
        };
        Ok(run.row(metric, Stat::Mean, Observed::Value(seconds), note))
    }
}
