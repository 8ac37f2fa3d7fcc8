//! GenAI-Perf `profile_export_genai_perf` exports, CSV or JSON (told apart by a leading
//! `{`). The CSV holds two tables — per-request metrics with avg/min/max/percentiles, then
//! throughputs — with numbers like `"1,916.33"`; the JSON holds the same plus
//! `input_config` (model, concurrency, token counts, backend). TTFT, ITL and request
//! latency become `ttft_s`, `itl_s` and `e2e_s` at mean, p50, p90, p95 and p99; the
//! throughputs become `output_tok_s` and `req_per_s`; all at the run's concurrency. GPU,
//! TP and precision are not recorded: they must come from flags.

use serde_json::Value;

use super::{Overrides, Run, at, json_error, keep, token_count};
use crate::bench::{BenchRow, DataError, LineIndex, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Stat};

const SOURCE: &str = "genai-perf";

/// (GenAI-Perf name in CSV, JSON key, metric, divisor to seconds). Dividing by 1000
/// rounds correctly where multiplying by 1e-3 would add float noise to the written value.
const LATENCIES: [(&str, &str, Metric, f64); 3] = [
    (
        "Time To First Token (ms)",
        "time_to_first_token",
        Metric::TtftS,
        1000.0,
    ),
    (
        "Inter Token Latency (ms)",
        "inter_token_latency",
        Metric::ItlS,
        1000.0,
    ),
    (
        "Request Latency (ms)",
        "request_latency",
        Metric::E2eS,
        1000.0,
    ),
];
const THROUGHPUTS: [(&str, &str, Metric); 2] = [
    (
        "Output Token Throughput (per sec)",
        "output_token_throughput",
        Metric::OutputTokS,
    ),
    (
        "Request Throughput (per sec)",
        "request_throughput",
        Metric::ReqPerS,
    ),
];
const STATS: [(&str, Stat); 5] = [
    ("avg", Stat::Mean),
    ("p50", Stat::P50),
    ("p90", Stat::P90),
    ("p95", Stat::P95),
    ("p99", Stat::P99),
];

/// What one export says, before it becomes rows.
#[derive(Default)]
struct Export {
    values: Vec<(Metric, Stat, f64)>,
    isl: Option<f64>,
    osl: Option<f64>,
    model: Option<String>,
    concurrency: Option<f64>,
    backend: Option<String>,
}

/// Converts one export.
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    o: &Overrides,
    skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let export = if text.trim_start().starts_with('{') {
        parse_json(file, text)?
    } else {
        parse_csv(file, text)?
    };
    rows(file, export, catalog, o, skipped)
}

