//! LLMPerf results: the `*_summary.json` that `token_benchmark_ray.py --results-dir`
//! writes, one run per file — `num_concurrent_requests` clients, each sending its next
//! request when the last one returns, so a closed loop of that many clients. TTFT and
//! end-to-end latency come at the mean and at each quantile that is also a statistic of
//! the schema (p50, p90, p95, p99; LLMPerf's p25 and p75 have none); the output token
//! throughput of the whole run (`results_mean_output_throughput_token_per_s`) becomes
//! `output_tok_s`, and the completed requests per minute `req_per_s`. ISL and OSL are the
//! measured mean token counts. LLMPerf's `inter_token_latency_s` is *not* imported: the
//! script divides each request's whole latency, first token included, by its output
//! tokens, so it is not the gap between tokens the model predicts. GPU, TP, precision and
//! engine are not recorded: they come from flags.
//!
//! ## References
//! - ray-project/llmperf, `token_benchmark_ray.py` (commit 004d3afb): `metrics_summary`
//!   (quantiles 0.25–0.99, mean, min, max, stddev per metric; `inter_token_latency_s`
//!   divided by the output tokens), `run_token_benchmark` (the summary file name), and
//!   `src/llmperf/utils.py` `LLMPerfResults.to_dict` (the `results_` keys flattened).

use serde_json::Value;

use super::{Overrides, Run, at, deployment_from_flags, json_error, keep, token_count};
use crate::bench::{BenchRow, DataError, Metric, Observed, Origin};
use crate::catalog::Catalog;
use crate::scenario::{Condition, Stat};
use crate::textfile::SourcePos;

const SOURCE: &str = "llmperf";
const FORMAT: &str = "LLMPerf summaries";

/// (key stem, metric) of the latencies imported.
const LATENCIES: [(&str, Metric); 2] = [
    ("results_ttft_s", Metric::TtftS),
    ("results_end_to_end_latency_s", Metric::E2eS),
];
/// (key suffix, statistic).
const STATS: [(&str, Stat); 5] = [
    ("mean", Stat::Mean),
    ("quantiles_p50", Stat::P50),
    ("quantiles_p90", Stat::P90),
    ("quantiles_p95", Stat::P95),
    ("quantiles_p99", Stat::P99),
];

/// A summary's text and object, for reading keys with their positions.
struct Summary<'a> {
    file: &'a str,
    text: &'a str,
    doc: Value,
}

impl Summary<'_> {
    /// An error at `key`'s line (the file's first line when the key is absent).
    fn fail(&self, key: &str, problem: impl std::fmt::Display) -> DataError {
        let offset = self.text.find(&format!("\"{key}\"")).unwrap_or(0);
        let at_key = SourcePos::of_offset(self.file, self.text, offset);
        at(
            self.file,
            at_key.line,
            at_key.column,
            format!("{key}: {problem}"),
        )
    }

    /// `key` as a number (`None` when absent or null).
    fn number(&self, key: &str) -> Result<Option<f64>, DataError> {
        match self.doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.fail(key, format!("expected a number, found {v}"))),
        }
    }

    /// `key` as a number the run cannot lack.
    fn needed(&self, key: &str) -> Result<f64, DataError> {
        self.number(key)?
            .ok_or_else(|| self.fail(key, format!("missing: not one of the {FORMAT}")))
    }
}

/// Converts the run in `text` (one summary object).
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    o: &Overrides,
    mut skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    if !doc.is_object() {
        return Err(at(
            file,
            1,
            1,
            format!("expected a JSON object: not one of the {FORMAT}"),
        ));
    }
    let summary = Summary { file, text, doc };
    let run = run_of(&summary, catalog, o)?;
    let name = file.rsplit('/').next().unwrap_or(file).to_string();
    let mut rows = Vec::new();
    for (key, metric, stat, scale) in measured() {
        let Some(v) = summary.number(&key)? else {
            continue;
        };
        let value = Some(v * scale)
            .filter(|v| crate::bench::value_in_range(*v))
            .ok_or_else(|| summary.fail(&key, format!("expected a positive number, found {v}")));
        if let Some(v) = keep(value, &mut skipped)? {
            rows.push(run.row(metric, stat, Observed::Value(v), name.clone()));
        }
    }
    if rows.is_empty() && skipped.is_none() {
        return Err(at(
            file,
            1,
            1,
            format!("no latency or throughput found: not one of the {FORMAT}"),
        ));
    }
    Ok(rows)
}

/// (key, metric, statistic, factor to the schema's unit) of every figure imported.
fn measured() -> Vec<(String, Metric, Stat, f64)> {
    let mut out = Vec::new();
    for (stem, metric) in LATENCIES {
        for (suffix, stat) in STATS {
            out.push((format!("{stem}_{suffix}"), metric, stat, 1.0));
        }
    }
    out.push((
        "results_mean_output_throughput_token_per_s".to_string(),
        Metric::OutputTokS,
        Stat::Mean,
        1.0,
    ));
    out.push((
        "results_num_completed_requests_per_min".to_string(),
        Metric::ReqPerS,
        Stat::Mean,
        1.0 / 60.0,
    ));
    out
}

/// The closed loop of `num_concurrent_requests` clients.
fn condition(s: &Summary<'_>) -> Result<Condition, DataError> {
    let key = "num_concurrent_requests";
    let clients = s.needed(key)?;
    if !((1.0..=1e6).contains(&clients) && clients.fract() == 0.0) {
        return Err(s.fail(
            key,
            format!("expected a whole number of clients from 1 to 1e6, found {clients}"),
        ));
    }
    Ok(Condition::Concurrency { clients })
}

/// What every row of the run shares, from the file and the flags.
fn run_of(s: &Summary<'_>, catalog: &Catalog, o: &Overrides) -> Result<Run, DataError> {
    let file = s.file;
    let recorded = s.doc.get("model").and_then(Value::as_str).map(String::from);
    let name = o
        .model
        .clone()
        .or(recorded)
        .ok_or_else(|| s.fail("model", "missing; pass --model"))?;
    let model = catalog
        .model(&name)
        .map_err(|e| s.fail("model", format!("{e} (or pass --model)")))?;
    let completed = s.needed("results_num_completed_requests")?;
    if completed < 1.0 {
        return Err(s.fail(
            "results_num_completed_requests",
            "expected at least one completed request",
        ));
    }
    let (gpu, tp, precision) = deployment_from_flags(FORMAT, file, o, None, catalog)?;
    let isl_key = "results_number_input_tokens_mean";
    let osl_key = "results_number_output_tokens_mean";
    Ok(Run {
        source: SOURCE.to_string().into(),
        model: model.slug.clone().into(),
        gpu: gpu.slug.clone().into(),
        tp,
        pp: 1,
        precision,
        engine: o.engine.clone().unwrap_or_default().into(),
        isl: token_count(file, isl_key, s.needed(isl_key)?)?,
        osl: token_count(file, osl_key, s.needed(osl_key)?)?,
        condition: condition(s)?,
        origin: Origin {
            file: file.to_string().into(),
            line: 1,
        },
    })
}

#[cfg(test)]
#[path = "llmperf_tests.rs"]
mod tests;
