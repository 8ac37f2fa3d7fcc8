//! Command-line arguments as clap sees them. Nothing here is validated beyond what clap
//! checks; `cli::mod` converts these once into library types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use infercal::bench::import::Format;
use infercal::cv::Scheme;
use infercal::engine::Engine;
use infercal::perf::PerfModelKind;
use infercal::precision::Precision;
use infercal::scenario::Stat;

/// Calibrated LLM-inference capacity planning: how many GPUs of which kind to serve a
/// model at a request rate under a latency budget, and how far to trust the answer.
#[derive(Debug, Parser)]
#[command(name = "infercal", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Read gpus.toml and models.toml from this directory instead of the embedded
    /// catalog. One of them missing falls back to the embedded file; a directory that does
    /// not exist or holds neither is an error.
    #[arg(long, global = true, value_name = "DIR")]
    pub catalog: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  infercal predict --model llama-3.1-70b --gpu h100-sxm --isl 5000 --osl 500 --ttft-budget 3
  infercal size --model llama-3.1-8b --ttft-budget 0.5 --target-rps 10 --isl 5000 --osl 500
  infercal evaluate --data data/benchmarks/nim-sizing-rag-5000-500.csv --perf-model serving
  infercal calibrate                        # fit serving-real to all embedded data (~5 s)
  infercal calibrate serving-hypotheses --out out/hyp
  infercal cv --scheme source               # held-out error of the default, one source left out at a time
  infercal cv --scheme engine               # ... one engine family left out at a time
  infercal cv serving-per-gpu               # leave-one-cell-out on the sizing chart
  infercal cv --compare                     # rank the chart experiments by held-out error
  infercal cv --compare serving-per-gpu serving-real --scheme kfold:10   # why serving-real is the default
  infercal import trtllm-bench-dli trt_llm_0_9_0_dli.csv -o data.csv
  infercal import genai-perf profile_export_genai_perf.json --gpu h100-sxm --tp 1 --precision fp8
  infercal compare                          # reference calculator vs the embedded sizing chart
  infercal compare --format json | jq .summary
  infercal list gpus
  infercal show model llama-3.1-70b
  infercal check-data data/benchmarks/nim-sizing-rag-5000-500.csv

Exit codes: 0 success, 1 failure, 2 bad input (arguments, data or catalog files).";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the GPUs or models in the catalog.
    List(ListArgs),
    /// Show one GPU or model: specs, sources and derived quantities.
    Show(ShowArgs),
    /// Load benchmark CSV files, report row counts and inconsistent rows.
    CheckData(CheckDataArgs),
    /// Compare a performance model with a sizing chart, cell by cell.
    Compare(CompareArgs),
    /// Predict one scenario: latency, throughput and GPUs needed, with the breakdown.
    Predict(PredictArgs),
    /// Rank GPUs and deployments for a target rate under TTFT and ITL budgets, by GPUs needed or, with --prices, by cost.
    Size(SizeArgs),
    /// Predict every row of benchmark files and summarise the errors.
    Evaluate(EvaluateArgs),
    /// Fit a performance model's parameters to benchmark rows (a grid, then
    /// Levenberg-Marquardt or Nelder-Mead from its best points) and
    /// write fitted.json, residuals.csv, report.md, parity.svg and residuals.svg.
    Calibrate(CalibrateArgs),
    /// Cross-validate an experiment (every fold refits from scratch), or rank several by
    /// held-out error with --compare.
    Cv(CvArgs),
    /// Regenerate FINDINGS.md from fresh runs: why the reference calculator misses the
    /// chart, each hypothesis tested, refined parameters and cross-validated errors.
    Findings(FindingsArgs),
    /// Convert benchmark-tool outputs into the project's CSV schema.
    Import(ImportArgs),
}

