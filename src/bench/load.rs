//! Reading benchmark CSV files into [`BenchRow`]s. Every rejection names the file, the
//! line and the column (counted in CSV fields, 1-based) and says what was expected.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use super::{
    BenchRow, EMBEDDED_FILES, Interner, LineIndex, Metric, Observed, Origin, embedded_file,
    lines::{Indexed, LinesSoFar},
};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat, check_tp};
use crate::textfile::{ContentHash, SourcePos};

/// The schema's columns, in their canonical order.
pub const COLUMNS: [&str; 17] = [
    "source",
    "model",
    "gpu",
    "tp",
    "pp",
    "precision",
    "engine",
    "isl",
    "osl",
    "batch_size",
    "concurrency",
    "ttft_budget_s",
    "target_rps",
    "metric",
    "stat",
    "value",
    "note",
];

/// Columns a file may leave out; a writer adds them only when a row needs them, so files
/// of the 17 columns above stay valid. `weights`: `synthetic` when the run served
/// generated weights (a benchmark's fake-weight build), `real` or empty otherwise.
pub const OPTIONAL_COLUMNS: [&str; 1] = ["weights"];

/// Why a benchmark file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A specific place in the file is wrong.
    #[error("{at}: {message}")]
    At {
        /// Where: the column counts CSV fields.
        at: SourcePos,
        /// What was found and what was expected.
        message: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path as given.
        path: String,
        /// The OS error, with the embedded names when the file is missing.
        message: String,
    },
    /// The file has a header but no rows.
    #[error("{file}: no benchmark rows (only a header)")]
    Empty {
        /// File name.
        file: String,
    },
}

/// Reads and parses benchmark file `path`: from disk, streamed (a file's text is never
/// held whole), or the embedded copy when no such file exists but an embedded one has that
/// name (for example `data/benchmarks/nim-sizing-rag-5000-500.csv`).
pub fn load_file(path: &str, catalog: &Catalog) -> Result<Vec<BenchRow>, DataError> {
    let mut rows = Vec::new();
    load_file_into(path, catalog, &mut rows)?;
    Ok(rows)
}

/// Like [`load_file`], appending to `rows` (several files into one vector, never a copy
/// of one file's rows into another); returns how many rows the file added.
pub fn load_file_into(
    path: &str,
    catalog: &Catalog,
    rows: &mut Vec<BenchRow>,
) -> Result<usize, DataError> {
    for_each_row(path, catalog, &mut |row| rows.push(row))
}

/// A field-level failure before the file and line are attached.
struct FieldError {
    column: usize,
    message: String,
}

fn at(column: usize, message: impl Into<String>) -> FieldError {
    FieldError {
        column,
        message: message.into(),
    }
}

/// Parses benchmark CSV `text`; `file` names it in errors. Lines starting with `#` are
/// comments (provenance notes).
pub fn load_csv(file: &str, text: &str, catalog: &Catalog) -> Result<Vec<BenchRow>, DataError> {
    load_reader(file, text.as_bytes(), catalog)
}

/// Parses benchmark CSV from `input` as it streams; `file` names it in errors. Memory is
/// the rows plus one offset per line, never the whole text.
pub fn load_reader(
    file: &str,
    input: impl Read,
    catalog: &Catalog,
) -> Result<Vec<BenchRow>, DataError> {
    let mut rows = Vec::new();
    read_each_row(file, input, catalog, &mut |row| rows.push(row))?;
    Ok(rows)
}

/// Streams benchmark file `path` (or the embedded copy of that name) row by row into
/// `sink`, holding no row longer than the sink does; returns how many rows it read.
pub fn for_each_row(
    path: &str,
    catalog: &Catalog,
    sink: &mut dyn FnMut(BenchRow),
) -> Result<usize, DataError> {
    let (name, input) = open_source(path)?;
    read_each_row(&name, input, catalog, sink)
}

