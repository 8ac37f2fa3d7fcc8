//! One question to a performance model: which model on which GPU, stored how, split over
//! how many GPUs, with what input/output lengths, under which load condition, and which
//! statistic (mean or a percentile) is asked for. Scenarios borrow their catalog entries;
//! they hold no parameters and compute nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::{Gpu, Model};
use crate::engine::Engine;
use crate::format::UnknownChoice;
use crate::precision::Precision;

/// An observable a performance model predicts and a benchmark row measures.
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
    type Err = UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
                UnknownChoice {
                    what: "metric",
                    given: s.to_string(),
                    expected: format!("expected one of {}", names.join(", ")),
                }
            })
    }
}

/// Which statistic of a latency distribution is asked for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// The mean (also what an empty `stat` cell means).
    #[default]
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
}

impl Stat {
    /// Every statistic, in a stable order.
    pub const ALL: [Stat; 5] = [Stat::Mean, Stat::P50, Stat::P90, Stat::P95, Stat::P99];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stat {
    type Err = UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Stat::ALL
            .into_iter()
            .find(|stat| stat.as_str() == s || (s == "avg" && *stat == Stat::Mean))
            .ok_or_else(|| UnknownChoice {
                what: "stat",
                given: s.clone(),
                expected: "expected one of mean, p50, p90, p95, p99".to_string(),
            })
    }
}

/// The load under which a scenario is observed. At most one per benchmark row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Condition {
    /// A static batch of this many requests, started together.
    StaticBatch {
        /// Requests in the batch.
        batch_size: u32,
    },
    /// Closed-loop clients: each sends its next request when the previous one ends.
    Concurrency {
        /// Clients in flight.
        clients: f64,
    },
    /// Open-loop Poisson arrivals at this rate (requests/s for the whole deployment).
    ArrivalRate {
        /// Requests per second.
        rps: f64,
    },
    /// The largest rate whose TTFT stays within the budget (and ITL within its own, when
    /// there is one); `target_rps` asks how many GPUs that rate implies.
    TtftBudget {
        /// TTFT budget in seconds.
        budget_s: f64,
        /// Rate the deployment must sustain, requests/s.
        target_rps: Option<f64>,
        /// Inter-token latency budget in seconds, at the scenario's statistic; benchmark
        /// rows never carry one (a sizing question does).
        itl_budget_s: Option<f64>,
    },
    /// Maximum sustainable throughput, no latency bound.
    Saturated,
}

impl Condition {
    /// The condition as (kind, exact bits of its number), for grouping rows by cell: equal
    /// conditions give equal keys. A budget's target rate is not part of it (a chart's
    /// rate and GPU-count rows share one cell).
    pub fn cell_key(&self) -> (u8, u64) {
        match *self {
            Condition::StaticBatch { batch_size } => (0, u64::from(batch_size)),
            Condition::Concurrency { clients } => (1, clients.to_bits()),
            Condition::ArrivalRate { rps } => (2, rps.to_bits()),
            Condition::TtftBudget { budget_s, .. } => (3, budget_s.to_bits()),
            Condition::Saturated => (4, 0),
        }
    }
}

/// How the model is deployed: storage precisions and parallelism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    /// Precision the weights are stored in.
    pub weights: Precision,
    /// Precision of the KV cache; `None` = the model's default for the weights.
    pub kv_cache: Option<Precision>,
    /// Tensor-parallel degree; `None` = chosen automatically.
    pub tp: Option<u32>,
    /// Pipeline-parallel degree.
    pub pp: u32,
    /// Serving engine family; `None` = the engine-independent values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Generated weights instead of a checkpoint's, as some benchmarks build their
    /// engines: every token then routes to the same experts. Only benchmark rows say so;
    /// a deployment a user asks about serves real weights.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic_weights: bool,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            weights: Precision::Fp16,
            kv_cache: None,
            tp: None,
            pp: 1,
            engine: None,
            synthetic_weights: false,
        }
    }
}

impl Deployment {
    /// The deployment a benchmark row or a question implies: its precision and TP where
    /// given; otherwise fp8 weights where the GPU has fp8 tensor cores (as NIM and
    /// TensorRT-LLM deploy on Hopper and Ada), else fp16, and automatic TP.
    pub fn assumed(
        gpu: &Gpu,
        precision: Option<Precision>,
        tp: Option<u32>,
        pp: Option<u32>,
    ) -> Deployment {
        let weights = precision.unwrap_or(if gpu.tflops.fp8.is_some() {
            Precision::Fp8
        } else {
            Precision::Fp16
        });
        Deployment {
            weights,
            kv_cache: None,
            tp,
            pp: pp.unwrap_or(1),
            engine: None,
            synthetic_weights: false,
        }
    }

    /// This deployment served by `engine` (a family, or none).
    pub fn on(self, engine: Option<Engine>) -> Deployment {
        Deployment { engine, ..self }
    }
}

/// One question to a performance model.
#[derive(Debug, Clone, Copy)]
pub struct Scenario<'c> {
    /// The model served.
    pub model: &'c Model,
    /// The GPU it runs on.
    pub gpu: &'c Gpu,
    /// Precision and parallelism.
    pub deployment: Deployment,
    /// Input (prompt) tokens per request.
    pub isl: u32,
    /// Output (generated) tokens per request.
    pub osl: u32,
    /// The load condition.
    pub condition: Condition,
    /// Statistic asked for latency observables.
    pub stat: Stat,
}

