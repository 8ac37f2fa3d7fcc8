//! vLLM serving-benchmark results: the JSON that `vllm bench serve --save-result` (and the
//! older `benchmarks/benchmark_serving.py --save-result`) writes, one run per object;
//! `--append-result` appends one object per line, and each becomes a run. The load is
//! what the file records: `max_concurrency` clients with `request_rate` `"inf"` is a
//! closed loop (concurrency), and neither is every prompt sent at once, whose throughput
//! is the saturated rate (its latencies include the whole burst's queue, so only the
//! throughputs are imported). A finite `request_rate` with Poisson arrivals (`burstiness`
//! 1, the default) and no client cap is an open-loop run at that rate; gamma arrivals
//! (any other burstiness) and a rate under a client cap are refused with their reason, as
//! the model has neither. TTFT, ITL and end-to-end latency become `ttft_s`, `itl_s` and `e2e_s`
//! at every statistic the file holds (mean, median as p50, p90, p95, p99); the throughputs
//! become `output_tok_s` and `req_per_s`. ISL and OSL are the mean lengths of the
//! completed requests. GPU, TP and precision are not recorded: they come from flags.
//!
//! ## References
//! - vLLM, `vllm/benchmarks/serve.py` (commit 009e6d4a): the `result` dict of
//!   `benchmark()` and the `result_json` fields `main` adds (`request_rate` written as the
//!   string `"inf"` when unlimited, `max_concurrency` as `null` when unset).

use serde_json::Value;

use super::{Overrides, Run, at, deployment_from_flags, json_error, keep, token_count};
use crate::bench::{BenchRow, DataError, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::scenario::{Condition, Stat};
use crate::textfile::SourcePos;

/// What differs between the serving benchmarks that write vLLM's result layout (SGLang's
/// `bench_serving` began as a copy of vLLM's script): names, the end-to-end key and where
/// the file records the model, TP and engine.
pub(super) struct Dialect {
    /// The rows' `source`.
    pub source: &'static str,
    /// What the files are called in errors ("vLLM benchmark results").
    pub format: &'static str,
    /// The key infix of the end-to-end latency: `mean_<infix>_ms`.
    pub e2e_infix: &'static str,
    /// The key naming the model, for errors.
    pub model_key: &'static str,
    /// The model the run records, if it does.
    pub model: fn(&Value) -> Option<String>,
    /// The tensor-parallel degree the run records, if it does.
    pub tp: fn(&Value) -> Option<u32>,
    /// The engine the run's backend names, if it does.
    pub engine: fn(&Value) -> Option<String>,
}

/// vLLM's own layout.
const VLLM: Dialect = Dialect {
    source: "vllm-bench",
    format: "vLLM benchmark results",
    e2e_infix: "e2el",
    model_key: "model_id",
    model: |doc| {
        doc.get("model_id")
            .and_then(Value::as_str)
            .map(String::from)
    },
    tp: |_| None,
    engine: |doc| {
        let backend = doc.get("backend").and_then(Value::as_str);
        Some(backend.unwrap_or("vllm").to_string())
    },
};
/// (key prefix, statistic).
const STATS: [(&str, Stat); 5] = [
    ("mean", Stat::Mean),
    ("median", Stat::P50),
    ("p90", Stat::P90),
    ("p95", Stat::P95),
    ("p99", Stat::P99),
];
const THROUGHPUTS: [(&str, Metric); 2] = [
    ("output_throughput", Metric::OutputTokS),
    ("request_throughput", Metric::ReqPerS),
];

/// Converts every run in `text` (one JSON object, or one per line).
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    o: &Overrides,
    skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    import_dialect(&VLLM, file, text, catalog, o, skipped)
}