/// Where a data file's rows came from: the name it was read by (an embedded file's own
/// name when no such file is on disk), the [`ContentHash`] of its bytes and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The name read by.
    pub name: String,
    /// The content hash of every byte read.
    pub hash: String,
    /// Rows loaded.
    pub rows: usize,
}

/// Like [`load_file_into`], hashing the bytes as they stream past the parser: one read
/// of the file gives both its rows and its provenance.
pub fn load_file_with_provenance(
    path: &str,
    catalog: &Catalog,
    rows: &mut Vec<BenchRow>,
) -> Result<Provenance, DataError> {
    let (name, input) = open_source(path)?;
    let mut hash = ContentHash::default();
    let hashed = Hashed {
        inner: input,
        hash: &mut hash,
    };
    let count = read_each_row(&name, hashed, catalog, &mut |row| rows.push(row))?;
    Ok(Provenance {
        name,
        hash: hash.finish(),
        rows: count,
    })
}

/// A reader that feeds every byte it passes on to a [`ContentHash`].
struct Hashed<'h, R> {
    inner: R,
    hash: &'h mut ContentHash,
}

impl<R: Read> Read for Hashed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The file at `path` and the name to report it by, or the embedded copy of that name
/// when no such file exists.
fn open_source(path: &str) -> Result<(String, Box<dyn Read>), DataError> {
    if !Path::new(path).exists()
        && let Some((name, text)) = embedded_file(path)
    {
        return Ok((name.to_string(), Box::new(text.as_bytes())));
    }
    Ok((path.to_string(), Box::new(open_data_file(path)?)))
}

/// The benchmark file at `path`, buffered; an error lists the embedded files.
fn open_data_file(path: &str) -> Result<std::io::BufReader<std::fs::File>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| {
        let embedded: Vec<&str> = EMBEDDED_FILES.iter().map(|(n, _)| *n).collect();
        DataError::Io {
            path: path.to_string(),
            message: format!("{e} (embedded files: {})", embedded.join(", ")),
        }
    })?;
    Ok(std::io::BufReader::new(file))
}

fn read_each_row(
    file: &str,
    input: impl Read,
    catalog: &Catalog,
    sink: &mut dyn FnMut(BenchRow),
) -> Result<usize, DataError> {
    let mut count = 0;
    let index = Rc::new(RefCell::new(LineIndex::default()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(Indexed {
            inner: input,
            lines: Rc::clone(&index),
            line_bytes: 0,
        });
    let mut records = reader.records();
    let lines = LinesSoFar(&index);
    let place = |line: u64, e: FieldError| DataError::At {
        at: SourcePos::new(file, line, e.column),
        message: e.message,
    };
    let header = records
        .next()
        .ok_or_else(|| DataError::Empty {
            file: file.to_string(),
        })?
        .map_err(|e| csv_error(file, &e, &lines))?;
    let header_line = lines.of(header.position());
    let columns = header_map(&header).map_err(|e| place(header_line, e))?;
    let mut names = Interner::default();
    let file_name = names.name(file);
    for record in records {
        let record = record.map_err(|e| csv_error(file, &e, &lines))?;
        let line = lines.of(record.position());
        if record.len() != header.len() {
            let column = record.len().min(header.len()) + 1;
            let message = format!("expected {} fields, found {}", header.len(), record.len());
            return Err(place(line, at(column, message)));
        }
        let origin = Origin {
            file: file_name.clone(),
            line,
        };
        let row = parse_row(&record, &columns, catalog, origin, &mut names)
            .map_err(|e| place(line, e))?;
        sink(row);
        count += 1;
    }
    if count == 0 {
        return Err(DataError::Empty {
            file: file.to_string(),
        });
    }
    Ok(count)
}

fn csv_error(file: &str, e: &csv::Error, lines: &LinesSoFar<'_>) -> DataError {
    let line = lines.of(e.position());
    DataError::At {
        at: SourcePos::new(file, line, 1),
        message: format!("not valid CSV: {e}"),
    }
}

/// Column name → field index; every schema column must be present exactly once, each
/// optional column at most once.
fn header_map(header: &csv::StringRecord) -> Result<HashMap<&'static str, usize>, FieldError> {
    let mut map = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        let Some(known) = COLUMNS
            .iter()
            .chain(&OPTIONAL_COLUMNS)
            .find(|c| **c == name)
        else {
            return Err(at(
                i + 1,
                format!(
                    "unknown column `{name}`; the schema is {} (optional: {})",
                    COLUMNS.join(","),
                    OPTIONAL_COLUMNS.join(",")
                ),
            ));
        };
        if map.insert(*known, i).is_some() {
            return Err(at(i + 1, format!("column `{name}` appears twice")));
        }
    }
    if let Some(missing) = COLUMNS.iter().find(|c| !map.contains_key(*c)) {
        return Err(at(
            header.len() + 1,
            format!(
                "missing column `{missing}`; the schema is {}",
                COLUMNS.join(",")
            ),
        ));
    }
    Ok(map)
}