/// `"1,916.33"` → 1916.33.
fn number(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn parse_csv(file: &str, text: &str) -> Result<Export, DataError> {
    let lines = LineIndex::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut export = Export::default();
    let mut stat_columns: Option<Vec<(usize, Stat)>> = None;
    let mut saw_throughputs = false;
    for record in reader.records() {
        let r = record.map_err(|e| {
            at(
                file,
                lines.of(e.position()),
                1,
                format!("not valid CSV: {e}"),
            )
        })?;
        let line = lines.of(r.position());
        let name = r.get(0).unwrap_or("").trim();
        match name {
            "" => continue,
            "Metric" if r.get(1).map(str::trim) == Some("Value") => saw_throughputs = true,
            "Metric" => {
                stat_columns = Some(
                    r.iter()
                        .enumerate()
                        .filter_map(|(i, h)| {
                            STATS
                                .iter()
                                .find(|(n, _)| *n == h.trim())
                                .map(|(_, s)| (i, *s))
                        })
                        .collect(),
                )
            }
            _ if saw_throughputs => throughput_cell(file, line, &r, &mut export)?,
            _ => {
                let columns = stat_columns.as_ref().ok_or_else(|| {
                    at(
                        file,
                        line,
                        1,
                        "expected the `Metric,avg,min,max,...` header before the metrics",
                    )
                })?;
                statistic_cells(file, line, &r, columns, &mut export)?;
            }
        }
    }
    if stat_columns.is_none() {
        return Err(at(
            file,
            1,
            1,
            "missing the `Metric,avg,min,max,p99,...` table: not a GenAI-Perf CSV export",
        ));
    }
    Ok(export)
}

/// A row of the throughput table (`Metric,Value`): a throughput GenAI-Perf reports.
fn throughput_cell(
    file: &str,
    line: u64,
    r: &csv::StringRecord,
    export: &mut Export,
) -> Result<(), DataError> {
    let name = r.get(0).unwrap_or("").trim();
    if let Some((_, _, metric)) = THROUGHPUTS.iter().find(|(n, _, _)| *n == name) {
        let cell = r.get(1).unwrap_or("");
        let v = number(cell).ok_or_else(|| {
            at(
                file,
                line,
                2,
                format!("{name}: expected a number, found `{cell}`"),
            )
        })?;
        export.values.push((*metric, Stat::Mean, v));
    }
    Ok(())
}

/// A row of the statistics table: one value per statistic column, a latency (in its
/// unit) or the mean sequence lengths.
fn statistic_cells(
    file: &str,
    line: u64,
    r: &csv::StringRecord,
    columns: &[(usize, Stat)],
    export: &mut Export,
) -> Result<(), DataError> {
    let name = r.get(0).unwrap_or("").trim();
    for &(column, stat) in columns {
        let cell = r.get(column).unwrap_or("");
        let v = number(cell).ok_or_else(|| {
            at(
                file,
                line,
                column + 1,
                format!("{name}: expected a number, found `{cell}`"),
            )
        })?;
        match name {
            "Input Sequence Length" if stat == Stat::Mean => export.isl = Some(v),
            "Output Sequence Length" if stat == Stat::Mean => export.osl = Some(v),
            _ => {
                if let Some((_, _, metric, divisor)) = LATENCIES.iter().find(|(n, ..)| *n == name) {
                    export.values.push((*metric, stat, v / divisor));
                }
            }
        }
    }
    Ok(())
}

fn parse_json(file: &str, text: &str) -> Result<Export, DataError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    let missing = |key: &str| {
        at(
            file,
            1,
            1,
            format!("missing `{key}`: not a GenAI-Perf JSON export"),
        )
    };
    let mut export = Export::default();
    for (_, key, metric, divisor) in LATENCIES {
        let entry = doc.get(key).ok_or_else(|| missing(key))?;
        for (name, stat) in STATS {
            if let Some(v) = json_number(file, text, entry, key, name)? {
                export.values.push((metric, stat, v / divisor));
            }
        }
    }
    for (_, key, metric) in THROUGHPUTS {
        let v = doc
            .get(key)
            .and_then(|e| e.get("avg"))
            .and_then(Value::as_f64)
            .ok_or_else(|| missing(&format!("{key}.avg")))?;
        export.values.push((metric, Stat::Mean, v));
    }
    for (key, slot) in [
        ("input_sequence_length", &mut export.isl),
        ("output_sequence_length", &mut export.osl),
    ] {
        if let Some(entry) = doc.get(key) {
            *slot = json_number(file, text, entry, key, "avg")?;
        }
    }
    let config = doc.get("input_config");
    export.model = config
        .and_then(|c| c.get("model"))
        .and_then(|m| m.get(0).or(Some(m)))
        .and_then(Value::as_str)
        .map(String::from);
    if let Some(config) = config {
        export.concurrency = json_number(file, text, config, "input_config", "concurrency")?;
    }
    export.backend = config
        .and_then(|c| c.get("backend"))
        .and_then(Value::as_str)
        .map(String::from);
    Ok(export)
}

/// `entry[name]` as a number: absent is `None`, anything but a number is an error naming
/// the field and the line where `key` (the entry's name) appears.
fn json_number(
    file: &str,
    text: &str,
    entry: &Value,
    key: &str,
    name: &str,
) -> Result<Option<f64>, DataError> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
            let line = text
                .find(&format!("\"{key}\""))
                .map_or(1, |at| text[..at].matches('\n').count() as u64 + 1);
            at(
                file,
                line,
                1,
                format!("{key}.{name}: expected a number, found {v}"),
            )
        }),
    }
}