/// Converts every run in `text` written in `dialect`. Python's `json.dumps` writes an
/// unlimited rate as a bare `Infinity`, which is not JSON: it is read as `"inf"`.
pub(super) fn import_dialect(
    dialect: &Dialect,
    file: &str,
    text: &str,
    catalog: &Catalog,
    o: &Overrides,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let text = &*python_json(text);
    let mut rows = Vec::new();
    let mut runs = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut count = 0;
    loop {
        let offset = runs.byte_offset();
        let Some(doc) = runs.next() else { break };
        let doc = doc.map_err(|e| json_error(file, &e))?;
        // The run starts at its first non-blank byte after the previous one.
        let rest = &text[offset..];
        let start = offset + (rest.len() - rest.trim_start().len());
        let line = SourcePos::of_offset(file, text, start).line;
        count += 1;
        let run = Located {
            file,
            line,
            doc: &doc,
        };
        rows.extend(run_rows(dialect, &run, catalog, o, &mut skipped)?);
    }
    if count == 0 {
        return Err(at(file, 1, 1, format!("no run: empty {}", dialect.format)));
    }
    Ok(rows)
}

/// `text` with Python's non-JSON number literals outside strings (`Infinity`,
/// `-Infinity`, `NaN`) turned into JSON (`"inf"`, `"-inf"`, `null`). The infinities keep
/// their width, so an error's column still points into the file.
pub(super) fn python_json(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("Infinity") && !text.contains("NaN") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            (in_string, escaped) = (escaped || c != '"', !escaped && c == '\\');
        } else if c == '"' {
            in_string = true;
        } else if let Some((literal, json)) = [
            ("-Infinity", "\"-inf\"   "),
            ("Infinity", "\"inf\"   "),
            ("NaN", "null"),
        ]
        .into_iter()
        .find(|(literal, _)| rest.starts_with(literal))
        {
            out.push_str(json);
            rest = &rest[literal.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.into()
}

/// One run of a file: the file, the line it starts on and its object.
struct Located<'a> {
    file: &'a str,
    line: u64,
    doc: &'a Value,
}

/// The place of `key` in the run starting on `line`, for errors.
fn fail(file: &str, line: u64, key: &str, problem: impl std::fmt::Display) -> DataError {
    at(file, line, 1, format!("{key}: {problem}"))
}

/// `doc[key]` as a number (`None` when absent or null).
fn number(file: &str, line: u64, doc: &Value, key: &str) -> Result<Option<f64>, DataError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| fail(file, line, key, format!("expected a number, found {v}"))),
    }
}

/// The load the run was driven by, from `request_rate` and `max_concurrency`.
fn condition(file: &str, line: u64, doc: &Value) -> Result<Condition, DataError> {
    let rate = match doc.get("request_rate") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "inf" => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|r| *r > 0.0 && r.is_finite())
                .ok_or_else(|| {
                    fail(
                        file,
                        line,
                        "request_rate",
                        format!("expected a positive number of requests/s or \"inf\", found {v}"),
                    )
                })?,
        ),
    };
    let clients = number(file, line, doc, "max_concurrency")?;
    if let Some(c) = clients
        && !((1.0..=1e6).contains(&c) && c.fract() == 0.0)
    {
        return Err(fail(
            file,
            line,
            "max_concurrency",
            format!("expected a whole number of clients from 1 to 1e6, found {c}"),
        ));
    }
    let burstiness = number(file, line, doc, "burstiness")?.unwrap_or(1.0);
    match (rate, clients) {
        (None, Some(clients)) => Ok(Condition::Concurrency { clients }),
        (None, None) => Ok(Condition::Saturated),
        (Some(rps), None) if (burstiness - 1.0).abs() < 1e-12 => Ok(Condition::ArrivalRate { rps }),
        (Some(_), None) => Err(fail(
            file,
            line,
            "burstiness",
            format!(
                "{burstiness}: gamma arrivals are not modelled (only Poisson, burstiness 1); import runs with the default burstiness"
            ),
        )),
        (Some(rps), Some(c)) => Err(fail(
            file,
            line,
            "request_rate",
            format!(
                "{rps} req/s under a cap of {c} clients: a row has one load condition, so import runs with either a rate or --max-concurrency (and --request-rate inf)"
            ),
        )),
    }
}

/// Mean input and output lengths of the completed requests.
fn lengths(format: &str, file: &str, line: u64, doc: &Value) -> Result<(u32, u32), DataError> {
    let completed = number(file, line, doc, "completed")?
        .filter(|c| *c >= 1.0)
        .ok_or_else(|| {
            fail(
                file,
                line,
                "completed",
                "expected at least one completed request",
            )
        })?;
    let mean = |key: &str| -> Result<u32, DataError> {
        let total = number(file, line, doc, key)?
            .ok_or_else(|| fail(file, line, key, format!("missing: not a {format} file")))?;
        token_count(file, key, total / completed)
    };
    Ok((mean("total_input_tokens")?, mean("total_output_tokens")?))
}