/// Typed access to one record's fields by column name.
struct Fields<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<&'static str, usize>,
}

impl Fields<'_> {
    fn column(&self, name: &str) -> usize {
        self.columns[name] + 1
    }

    /// The field's text, trimmed; empty when the field or its optional column is absent.
    fn text(&self, name: &str) -> &str {
        self.columns
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    fn optional<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, FieldError> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(None);
        }
        parse(text).map(Some).ok_or_else(|| {
            at(
                self.column(name),
                format!("{name}: expected {expected}, found `{text}`"),
            )
        })
    }

    fn positive_int(&self, name: &str) -> Result<Option<u32>, FieldError> {
        self.optional(
            name,
            |s| s.parse::<u32>().ok().filter(|v| *v > 0),
            "a positive integer",
        )
    }

    fn positive_number(&self, name: &str) -> Result<Option<f64>, FieldError> {
        self.optional(
            name,
            |s| s.parse::<f64>().ok().filter(|v| in_range(*v)),
            "a positive number from 1e-9 to 1e12",
        )
    }

    fn required_int(&self, name: &str) -> Result<u32, FieldError> {
        self.positive_int(name)?.ok_or_else(|| {
            at(
                self.column(name),
                format!("{name}: expected a positive integer, found an empty field"),
            )
        })
    }
}

/// The range every measured or stated number must lie in. Wider than any benchmark
/// (nanoseconds to a trillion tokens/s), narrow enough that ratios, logs and medians of it
/// stay finite: 1e308 or a subnormal 1e-320 once turned every statistic into NaN.
pub(crate) fn in_range(v: f64) -> bool {
    (1e-9..=1e12).contains(&v)
}

/// The statistic: as named, the mean when the cell is empty.
fn stat(f: &Fields<'_>) -> Result<Stat, FieldError> {
    Ok(match f.text("stat") {
        "" => Stat::Mean,
        s => s
            .parse::<Stat>()
            .map_err(|e| at(f.column("stat"), e.to_string()))?,
    })
}

