//! Command-line arguments as clap sees them. Nothing here is validated beyond what clap
//! checks; `cli::mod` converts these once into library types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Calibrated LLM-inference capacity planning: how many GPUs of which kind to serve a
/// model at a request rate under a latency budget, and how far to trust the answer.
#[derive(Debug, Parser)]
#[command(name = "infercal", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Read gpus.toml / models.toml from this directory instead of the embedded catalog
    /// (a file missing from it falls back to the embedded one).
    #[arg(long, global = true, value_name = "DIR")]
    pub catalog: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
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
    /// Output format (`md` or `json`).
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
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
}

/// Performance models the CLI can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PerfModelName {
    /// The naive reference calculator: FLOPs only, batch 1, one efficiency factor.
    #[default]
    Seed,
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
    /// Performance model to compare.
    #[arg(long, value_enum, default_value_t)]
    pub perf_model: PerfModelName,
    /// Efficiency factor of the seed model, in (0, 1] (default: the published 0.3).
    #[arg(long, value_name = "X")]
    pub efficiency: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}
