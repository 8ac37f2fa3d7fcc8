//! TensorRT-LLM's `docs/source/performance/perf-overview.md`, read as the Markdown it is:
//! the max-throughput tables (output tokens/s of the whole deployment with every request
//! queued at once; one table per version, GPUs as columns) and the online-serving table
//! (a request-rate sweep with mean TTFT, mean ITL, req/s and output tok/s). Two table
//! shapes of max throughput are known: the 0.17 one (`| Throughput (tokens / sec) |`, a
//! `Precision` row, a TP column, `ISL, OSL` cells) and the 1.0 one (a `#### Model`
//! heading, columns `GPU<br/>TPn[,PPm] (PREC)`, `ISL/OSL` cells, thousands separators).
//!
//! The engine version is read from the statement above a table ("generated using version
//! 0.17"); where the file states none, `--engine` must say it. The online table's `QPS`
//! becomes an open-loop arrival rate; `INF` (every request at once) a saturated run.
//!
//! ## References
//! - NVIDIA/TensorRT-LLM `docs/source/performance/perf-overview.md` @258c7540 (0.17 and
//!   0.14 tables) and @00f37686 (1.0 tables), Apache-2.0: the table shapes and the
//!   meaning of each column ("Total Output Throughput", "QPS", "Mean TTFT(ms)").

use super::{Overrides, Run, at, keep};
use crate::bench::{BenchRow, DataError, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

const SOURCE: &str = "trtllm-perf-overview";

/// The table being read.
enum Section {
    /// Prose, or a table of no interest.
    None,
    /// The 0.17-shaped max-throughput table: GPU and precision per column.
    Columns {
        gpus: Vec<String>,
        precisions: Vec<String>,
        model: Option<String>,
        tp: Option<u32>,
    },
    /// A 1.0-shaped max-throughput table of one model.
    Model {
        model: String,
        rtx: bool,
        columns: Vec<Column>,
    },
    /// The online-serving table; blank cells repeat the row above.
    Online { carried: [String; 5] },
}

/// What a table names of one run, as written in the page.
struct Named<'a> {
    model: &'a str,
    gpu: &'a str,
    tp: u32,
    pp: u32,
    precision: &'a str,
    isl: u32,
    osl: u32,
}

/// A 1.0 table column: GPU, TP, PP, precision.
struct Column {
    gpu: String,
    tp: u32,
    pp: u32,
    precision: String,
}

/// The cells of a Markdown table line, trimmed; `None` for other lines.
fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    Some(inner.split('|').map(str::trim).collect())
}

fn is_rule(line: &str) -> bool {
    line.chars().all(|c| matches!(c, '|' | ':' | '-' | ' '))
}

/// Converts the tables of one perf-overview page in `text`.
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    overrides: &Overrides,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let mut reader = Reader {
        file,
        catalog,
        version: None,
        flag_engine: overrides.engine.clone(),
        statement: String::new(),
    };
    let mut section = Section::None;
    let mut rows = Vec::new();
    let mut tables = 0;
    for (index, line) in text.lines().enumerate() {
        let line_no = index as u64 + 1;
        let result = reader.line(line_no, line, &mut section, &mut tables);
        for row in keep(result, &mut skipped)?.into_iter().flatten() {
            rows.push(row);
        }
    }
    if tables == 0 {
        return Err(at(
            file,
            1,
            1,
            "no perf-overview table found: expected a `| Throughput (tokens / sec) |` table, \
             a `#### Model` heading followed by a `| Sequence Length (ISL/OSL) |` table, or \
             `## Online Serving Measurements`",
        ));
    }
    Ok(rows)
}

struct Reader<'a> {
    file: &'a str,
    catalog: &'a Catalog,
    /// The version the last "generated using version X" statement gave.
    version: Option<String>,
    flag_engine: Option<String>,
    /// The last bold statement (for the online table's precision).
    statement: String,
}