/// `infercal import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file format: vllm-bench (`vllm bench serve --save-result` JSON; one run per
    /// object or line), sglang-bench (`python -m sglang.bench_serving --output-file`
    /// JSONL), llmperf (LLMPerf `*_summary.json`), genai-perf (profile_export_genai_perf
    /// .csv or .json), trtllm-bench-dli
    /// (TensorRT-LLM 0.9.0 static-batch table), trtllm-perf-overview (TensorRT-LLM's
    /// max-throughput table, transcribed), trtllm-perf-doc (TensorRT-LLM's
    /// perf-overview.md page) or argonne-llm-inference-bench (LLM-Inference-Bench result
    /// tables).
    #[arg(value_name = "FORMAT")]
    pub format: Format,
    /// Files to convert.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Model, for formats that do not record it (GenAI-Perf CSV, an SGLang run whose
    /// server did not report itself), or to name the catalog's model when a vLLM or SGLang
    /// result names a path or hub id.
    #[arg(long)]
    pub model: Option<String>,
    /// GPU, for formats that do not record it (GenAI-Perf, vLLM, SGLang).
    #[arg(long)]
    pub gpu: Option<String>,
    /// Tensor-parallel degree, for formats that do not record it (GenAI-Perf, vLLM; SGLang
    /// when its `server_info` is missing).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub tp: Option<u32>,
    /// Weight precision, for formats that do not record it (GenAI-Perf, vLLM, SGLang).
    #[arg(long)]
    pub precision: Option<Precision>,
    /// Serving engine to record.
    #[arg(long)]
    pub engine: Option<String>,
    /// Concurrency, for GenAI-Perf CSV exports whose file name does not say it.
    #[arg(long)]
    pub concurrency: Option<f64>,
    /// Output file (default: stdout). Written atomically; never one of the inputs.
    #[arg(short = 'o', long = "output", value_name = "OUT.csv")]
    pub output: Option<PathBuf>,
    /// Skip records and values that cannot be imported, list each on stderr and count
    /// them, instead of stopping at the first (the default).
    #[arg(long)]
    pub skip_bad: bool,
}

/// `infercal findings`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Where to write the findings.
    #[arg(long, value_name = "FILE", default_value = "FINDINGS.md")]
    pub out: PathBuf,
    /// Worker threads (default: one per core). The findings do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}

/// `infercal cv`.
#[derive(Debug, Args)]
pub struct CvArgs {
    /// Experiment (file or shipped name; default serving-real). With --compare, name the
    /// experiments after --compare instead.
    #[arg(value_name = "EXPERIMENT", conflicts_with = "compare")]
    pub experiment: Option<String>,
    /// Fold scheme: loo (one cell at a time: a cell is a row's deployment and workload,
    /// all its metrics), kfold:K (K seeded folds of cells), gpu, model, source, engine
    /// (family), budget (leave each one out), or auto: loo up to 100 cells, else kfold:10.
    #[arg(long, default_value = "auto")]
    pub scheme: Scheme,
    /// Rank these experiments by held-out error on the union of their data, each source
    /// counting once (no names: the five shipped experiments fitted to the sizing chart).
    #[arg(long, num_args = 0.., value_name = "EXPERIMENT")]
    pub compare: Option<Vec<String>>,
    /// With --compare and a k-fold scheme: draw the folds N times (seeds S, S+1, …) and
    /// pool the held-out predictions. With --new-user: draw each pair's runs N times and
    /// pool. One draw of a small source's few cells, or of five runs, is noisy: on the
    /// shipped data single draws disagree on the winner.
    #[arg(long, value_name = "N", default_value_t = infercal::cv::compare::DEFAULT_DRAWS,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub draws: u32,
    /// Emulate new users instead: for the largest (GPU, engine) pair of each engine
    /// family, fit the base on every other row, take RUNS of the pair's rows (drawn with
    /// the seed; default 5) as the user's runs, and compare on the pair's other rows the
    /// base alone, the base fine-tuned on the runs (what `calibrate --base` does) and the
    /// same fine-tune fitted from scratch on the runs, pooled over --draws draws of runs.
    /// Prints the table; writes nothing.
    #[arg(long, value_name = "RUNS", num_args = 0..=1, default_missing_value = "5",
          conflicts_with = "compare", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub new_user: Option<u32>,
    /// Output directory, replaced whole by this run's cv.md, cv.csv, cv.svg (or
    /// compare.md, compare.csv) and manifest.json. Default: out/cv-<experiment>-<scheme>,
    /// or out/compare-<scheme> with --compare.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of every fold's grid and of the k-fold shuffle (default: the experiment's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options shared by the commands that run calibrations.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Worker threads (default: one per core). The result does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// `infercal calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Experiment: a TOML file, or the name of a shipped one (reference-efficiency,
    /// roofline-global, serving-global, serving-per-gpu, serving-hypotheses, serving-real).
    /// Default: serving-real.
    #[arg(value_name = "EXPERIMENT")]
    pub experiment: Option<String>,
    /// Output directory, replaced whole by this run's fitted.json, residuals.csv,
    /// report.md, parity.svg, residuals.svg and manifest.json. Default:
    /// out/<experiment name>. An interrupted run writes <DIR>.interrupted instead.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the grid (default: the experiment's `search.seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// How the prediction intervals' residuals are held out: a cross-validation scheme
    /// (source, kfold:K, gpu, engine, …; see `cv --help`) refitted after the fit, or
    /// `none` to skip it (then `predict` and `size` give no intervals). Default: source
    /// when the rows come from several sources, else kfold:5.
    #[arg(long, value_name = "SCHEME", conflicts_with = "base")]
    pub intervals: Option<String>,
    /// Fine-tune a calibration on your own runs instead of fitting an experiment:
    /// `shipped` (the shipped calibration) or a calibration's fitted.json. Only what the
    /// --data rows can determine moves — the prefill and decode efficiencies of their GPUs,
    /// the factors and step overhead of their engines — each drawn towards the base's
    /// value, so 3–10 runs correct the base without overfitting; everything else keeps
    /// the base's values. Writes the same files (default: out/fine-tune), report.md saying
    /// which parameters moved and by how much; `predict`/`size --params` take its
    /// fitted.json. The intervals are the base's.
    #[arg(
        long,
        value_name = "shipped|FILE",
        requires = "data",
        conflicts_with = "experiment"
    )]
    pub base: Option<String>,
    /// With --base: your runs, as benchmark CSV files (what `infercal import` writes).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "base")]
    pub data: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What to list or show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// GPUs.
    #[value(alias = "gpus")]
    Gpu,
    /// Models.
    #[value(alias = "models")]
    Model,
}

