//! Benchmark rows: the one tidy schema every measurement is converted into (one
//! observation per row), the loader that reads it from CSV with file:line:column errors,
//! the consistency checks, and the data files embedded in the binary. Rows carry catalog
//! slugs, never raw names: resolution happens once, at load time.

mod check;
mod load;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use check::{Finding, check_rows};
pub use load::{COLUMNS, DataError, load_csv, load_file, read_source};

use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

/// What a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Sustained requests/s divided by GPUs used.
    ReqPerSPerGpu,
    /// GPUs needed for `target_rps` (fractional, as sizing charts print it).
    GpusForTarget,
    /// Time to first token, seconds.
    TtftS,
    /// Inter-token latency, seconds.
    ItlS,
    /// End-to-end request latency, seconds.
    E2eS,
    /// Output tokens/s of the whole instance.
    OutputTokS,
    /// Requests/s of the whole instance.
    ReqPerS,
}

impl Metric {
    /// Every metric, in a stable order.
    pub const ALL: [Metric; 7] = [
        Metric::ReqPerSPerGpu,
        Metric::GpusForTarget,
        Metric::TtftS,
        Metric::ItlS,
        Metric::E2eS,
        Metric::OutputTokS,
        Metric::ReqPerS,
    ];

    /// The column value naming this metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ReqPerSPerGpu => "req_per_s_per_gpu",
            Metric::GpusForTarget => "gpus_for_target",
            Metric::TtftS => "ttft_s",
            Metric::ItlS => "itl_s",
            Metric::E2eS => "e2e_s",
            Metric::OutputTokS => "output_tok_s",
            Metric::ReqPerS => "req_per_s",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
                format!("unknown metric `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// A measured value, or the observation that the configuration was not achievable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Observed {
    /// A positive measurement.
    Value(f64),
    /// `NA`: not achievable (infeasible, out of memory, over budget), kept as data.
    NotAchievable,
}

impl Observed {
    /// The number, if there is one.
    pub fn value(self) -> Option<f64> {
        match self {
            Observed::Value(v) => Some(v),
            Observed::NotAchievable => None,
        }
    }
}

/// Where a row came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// File name as given (or the embedded file's name).
    pub file: String,
    /// 1-based line.
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    /// Who measured it.
    pub source: String,
    /// Catalog model slug.
    pub model: String,
    /// Catalog GPU slug.
    pub gpu: String,
    /// Tensor-parallel degree, if known.
    pub tp: Option<u32>,
    /// Pipeline-parallel degree, if known.
    pub pp: Option<u32>,
    /// Weight precision, if known.
    pub precision: Option<Precision>,
    /// Serving engine (free text).
    pub engine: String,
    /// Input tokens.
    pub isl: u32,
    /// Output tokens.
    pub osl: u32,
    /// Load condition.
    pub condition: Condition,
    /// What was measured.
    pub metric: Metric,
    /// Which statistic.
    pub stat: Stat,
    /// The measurement.
    pub value: Observed,
    /// Free text.
    pub note: String,
    /// File and line.
    pub origin: Origin,
}

/// Benchmark files embedded in the binary: (name, contents). The first is the default.
pub const EMBEDDED_FILES: &[(&str, &str)] = &[(
    "data/benchmarks/nim-sizing-rag-5000-500.csv",
    include_str!("../../data/benchmarks/nim-sizing-rag-5000-500.csv"),
)];

/// The embedded file with this name (full path or bare file name), if any.
pub fn embedded_file(name: &str) -> Option<(&'static str, &'static str)> {
    let wanted = name.trim_start_matches("./");
    EMBEDDED_FILES
        .iter()
        .copied()
        .find(|(path, _)| *path == wanted || path.rsplit('/').next() == Some(wanted))
}

#[cfg(test)]
mod tests;