fn parse_row(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
    catalog: &Catalog,
    origin: Origin,
    names: &mut Interner,
) -> Result<BenchRow, FieldError> {
    let f = Fields { record, columns };
    let source = f.text("source");
    if source.is_empty() {
        return Err(at(
            f.column("source"),
            "source: expected who measured the row, found an empty field",
        ));
    }
    let model = catalog
        .model(f.text("model"))
        .map_err(|e| at(f.column("model"), e.to_string()))?;
    let gpu = catalog
        .gpu(f.text("gpu"))
        .map_err(|e| at(f.column("gpu"), e.to_string()))?;
    let precision = f.optional(
        "precision",
        |s| s.parse::<Precision>().ok(),
        "fp16, bf16, fp8, int8, int4 or fp4",
    )?;
    let metric = f
        .text("metric")
        .parse::<Metric>()
        .map_err(|e| at(f.column("metric"), e.to_string()))?;
    let stat = stat(&f)?;
    let condition = parse_condition(&f, metric)?;
    let value = observed(&f)?;
    let tp = f.positive_int("tp")?;
    if let Some(tp) = tp {
        check_tp(model, tp).map_err(|e| at(f.column("tp"), format!("tp: {e}")))?;
    }
    let (isl, osl) = (f.required_int("isl")?, f.required_int("osl")?);
    Ok(BenchRow {
        source: names.name(source),
        model: names.name(&model.slug),
        gpu: names.name(&gpu.slug),
        tp,
        pp: f.positive_int("pp")?,
        precision,
        engine: names.name(f.text("engine")),
        isl,
        osl,
        condition,
        metric,
        stat,
        value,
        note: names.name(f.text("note")),
        synthetic_weights: synthetic_weights(&f)?,
        origin,
    })
}

/// Whether the run served generated weights (`weights` = `synthetic`).
fn synthetic_weights(f: &Fields<'_>) -> Result<bool, FieldError> {
    f.optional(
        "weights",
        |s| match s {
            "synthetic" => Some(true),
            "real" => Some(false),
            _ => None,
        },
        "`synthetic` (a fake-weight build), `real` or an empty field",
    )
    .map(|v| v.unwrap_or(false))
}

/// The measured value: a positive number, or `NA` when the run did not complete.
fn observed(f: &Fields<'_>) -> Result<Observed, FieldError> {
    Ok(match f.text("value") {
        "NA" | "N/A" | "na" => Observed::NotAchievable,
        _ => Observed::Value(f.positive_number("value")?.ok_or_else(|| {
            at(
                f.column("value"),
                "value: expected a positive number or NA, found an empty field",
            )
        })?),
    })
}

/// At most one of batch_size / concurrency / ttft_budget_s; `gpus_for_target` needs a
/// budget and a target rate. For any other metric `target_rps` alone is the arrival rate
/// of an open-loop run (requests/s offered to the whole deployment).
fn parse_condition(f: &Fields<'_>, metric: Metric) -> Result<Condition, FieldError> {
    let batch = f.positive_int("batch_size")?;
    let clients = f.positive_number("concurrency")?;
    let budget = f.positive_number("ttft_budget_s")?;
    let target = f.positive_number("target_rps")?;
    let set: Vec<&str> = [
        ("batch_size", batch.is_some()),
        ("concurrency", clients.is_some()),
        ("ttft_budget_s", budget.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if set.len() > 1 {
        return Err(at(
            f.column(set[1]),
            format!(
                "{} and {} are both set; a row has at most one condition",
                set[0], set[1]
            ),
        ));
    }
    if metric == Metric::GpusForTarget && (budget.is_none() || target.is_none()) {
        let missing = if budget.is_none() {
            "ttft_budget_s"
        } else {
            "target_rps"
        };
        return Err(at(
            f.column(missing),
            format!(
                "metric gpus_for_target needs ttft_budget_s and target_rps; {missing} is empty"
            ),
        ));
    }
    if metric != Metric::GpusForTarget && target.is_some() && !set.is_empty() {
        return Err(at(
            f.column("target_rps"),
            format!(
                "target_rps beside {} is only meaningful for metric gpus_for_target; alone \
                 it is the arrival rate of an open-loop run",
                set[0]
            ),
        ));
    }
    Ok(match (batch, clients, budget) {
        (Some(batch_size), _, _) => Condition::StaticBatch { batch_size },
        (_, Some(clients), _) => Condition::Concurrency { clients },
        (_, _, Some(budget_s)) => Condition::TtftBudget {
            budget_s,
            target_rps: target,
            itl_budget_s: None,
        },
        (None, None, None) => {
            target.map_or(Condition::Saturated, |rps| Condition::ArrivalRate { rps })
        }
    })
}