/// Deployment choices for rows that leave them empty: precision per GPU slug and TP per
/// model slug. What is not listed follows [`Deployment::assumed`] (fp8 where the GPU has
/// it, automatic TP). A calibration records the hypothesis it chose as one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assumptions {
    /// Weight precision per GPU slug.
    pub precision: BTreeMap<String, Precision>,
    /// Tensor-parallel degree per model slug.
    pub tp: BTreeMap<String, u32>,
    /// Engine family per GPU slug: in a calibration, the family with the most rows on
    /// that GPU (what `predict` and `size` assume when `--engine` is not given).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub engine: BTreeMap<String, Engine>,
}

impl Assumptions {
    /// For each GPU of `rows`, the engine family with the most of its rows (the earlier
    /// family in [`Engine::ALL`] on a tie); rows of no known engine do not count.
    pub fn engines_by_gpu<'a>(
        rows: impl IntoIterator<Item = (&'a str, Option<Engine>)>,
    ) -> BTreeMap<String, Engine> {
        let mut counts: BTreeMap<&str, BTreeMap<Engine, usize>> = BTreeMap::new();
        for (gpu, engine) in rows {
            if let Some(e) = engine {
                *counts.entry(gpu).or_default().entry(e).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter_map(|(gpu, by_engine)| {
                // Ties go to the earlier family: max_by_key keeps the last maximum, so
                // walk the families from the back.
                let best = by_engine.iter().rev().max_by_key(|(_, n)| **n)?.0;
                Some((gpu.to_string(), *best))
            })
            .collect()
    }
}

impl Assumptions {
    /// A short label: `h100-sxm=fp8, llama-3.1-70b tp=8`, or `auto`.
    pub fn label(&self) -> String {
        let parts: Vec<String> = self
            .precision
            .iter()
            .map(|(g, p)| format!("{g}={p}"))
            .chain(self.tp.iter().map(|(m, t)| format!("{m} tp={t}")))
            .collect();
        if parts.is_empty() {
            "auto".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// The largest tensor-parallel degree a scenario may name: one node's GPUs. TP across
/// nodes is not modelled (multi-node deployments are pipeline-parallel in the engines
/// this tool models), and automatic TP tries up to the same degree.
pub const MAX_TP: u32 = 8;

/// Why a deployment cannot serve a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentError {
    /// TP outside one node.
    #[error("TP {tp} is outside 1..={MAX_TP} (one node's GPUs; multi-node TP is not modelled)")]
    TpBeyondNode {
        /// The degree asked for.
        tp: u32,
    },
    /// TP that does not split the attention heads evenly.
    #[error("TP {tp} does not divide {model}'s {heads} attention heads")]
    TpSplitsHeads {
        /// The degree asked for.
        tp: u32,
        /// The model's slug.
        model: String,
        /// Its query heads.
        heads: u64,
    },
    /// Input and output longer than the context window.
    #[error("ISL {isl} + OSL {osl} = {total} tokens exceeds {model}'s {context}-token context")]
    BeyondContext {
        /// Input tokens.
        isl: u32,
        /// Output tokens.
        osl: u32,
        /// Their sum.
        total: u64,
        /// The model's slug.
        model: String,
        /// Its context window.
        context: u64,
    },
}

/// Why `tp` cannot shard `model`: beyond one node, or not dividing its attention heads
/// (the engines split heads evenly over the GPUs; vLLM and TensorRT-LLM refuse otherwise).
pub fn check_tp(model: &Model, tp: u32) -> Result<(), DeploymentError> {
    if !(1..=MAX_TP).contains(&tp) {
        return Err(DeploymentError::TpBeyondNode { tp });
    }
    if !model.heads.is_multiple_of(u64::from(tp)) {
        return Err(DeploymentError::TpSplitsHeads {
            tp,
            model: model.slug.clone(),
            heads: model.heads,
        });
    }
    Ok(())
}

/// Why `isl` + `osl` tokens do not fit `model`'s context window.
pub fn check_lengths(model: &Model, isl: u32, osl: u32) -> Result<(), DeploymentError> {
    let total = u64::from(isl) + u64::from(osl);
    if total > model.max_context {
        return Err(DeploymentError::BeyondContext {
            isl,
            osl,
            total,
            model: model.slug.clone(),
            context: model.max_context,
        });
    }
    Ok(())
}

#[cfg(test)]
mod checks {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn tp_must_fit_a_node_and_divide_the_heads() {
        let catalog = Catalog::embedded().unwrap();
        let model = catalog.model("llama-3.1-8b").unwrap();
        assert!(check_tp(model, 8).is_ok());
        assert!(
            check_tp(model, 3)
                .unwrap_err()
                .to_string()
                .contains("attention heads")
        );
        assert!(
            check_tp(model, 2048)
                .unwrap_err()
                .to_string()
                .contains("1..=8")
        );
        assert!(check_tp(model, 0).is_err());
    }

    #[test]
    fn lengths_must_fit_the_context() {
        let catalog = Catalog::embedded().unwrap();
        let model = catalog.model("llama-3.1-8b").unwrap();
        assert!(check_lengths(model, 5000, 500).is_ok());
        assert!(
            check_lengths(model, u32::MAX, 1)
                .unwrap_err()
                .to_string()
                .contains("context")
        );
    }
}