/// Output formats for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TableFormat {
    /// Markdown table (readable in a terminal, pasteable into docs).
    #[default]
    #[value(alias = "table")]
    Md,
    /// CSV with a header line.
    Csv,
    /// One JSON document.
    Json,
}

/// `infercal list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// `gpus` or `models`.
    pub kind: Kind,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}

/// `infercal show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// `gpu` or `model`.
    pub kind: Kind,
    /// Slug or alias, e.g. `h100-sxm`, "H100 80GB HBM3", `llama-3.1-70b`.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: RecordFormat,
}

/// `infercal check-data`.
#[derive(Debug, Args)]
pub struct CheckDataArgs {
    /// Benchmark CSV files (paths; names of embedded files also work).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Exit with status 1 when any row is flagged.
    #[arg(long)]
    pub strict: bool,
    /// List every flagged row (default: the first 20, then a count).
    #[arg(long)]
    pub rows: bool,
}

/// Output format of a single prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RecordFormat {
    /// Aligned text for people.
    #[default]
    #[value(alias = "md", alias = "text")]
    Table,
    /// One JSON document.
    Json,
}

/// Model, GPU, lengths and deployment shared by `predict` and `size`.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Model slug or alias (see `infercal list models`).
    #[arg(long)]
    pub model: String,
    /// Input (prompt) tokens per request.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub isl: u32,
    /// Output tokens per request.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub osl: u32,
    /// Statistic the latencies and the budgets refer to: mean, p50, p90, p95 or p99. A
    /// percentile TTFT is the queue's (or the burst's) tail; a percentile ITL is the tail of
    /// the per-token gaps (decode steps stalled by other requests' prefills, as vLLM and
    /// SGLang report p99 ITL), which rises with load while the mean gap barely moves.
    #[arg(long, default_value = "mean")]
    pub stat: Stat,
    /// How the load behind a TTFT/ITL budget arrives: closed (clients that each send their
    /// next request when the last one ends, as benchmark tools sweep concurrency and as the
    /// shipped calibration's sizing chart was measured) or poisson (open-loop Poisson
    /// arrivals: production traffic, MLPerf's server scenario). Default: what the
    /// parameters say (closed for the shipped calibration).
    #[arg(long, value_enum, value_name = "LOAD")]
    pub arrivals: Option<ArrivalsArg>,
    /// The most sequences the engine runs at once (its max_num_seqs / max_batch_size), when
    /// you have set it: the KV cache may still bind first. Default: the parameters' value
    /// (fitted in the shipped calibration).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_running_batch: Option<u32>,
    /// Serving engine family: trtllm, vllm, sglang, llama.cpp or deepspeed-mii (a
    /// versioned name such as vllm-0.6.1 names its family). Its fitted factors and
    /// overheads apply. Default: the family with the most fitted rows on the GPU (what the
    /// output names), else engine-independent values.
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<Engine>,
    /// Parameter file: a calibration's fitted.json, or JSON with a subset of the serving
    /// parameters (the rest default). Default: the shipped calibration, `serving-real`
    /// fitted to all 14,486 embedded rows (data/calibrated/serving-real.json).
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Use the literature defaults instead of the shipped calibration (to see what
    /// calibration changes).
    #[arg(long, conflicts_with = "params")]
    pub uncalibrated: bool,
    /// Performance model: serving (continuous batching with queueing: the model
    /// calibration fits), roofline (batch-1 prefill/decode roofline with memory capacity
    /// and tensor parallelism) or reference (the naive reference calculator: FLOPs only, batch
    /// 1, one efficiency factor). Default: the one the --params file was fitted for, else
    /// serving.
    #[arg(long, value_name = "MODEL")]
    pub perf_model: Option<PerfModelKind>,
    /// Confidence of the interval around each figure, 0.01–0.99: 0.8 draws the range that
    /// held 80 % of the rows the calibration's cross-validation held out, for this metric,
    /// load regime and kind of GPU coverage (a GPU without fitted rows gets the wider
    /// range of GPUs predicted from other GPUs' values). Needs a calibration made with
    /// intervals, as the shipped one is; --uncalibrated has none.
    #[arg(long, value_name = "P", default_value_t = infercal::interval::DEFAULT_CONFIDENCE)]
    pub confidence: f64,
}

