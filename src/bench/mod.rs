//! Benchmark rows: the one tidy schema every measurement is converted into (one
//! observation per row), the loader that reads it from CSV with file:line:column errors,
//! the consistency checks, and the data files embedded in the binary. Rows carry catalog
//! slugs, never raw names: resolution happens once, at load time.

mod check;
pub mod import;
mod load;
pub mod name;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use check::{Finding, check_rows};
pub use load::{
    COLUMNS, DataError, for_each_row, load_csv, load_file, load_file_into, load_reader, read_source,
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
    /// File and line.
    pub origin: Origin,
}

/// Maps byte offsets of a text to 1-based line numbers. The csv crate's own line counter
/// is one short on CRLF files (both real benchmark exports use CRLF) and after leading
/// comment lines; its byte offsets are exact, so lines are counted from them.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
    /// Whether each line (0-based) is a `#` comment: no record starts on one.
    comment: Vec<bool>,
    /// Bytes indexed so far.
    fed: usize,
    /// Whether the next byte fed starts a line.
    at_line_start: bool,
}

impl Default for LineIndex {
    fn default() -> Self {
        LineIndex {
            newlines: Vec::new(),
            comment: Vec::new(),
            fed: 0,
            at_line_start: true,
        }
    }
}

impl LineIndex {
    /// Indexes `text` once.
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut index = LineIndex::default();
        index.feed(text.as_bytes());
        index
    }

    /// Indexes the next `bytes` of a stream (the text so far is what was fed before).
    /// Memory is one offset per line, so a stream is indexed without holding its text.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.at_line_start {
                self.comment.push(b == b'#');
                self.at_line_start = false;
            }
            if b == b'\n' {
                self.newlines.push(self.fed);
                self.at_line_start = true;
            }
            self.fed += 1;
        }
    }

    /// The 1-based line of a record starting at byte `offset`. On CRLF files the csv
    /// crate reports a record as starting at the `\n` that ends the previous line, so a
    /// newline *at* the offset already belongs to the line before.
    pub(crate) fn line(&self, offset: u64) -> u64 {
        self.newlines.partition_point(|&n| (n as u64) <= offset) as u64 + 1
    }

    /// The line where a record or error at `position` starts. After leading comment
    /// lines the crate reports the comments' start, so comment lines are skipped.
    pub(crate) fn of(&self, position: Option<&csv::Position>) -> u64 {
        let Some(p) = position else { return 0 };
        let mut line = self.line(p.byte());
        while self
            .comment
            .get(line as usize - 1)
            .copied()
            .unwrap_or(false)
        {
            line += 1;
        }
        line
    }
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

#[cfg(test)]
mod line_index_tests {
    use super::LineIndex;

    fn record_lines(text: &str) -> Vec<u64> {
        let index = LineIndex::new(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        reader
            .records()
            .map(|r| index.of(r.unwrap().position()))
            .collect()
    }

    #[test]
    fn lines_are_right_for_lf_crlf_and_leading_comments() {
        assert_eq!(record_lines("a,b\nc,d\ne,f\n"), vec![1, 2, 3]);
        assert_eq!(record_lines("a,b\r\nc,d\r\ne,f\r\n"), vec![1, 2, 3]);
        assert_eq!(record_lines("# x\n# y\na,b\nc,d\n"), vec![3, 4]);
        assert_eq!(record_lines("\"1,\n2\",b\nc,d\n"), vec![1, 3]);
    }
}