impl Reader<'_> {
    /// A bold statement above a table: kept for its precision, and its "generated using
    /// version X.Y.Z" read as the engine version X.Y.
    fn statement(&mut self, statement: &str) {
        self.statement = statement.to_string();
        if let Some(rest) = statement.split("generated using version ").nth(1) {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let parts: Vec<&str> = version.trim_end_matches('.').split('.').take(2).collect();
            self.version = Some(parts.join("."));
        }
    }

    /// Reads one line; a table row gives its observations.
    fn line(
        &mut self,
        line: u64,
        text: &str,
        section: &mut Section,
        tables: &mut usize,
    ) -> Result<Vec<BenchRow>, DataError> {
        if let Some(statement) = text.trim().strip_prefix("**") {
            self.statement(statement);
            return Ok(Vec::new());
        }
        if let Some(model) = text.strip_prefix("#### ") {
            *section = Section::Model {
                model: model.trim().to_string(),
                rtx: false,
                columns: Vec::new(),
            };
            return Ok(Vec::new());
        }
        if text.starts_with("## Online Serving") {
            *section = Section::Online {
                carried: Default::default(),
            };
            *tables += 1;
            return Ok(Vec::new());
        }
        if text.starts_with("RTX 6000 Pro") {
            if let Section::Model { rtx, .. } = section {
                *rtx = true;
            }
            return Ok(Vec::new());
        }
        if text.starts_with("#") {
            *section = Section::None;
            return Ok(Vec::new());
        }
        let Some(c) = cells(text) else {
            return Ok(Vec::new());
        };
        if is_rule(text) {
            return Ok(Vec::new());
        }
        if c.first() == Some(&"Throughput (tokens / sec)") {
            *section = Section::Columns {
                gpus: c.iter().skip(3).map(|s| s.to_string()).collect(),
                precisions: Vec::new(),
                model: None,
                tp: None,
            };
            *tables += 1;
            return Ok(Vec::new());
        }
        match section {
            Section::None => Ok(Vec::new()),
            Section::Columns { .. } => self.columns_row(line, &c, section),
            Section::Model { .. } => self.model_row(line, &c, section, tables),
            Section::Online { carried } => self.online_row(line, &c, carried),
        }
    }

    fn engine(&self, line: u64) -> Result<String, DataError> {
        match (&self.version, &self.flag_engine) {
            (Some(v), _) => Ok(format!("trtllm-{v}")),
            (None, Some(flag)) => Ok(flag.clone()),
            (None, None) => Err(at(
                self.file,
                line,
                1,
                "the engine version is not stated above this table: pass --engine (e.g. trtllm-1.0)",
            )),
        }
    }

    fn fail(&self, line: u64, column: usize, message: impl Into<String>) -> DataError {
        at(self.file, line, column, message)
    }

    fn number(&self, line: u64, column: usize, text: &str) -> Result<f64, DataError> {
        text.replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| {
                self.fail(
                    line,
                    column,
                    format!("expected a positive number, found `{text}`"),
                )
            })
    }

    fn count(&self, line: u64, column: usize, text: &str) -> Result<u32, DataError> {
        text.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
            self.fail(
                line,
                column,
                format!("expected a positive integer, found `{text}`"),
            )
        })
    }

    /// `ISL, OSL` or `ISL/OSL`.
    fn lengths(&self, line: u64, column: usize, text: &str) -> Result<(u32, u32), DataError> {
        let mut parts = text.split([',', '/']).map(str::trim);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(i), Some(o), None) => {
                Ok((self.count(line, column, i)?, self.count(line, column, o)?))
            }
            _ => Err(self.fail(
                line,
                column,
                format!(
                    "expected input and output lengths (`128, 128` or `128/128`), found `{text}`"
                ),
            )),
        }
    }

    /// A max-throughput cell: the saturated output tok/s of the run `named` names.
    fn max_throughput(
        &self,
        line: u64,
        named: &Named<'_>,
        value: f64,
    ) -> Result<BenchRow, DataError> {
        let run = self.run(line, named, Condition::Saturated)?;
        Ok(run.row(
            Metric::OutputTokS,
            Stat::Mean,
            Observed::Value(value),
            "max throughput, every request queued at once".to_string(),
        ))
    }

    fn run(&self, line: u64, cell: &Named<'_>, condition: Condition) -> Result<Run, DataError> {
        let model = self
            .catalog
            .model(cell.model)
            .map_err(|e| self.fail(line, 1, e.to_string()))?;
        let gpu = self
            .catalog
            .gpu(cell.gpu)
            .map_err(|e| self.fail(line, 1, e.to_string()))?;
        let precision = cell
            .precision
            .parse::<Precision>()
            .map_err(|e| self.fail(line, 1, e.to_string()))?;
        Ok(Run {
            source: SOURCE.to_string().into(),
            model: model.slug.clone().into(),
            gpu: gpu.slug.clone().into(),
            tp: cell.tp,
            pp: cell.pp,
            precision,
            engine: self.engine(line)?.into(),
            isl: cell.isl,
            osl: cell.osl,
            condition,
            origin: Origin {
                file: self.file.to_string().into(),
                line,
            },
        })
    }

    /// A row of the 0.17-shaped table: `model | tp | ISL, OSL | value per GPU column`.
    fn columns_row(
        &self,
        line: u64,
        c: &[&str],
        section: &mut Section,
    ) -> Result<Vec<BenchRow>, DataError> {
        let Section::Columns {
            gpus,
            precisions,
            model,
            tp,
        } = section
        else {
            return Ok(Vec::new());
        };
        if c.get(1) == Some(&"Precision") {
            *precisions = c.iter().skip(3).map(|s| s.to_string()).collect();
            return Ok(Vec::new());
        }
        if c.first() == Some(&"Model") || c.len() < 3 {
            return Ok(Vec::new());
        }
        if !c[0].is_empty() {
            *model = Some(c[0].to_string());
        }
        if !c[1].is_empty() {
            *tp = Some(self.count(line, 2, c[1])?);
        }
        let (Some(model), Some(tp)) = (model.clone(), *tp) else {
            return Err(self.fail(line, 1, "a table row before any model and TP"));
        };
        let lengths = self.lengths(line, 3, c[2])?;
        let mut rows = Vec::new();
        for (i, value) in c.iter().enumerate().skip(3) {
            if value.is_empty() {
                continue;
            }
            let (Some(gpu), Some(precision)) = (gpus.get(i - 3), precisions.get(i - 3)) else {
                return Err(self.fail(line, i + 1, "a value in a column with no GPU or precision"));
            };
            let value = self.number(line, i + 1, value)?;
            let named = Named {
                model: &model,
                gpu,
                tp,
                pp: 1,
                precision,
                isl: lengths.0,
                osl: lengths.1,
            };
            rows.push(self.max_throughput(line, &named, value)?);
        }
        Ok(rows)
    }
}