/// `infercal predict`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("condition").required(true).multiple(false)
    .args(["batch", "concurrency", "rate", "ttft_budget", "saturate"]))]
pub struct PredictArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// GPU slug or alias (see `infercal list gpus`).
    #[arg(long)]
    pub gpu: String,
    /// Weight precision: fp16, bf16, fp8, int8, int4 (AWQ), fp4 (default: fp8 where the GPU
    /// has fp8 tensor cores, else fp16).
    #[arg(long)]
    pub precision: Option<Precision>,
    /// KV-cache precision (default: fp8 with 8-bit-or-smaller weights on fp8 GPUs, else fp16).
    #[arg(long)]
    pub kv_precision: Option<Precision>,
    /// Tensor-parallel degree (default: the smallest power of two that fits).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub tp: Option<u32>,
    /// Condition: a static batch of B requests.
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Option<u32>,
    /// Condition: C closed-loop clients.
    #[arg(long, value_name = "C")]
    pub concurrency: Option<f64>,
    /// Condition: Poisson arrivals at R req/s per instance.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Condition: the largest rate whose TTFT stays within S seconds.
    #[arg(long, value_name = "S")]
    pub ttft_budget: Option<f64>,
    /// With --ttft-budget: the rate to size for, req/s (reports GPUs and instances).
    #[arg(long, value_name = "R", requires = "ttft_budget",
          conflicts_with_all = ["batch", "concurrency", "rate", "saturate"])]
    pub target_rps: Option<f64>,
    /// With --ttft-budget: also hold the inter-token latency (at --stat) within S seconds;
    /// the rate is the largest that meets both budgets.
    #[arg(long, value_name = "S", requires = "ttft_budget",
          conflicts_with_all = ["batch", "concurrency", "rate", "saturate"])]
    pub itl_budget: Option<f64>,
    /// Condition: maximum sustainable throughput.
    #[arg(long)]
    pub saturate: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: RecordFormat,
}