/// The rows of one run.
fn run_rows(
    dialect: &Dialect,
    located: &Located<'_>,
    catalog: &Catalog,
    o: &Overrides,
    skipped: &mut Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let Located { file, line, doc } = *located;
    let format = dialect.format;
    if !doc.is_object() {
        return Err(at(
            file,
            line,
            1,
            format!("expected a JSON object: not a {format} file"),
        ));
    }
    let run = run_of(dialect, located, catalog, o)?;
    let name = file.rsplit('/').next().unwrap_or(file).to_string();
    let mut rows = Vec::new();
    for (key, metric, stat, divisor) in measured(dialect, &run.condition) {
        let Some(v) = number(file, line, doc, &key)? else {
            continue;
        };
        let value = Some(v / divisor)
            .filter(|v| crate::bench::value_in_range(*v))
            .ok_or_else(|| {
                fail(
                    file,
                    line,
                    &key,
                    format!("expected a positive number, found {v}"),
                )
            });
        if let Some(v) = keep(value, skipped)? {
            rows.push(run.row(metric, stat, Observed::Value(v), name.clone()));
        }
    }
    if rows.is_empty() && skipped.is_none() {
        return Err(at(
            file,
            line,
            1,
            format!("no latency or throughput found: not a {format} file"),
        ));
    }
    Ok(rows)
}

/// (key, metric, statistic, divisor to the schema's unit) of every figure a run under
/// `condition` is imported with: a burst of every prompt at once keeps its throughputs
/// only.
fn measured(dialect: &Dialect, condition: &Condition) -> Vec<(String, Metric, Stat, f64)> {
    let latencies = [
        ("ttft", Metric::TtftS),
        ("itl", Metric::ItlS),
        (dialect.e2e_infix, Metric::E2eS),
    ];
    let mut out = Vec::new();
    if !matches!(condition, Condition::Saturated) {
        for (infix, metric) in latencies {
            for (prefix, stat) in STATS {
                out.push((format!("{prefix}_{infix}_ms"), metric, stat, 1000.0));
            }
        }
    }
    for (key, metric) in THROUGHPUTS {
        out.push((key.to_string(), metric, Stat::Mean, 1.0));
    }
    out
}

/// The catalog model `--model` or the file names.
fn model_of<'c>(
    dialect: &Dialect,
    located: &Located<'_>,
    name: Option<String>,
    catalog: &'c Catalog,
) -> Result<&'c crate::catalog::Model, DataError> {
    let Located { file, line, .. } = *located;
    let key = dialect.model_key;
    let name = name.ok_or_else(|| {
        fail(
            file,
            line,
            key,
            "missing: the run names no model; pass --model",
        )
    })?;
    catalog
        .model(&name)
        .map_err(|e| at(file, line, 1, format!("{key}: {e} (or pass --model)")))
}

/// What every row of the run shares, from the file and the flags.
fn run_of(
    dialect: &Dialect,
    located: &Located<'_>,
    catalog: &Catalog,
    o: &Overrides,
) -> Result<Run, DataError> {
    let Located { file, line, doc } = *located;
    let model = model_of(
        dialect,
        located,
        o.model.clone().or((dialect.model)(doc)),
        catalog,
    )?;
    let (gpu, tp, precision) =
        deployment_from_flags(dialect.format, file, o, (dialect.tp)(doc), catalog)?;
    let (isl, osl) = lengths(dialect.format, file, line, doc)?;
    let engine = o
        .engine
        .clone()
        .or((dialect.engine)(doc))
        .unwrap_or_default();
    Ok(Run {
        source: dialect.source.to_string().into(),
        model: model.slug.clone().into(),
        gpu: gpu.slug.clone().into(),
        tp,
        pp: 1,
        precision,
        engine: engine.into(),
        isl,
        osl,
        condition: condition(file, line, doc)?,
        origin: Origin {
            file: file.to_string().into(),
            line,
        },
    })
}

#[cfg(test)]
#[path = "vllm_tests.rs"]
mod tests;
