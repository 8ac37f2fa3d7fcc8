//! SGLang serving-benchmark results: the JSONL that `python -m sglang.bench_serving
//! --output-file` appends, one run per line. The script began as a copy of vLLM's and
//! keeps its result layout, so the vLLM importer reads it in SGLang's dialect: the load
//! (`max_concurrency` clients under an unlimited `request_rate`, a Poisson rate, or every
//! prompt at once), TTFT and ITL at every statistic present (mean, median as p50, p90,
//! p95, p99), end-to-end latency from `*_e2e_latency_ms`, the throughputs, and ISL/OSL as
//! the completed requests' means. Python writes an unlimited rate as a bare `Infinity`;
//! a rate replayed from a trace (`"trace"`) is refused, as the model has no trace replay.
//! The model and TP come from `server_info` (what the server reported: `model_path`,
//! `tp_size`) when the file has it, else from flags; the engine is the `backend` the run
//! drove (`sglang*` → sglang, `vllm*` → vllm, `trt` → trtllm, `lmdeploy*` → lmdeploy).
//! GPU and precision are never recorded: they come from flags.
//!
//! ## References
//! - SGLang, `python/sglang/bench_serving.py`: the `result` dict of `benchmark()` and
//!   its append to `--output-file` (`fzyzcjy/sglang` commit 0c69f5ba, a maintainer's fork
//!   tracking upstream; the older layout of `sgl-project/sglang` commit 50a61368 has a
//!   subset of the same keys and reads the same way).

use super::Overrides;
use super::vllm_bench::{Dialect, import_dialect};
use crate::bench::{BenchRow, DataError};
use crate::catalog::Catalog;

/// SGLang's dialect of the layout.
const SGLANG: Dialect = Dialect {
    source: "sglang-bench",
    format: "SGLang bench_serving results",
    e2e_infix: "e2e_latency",
    model_key: "server_info.model_path",
    model: |doc| {
        let path = doc.get("server_info")?.get("model_path")?.as_str()?;
        Some(path.to_string())
    },
    tp: |doc| {
        let tp = doc.get("server_info")?.get("tp_size")?.as_u64()?;
        u32::try_from(tp).ok()
    },
    engine: |doc| {
        let backend = doc.get("backend")?.as_str()?;
        Some(engine_of_backend(backend).to_string())
    },
};

/// The engine family a `--backend` choice drives.
fn engine_of_backend(backend: &str) -> &str {
    [
        ("sglang", "sglang"),
        ("vllm", "vllm"),
        ("trt", "trtllm"),
        ("lmdeploy", "lmdeploy"),
    ]
    .into_iter()
    .find(|(prefix, _)| backend.starts_with(prefix))
    .map_or(backend, |(_, engine)| engine)
}

/// Converts every run in `text` (one JSON object per line).
pub fn import(
    file: &str,
    text: &str,
    catalog: &Catalog,
    o: &Overrides,
    skipped: Option<&mut Vec<DataError>>,
) -> Result<Vec<BenchRow>, DataError> {
    import_dialect(&SGLANG, file, text, catalog, o, skipped)
}

#[cfg(test)]
#[path = "sglang_tests.rs"]
mod tests;