/// `infercal size`.
#[derive(Debug, Args)]
pub struct SizeArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// TTFT budget, seconds, at --stat.
    #[arg(long, value_name = "S")]
    pub ttft_budget: f64,
    /// Inter-token latency budget (TPOT), seconds, at --stat: each deployment then runs at
    /// the largest load meeting both budgets, and the `binding` column names the budget
    /// that stops it (ttft, itl, or capacity when neither does). A percentile ITL is per
    /// token gap, so it is stricter than the same percentile of per-request TPOT.
    #[arg(long, value_name = "S")]
    pub itl_budget: Option<f64>,
    /// Rate to serve, requests/s.
    #[arg(long, value_name = "R")]
    pub target_rps: f64,
    /// Price file (TOML: `[usd_per_gpu_hour]` with catalog GPU names as keys; see
    /// data/prices-example.toml): adds $/hour and $ per million output tokens at the target
    /// rate, and ranks by cost (unpriced GPUs last).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Show only the first N deployments of the ranking.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,
    /// GPUs to consider, comma-separated (default: every GPU in the catalog).
    #[arg(long, value_delimiter = ',', value_name = "G1,G2,...")]
    pub gpus: Vec<String>,
    /// Weight precisions to consider, comma-separated (default: fp8,fp16).
    #[arg(long, value_delimiter = ',', value_name = "P1,P2,...")]
    pub precisions: Vec<Precision>,
    /// What the GPU counts are planned for: point (the predicted figures; TTFT then sits on
    /// the budget's edge, met about half the time) or upper (the pessimistic end of the
    /// --confidence intervals: TTFT's upper bound within the budget and the lower bound of
    /// throughput per GPU serving the target). Ranks by the GPUs of that plan.
    #[arg(long, value_enum, default_value_t, value_name = "PLAN")]
    pub plan_for: PlanForArg,
    /// List every feasible deployment, not only the best one per GPU.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}

/// `--arrivals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrivalsArg {
    /// Closed-loop clients.
    Closed,
    /// Open-loop Poisson arrivals.
    Poisson,
}

/// `size --plan-for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanForArg {
    /// The predicted figures.
    #[default]
    Point,
    /// The pessimistic end of the intervals.
    Upper,
}

/// `infercal evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Benchmark CSV files (default: the embedded sizing chart).
    #[arg(long, value_name = "FILE", num_args = 1.., default_value = "data/benchmarks/nim-sizing-rag-5000-500.csv")]
    pub data: Vec<String>,
    /// Parameter file: a calibration's fitted.json or hand-written JSON. Default: the
    /// shipped calibration, as for predict and size.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Use the literature defaults instead of the shipped calibration.
    #[arg(long, conflicts_with = "params")]
    pub uncalibrated: bool,
    /// Performance model: serving (continuous batching with queueing: the model
    /// calibration fits), roofline (batch-1 prefill/decode roofline with memory capacity
    /// and tensor parallelism) or reference (the naive reference calculator: FLOPs only, batch
    /// 1, one efficiency factor). Default: the one the --params file was fitted for, else
    /// serving.
    #[arg(long, value_name = "MODEL")]
    pub perf_model: Option<PerfModelKind>,
    /// List every row with its prediction, not only the summaries (md, csv and json).
    #[arg(long)]
    pub rows: bool,
    /// Output format: md (summaries as tables), csv (the summaries, or the rows with
    /// --rows) or json (one document).
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}

/// `infercal compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Sizing-chart CSV (rows with a TTFT budget); default: the embedded NIM chart.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "data/benchmarks/nim-sizing-rag-5000-500.csv"
    )]
    pub data: String,
    /// Performance model to compare: reference, roofline or serving (default: the one the
    /// --params file was fitted for, else reference).
    #[arg(long, value_name = "MODEL")]
    pub perf_model: Option<PerfModelKind>,
    /// Parameter file for `roofline` / `serving` (JSON).
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Efficiency factor of the reference model, in (0, 1] (default: the published 0.3).
    #[arg(long, value_name = "X")]
    pub efficiency: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}