/// The concurrency in a file name such as `llama3-8b-concurrency10.csv`.
fn concurrency_in_name(file: &str) -> Option<f64> {
    let name = file.rsplit('/').next()?;
    let digits: String = name
        .split("concurrency")
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn required<T>(value: Option<T>, file: &str, flag: &str, what: &str) -> Result<T, DataError> {
    super::required(
        value,
        file,
        flag,
        &format!("GenAI-Perf exports do not record {what}"),
    )
}

/// The mean input and output lengths the export measured, as token counts.
fn lengths(file: &str, e: &Export) -> Result<(u32, u32), DataError> {
    let isl = required(
        e.isl,
        file,
        "the `Input Sequence Length` metric",
        "token counts otherwise",
    )?;
    let isl = token_count(file, "Input Sequence Length", isl)?;
    let osl = required(
        e.osl,
        file,
        "the `Output Sequence Length` metric",
        "token counts otherwise",
    )?;
    let osl = token_count(file, "Output Sequence Length", osl)?;
    Ok((isl, osl))
}

/// What every row of the export shares, from the file and the flags; a fact that is
/// missing or out of range is an error naming it.
fn run_of(file: &str, e: &Export, catalog: &Catalog, o: &Overrides) -> Result<Run, DataError> {
    let model_name = required(
        o.model.clone().or(e.model.clone()),
        file,
        "--model",
        "the model in the CSV form (import the JSON, or pass it)",
    )?;
    let model = catalog
        .model(&model_name)
        .map_err(|err| at(file, 1, 1, err.to_string()))?;
    let gpu = catalog
        .gpu(&required(o.gpu.clone(), file, "--gpu", "the GPU")?)
        .map_err(|err| at(file, 1, 1, err.to_string()))?;
    let tp = required(o.tp, file, "--tp", "the tensor-parallel degree")?;
    let precision: Precision = required(o.precision, file, "--precision", "the precision")?;
    let clients = required(
        o.concurrency
            .or(e.concurrency)
            .or_else(|| concurrency_in_name(file)),
        file,
        "--concurrency",
        "the concurrency in the CSV form",
    )?;
    if !(clients.is_finite() && clients > 0.0 && clients <= 1e6) {
        return Err(at(
            file,
            1,
            1,
            format!("concurrency: expected a number of clients from 1 to 1e6, found {clients}"),
        ));
    }
    let (isl, osl) = lengths(file, e)?;
    let engine = o
        .engine
        .clone()
        .or(e.backend.clone())
        .unwrap_or_else(|| "genai-perf".to_string());
    Ok(Run {
        source: SOURCE.to_string().into(),
        model: model.slug.clone().into(),
        gpu: gpu.slug.clone().into(),
        tp,
        pp: 1,
        precision,
        engine: engine.into(),
        isl,
        osl,
        condition: Condition::Concurrency { clients },
        origin: Origin {
            file: file.to_string().into(),
            line: 1,
        },
    })
}

fn rows(
    file: &str,
    e: Export,
    catalog: &Catalog,
    o: &Overrides,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let run = run_of(file, &e, catalog, o)?;
    let name = file.rsplit('/').next().unwrap_or(file).to_string();
    let mut rows = Vec::new();
    for (metric, stat, v) in e.values {
        // A latency or throughput of zero or less is no measurement; it is reported, not
        // dropped.
        let value = if crate::bench::value_in_range(v) {
            Ok(v)
        } else {
            Err(at(
                file,
                1,
                1,
                format!("{metric} ({stat}): expected a positive number, found {v}"),
            ))
        };
        if let Some(v) = keep(value, &mut skipped)? {
            rows.push(run.row(metric, stat, Observed::Value(v), name.clone()));
        }
    }
    Ok(rows)
}
