//! Benchmark rows: the one tidy schema every measurement is converted into (one
//! observation per row), the loader that reads it from CSV with file:line:column errors,
//! the consistency checks, and the data files embedded in the binary. Rows carry catalog
//! slugs, never raw names: resolution happens once, at load time.

mod check;
pub mod import;
mod lines;
mod load;
pub mod name;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use check::{Finding, check_rows};
pub(crate) use lines::LineIndex;
pub(crate) use load::in_range as value_in_range;
pub use load::{
    COLUMNS, DataError, OPTIONAL_COLUMNS, Provenance, for_each_row, load_csv, load_file,
    load_file_into, load_file_with_provenance, load_reader,
};
pub use name::{Interner, Name};

use crate::catalog::Catalog;
use crate::precision::Precision;
pub use crate::scenario::Metric;
use crate::scenario::{Condition, Stat};

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
    pub file: Name,
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
    pub source: Name,
    /// Catalog model slug.
    pub model: Name,
    /// Catalog GPU slug.
    pub gpu: Name,
    /// Tensor-parallel degree, if known.
    pub tp: Option<u32>,
    /// Pipeline-parallel degree, if known.
    pub pp: Option<u32>,
    /// Weight precision, if known.
    pub precision: Option<Precision>,
    /// Serving engine (free text).
    pub engine: Name,
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
    pub note: Name,
    /// The run served generated weights instead of a checkpoint's (TensorRT-LLM's
    /// fake-weight builds): a mixture-of-experts router then sends every token to the
    /// same experts, which real weights never do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic_weights: bool,
    /// File and line.
    pub origin: Origin,
}

/// Benchmark files embedded in the binary: (name, contents). The first is the default.
pub const EMBEDDED_FILES: &[(&str, &str)] = &[
    (
        "data/benchmarks/nim-sizing-rag-5000-500.csv",
        include_str!("../../data/benchmarks/nim-sizing-rag-5000-500.csv"),
    ),
    (
        "data/benchmarks/trtllm-0.9.0-static-batch.csv",
        include_str!("../../data/benchmarks/trtllm-0.9.0-static-batch.csv"),
    ),
    (
        "data/benchmarks/trtllm-perf-overview.csv",
        include_str!("../../data/benchmarks/trtllm-perf-overview.csv"),
    ),
    (
        "data/benchmarks/argonne-llm-inference-bench.csv",
        include_str!("../../data/benchmarks/argonne-llm-inference-bench.csv"),
    ),
];

/// The embedded file with this name (full path or bare file name), if any.
pub fn embedded_file(name: &str) -> Option<(&'static str, &'static str)> {
    let wanted = name.trim_start_matches("./");
    EMBEDDED_FILES
        .iter()
        .copied()
        .find(|(path, _)| *path == wanted || path.rsplit('/').next() == Some(wanted))
}

/// The rows of the embedded files among `files` (paths as experiments name them), in the
/// order given; names that are not embedded are skipped.
pub fn embedded_rows(files: &[String], catalog: &Catalog) -> Result<Vec<BenchRow>, DataError> {
    let mut rows = Vec::new();
    for (path, text) in files.iter().filter_map(|f| embedded_file(f)) {
        rows.extend(load_csv(path, text, catalog)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