impl Reader<'_> {
    /// A row of a 1.0-shaped table (or its header, which names the columns).
    fn model_row(
        &self,
        line: u64,
        c: &[&str],
        section: &mut Section,
        tables: &mut usize,
    ) -> Result<Vec<BenchRow>, DataError> {
        let Section::Model {
            model,
            rtx,
            columns,
        } = section
        else {
            return Ok(Vec::new());
        };
        if c.first().is_some_and(|h| h.starts_with("Sequence Length")) {
            *columns = c
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, h)| self.column(line, i + 1, h, *rtx))
                .collect::<Result<_, _>>()?;
            *tables += 1;
            return Ok(Vec::new());
        }
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        let lengths = self.lengths(line, 1, c[0])?;
        let mut rows = Vec::new();
        for (i, value) in c.iter().enumerate().skip(1) {
            if value.is_empty() {
                continue;
            }
            let Some(column) = columns.get(i - 1) else {
                return Err(self.fail(line, i + 1, "a value beyond the header's columns"));
            };
            let value = self.number(line, i + 1, value)?;
            let named = Named {
                model,
                gpu: &column.gpu,
                tp: column.tp,
                pp: column.pp,
                precision: &column.precision,
                isl: lengths.0,
                osl: lengths.1,
            };
            rows.push(self.max_throughput(line, &named, value)?);
        }
        Ok(rows)
    }

    /// `B200<br/>TP1 (FP4)` or `**4 GPUs**<br/>TP2,PP2 (FP4)` (an RTX 6000 Pro table).
    fn column(
        &self,
        line: u64,
        index: usize,
        header: &str,
        rtx: bool,
    ) -> Result<Column, DataError> {
        let bad = || {
            self.fail(
                line,
                index,
                format!("expected `GPU<br/>TPn[,PPm] (PRECISION)`, found `{header}`"),
            )
        };
        let (name, layout) = header.split_once("<br/>").ok_or_else(bad)?;
        let (parallel, precision) = layout.split_once('(').ok_or_else(bad)?;
        let precision = precision.trim_end_matches(')').trim().to_ascii_lowercase();
        let mut tp = None;
        let mut pp = 1;
        for part in parallel.trim().split(',') {
            if let Some(n) = part.trim().strip_prefix("TP") {
                tp = Some(self.count(line, index, n)?);
            } else if let Some(n) = part.trim().strip_prefix("PP") {
                pp = self.count(line, index, n)?;
            } else {
                return Err(bad());
            }
        }
        let gpu = if rtx {
            "RTX Pro 6000 Blackwell Server Edition".to_string()
        } else {
            name.replace('*', "").trim().to_string()
        };
        Ok(Column {
            gpu,
            tp: tp.ok_or_else(bad)?,
            pp,
            precision,
        })
    }

    /// `model | gpu | tp | ISL | OSL | QPS | req/s | TTFT ms | ITL ms | total tok/s | out tok/s`.
    fn online_row(
        &self,
        line: u64,
        c: &[&str],
        carried: &mut [String; 5],
    ) -> Result<Vec<BenchRow>, DataError> {
        if c.first().is_some_and(|h| h.starts_with("**Model")) {
            return Ok(Vec::new());
        }
        if c.len() < 11 {
            return Err(self.fail(
                line,
                c.len() + 1,
                format!(
                    "expected 11 cells (model to output tok/s), found {}",
                    c.len()
                ),
            ));
        }
        for (slot, cell) in carried.iter_mut().zip(c) {
            if !cell.is_empty() {
                *slot = cell.to_string();
            }
        }
        let [model, gpu, tp, isl, osl] = &*carried;
        let tp = self.count(line, 3, tp)?;
        let lengths = (self.count(line, 4, isl)?, self.count(line, 5, osl)?);
        let condition = match c[5] {
            "INF" => Condition::Saturated,
            qps => Condition::ArrivalRate {
                rps: self.number(line, 6, qps)?,
            },
        };
        let precision = Precision::ALL
            .into_iter()
            .find(|p| self.statement.contains(&p.as_str().to_ascii_uppercase()))
            .ok_or_else(|| {
                self.fail(line, 1, "the statement above the table names no precision")
            })?;
        let named = Named {
            model,
            gpu,
            tp,
            pp: 1,
            precision: precision.as_str(),
            isl: lengths.0,
            osl: lengths.1,
        };
        let run = self.run(line, &named, condition)?;
        self.online_values(line, c, &run)
    }

    /// The four figures of an online-serving row, as rows of `run`.
    fn online_values(&self, line: u64, c: &[&str], run: &Run) -> Result<Vec<BenchRow>, DataError> {
        let note = format!("online serving via Triton, 500 requests, QPS {}", c[5]);
        let metrics = [
            (6, Metric::ReqPerS, 1.0),
            (7, Metric::TtftS, 1e-3),
            (8, Metric::ItlS, 1e-3),
            (10, Metric::OutputTokS, 1.0),
        ];
        let mut rows = Vec::new();
        for (index, metric, scale) in metrics {
            // At QPS INF every request arrives at once: only the throughputs are a
            // saturated run's; its TTFT is the queue of 500 requests, not a serving figure.
            if matches!(run.condition, Condition::Saturated)
                && matches!(metric, Metric::TtftS | Metric::ItlS)
            {
                continue;
            }
            let value = self.number(line, index + 1, c[index])? * scale;
            rows.push(run.row(metric, Stat::Mean, Observed::Value(value), note.clone()));
        }
        Ok(rows)
    }
}
