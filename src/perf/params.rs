//! The named, serialisable parameter set of the physical models (`roofline`, `serving`):
//! efficiencies, overheads, memory policy and the tail factor, with defaults from the
//! literature and per-GPU / per-GPU×precision overrides of the two efficiencies.
//!
//! ## References
//! - Prefill efficiency ≈ 0.5–0.7 of dense peak: best-shape BF16 GEMMs reach 73–87 % of
//!   peak (ml-engineering MAMF table), whole-model kernels with attention less.
//! - Decode efficiency ≈ 0.6–0.85 of HBM bandwidth: aiconfigurator applies 0.8; an A100
//!   read kernel reaches 88 %; paged KV reads reach far less (fact sheet, "Measured
//!   achievable fractions").
//! - KV-cache read efficiency ≈ 0.5: paged KV reads measured at 1.4 of 3.35 TB/s (42 %)
//!   on H100 against 2.8 TB/s (84 %) for coalesced weight loads (fact sheet).
//! - Link efficiency ≈ 0.8: NCCL ring all-reduce reaches 80–82 % of NVLink bus bandwidth.
//! - Memory utilisation 0.9: vLLM's `gpu_memory_utilization` default; TensorRT-LLM's
//!   `kv_cache_free_gpu_mem_fraction` default is also 0.9.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::precision::Precision;

/// How the load behind a TTFT budget is generated when searching for the largest rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetLoad {
    /// A concurrency sweep of identical requests (how GenAI-Perf / NIM sizing charts
    /// are measured): the largest concurrency whose TTFT meets the budget.
    #[default]
    ClosedLoop,
    /// Poisson arrivals: the largest rate whose M/D/1 TTFT meets the budget.
    Poisson,
}

/// Overrides of the placement-dependent parameters (the two efficiencies and the
/// all-reduce latency) for one GPU, GPU×precision or model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfficiencyOverride {
    /// Fraction of dense tensor peak reached by prefill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_efficiency: Option<f64>,
    /// Fraction of memory bandwidth reached by decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_efficiency: Option<f64>,
    /// Fixed latency of one all-reduce, seconds: PCIe-only GPUs pay far more than
    /// NVLink ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allreduce_latency_s: Option<f64>,
    /// Fixed overhead of one decode step, seconds (an engine's scheduler and launches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_overhead_s: Option<f64>,
    /// An engine's prefill speed relative to the GPU's η_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_prefill_factor: Option<f64>,
    /// An engine's decode speed relative to the GPU's η_dec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_decode_factor: Option<f64>,
    /// Largest running batch an engine schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_running_batch: Option<f64>,
    /// Cost of each running sequence in a decode step, seconds (an engine's host work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_overhead_s: Option<f64>,
    /// Prefill speed at a weight precision relative to 16-bit weights on the same GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_prefill_factor: Option<f64>,
    /// Decode speed at a weight precision relative to 16-bit weights on the same GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_decode_factor: Option<f64>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Parameters of the `roofline` and `serving` models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServingParams {
    /// η_pre: fraction of dense tensor peak reached by prefill (and compute-bound decode).
    pub prefill_efficiency: f64,
    /// η_dec: fraction of memory bandwidth reached reading the weights in decode.
    pub decode_efficiency: f64,
    /// Fraction of memory bandwidth reached reading the KV cache in decode attention
    /// (paged, scattered reads: well below the weights' coalesced reads).
    pub kv_read_efficiency: f64,
    /// η_link: fraction of link bandwidth reached by ring all-reduce.
    pub link_efficiency: f64,
    /// α: fixed latency of one all-reduce, seconds.
    pub allreduce_latency_s: f64,
    /// τ_step: fixed overhead of one decode step (scheduling, sampling, launches), seconds.
    pub step_overhead_s: f64,
    /// τ_layer: fixed cost of one layer in every forward pass (kernel launches and
    /// synchronisation per layer), seconds; unlike the all-reduce latency it is paid on
    /// one GPU too and does not shrink or grow with the tensor-parallel degree. 0 unless
    /// an experiment frees it (written only when set, so files without it read the same).
    #[serde(skip_serializing_if = "is_zero")]
    pub layer_overhead_s: f64,
    /// τ_seq: cost of each running sequence in every decode step (sampling, detokenising
    /// and scheduling it, mostly on the host), seconds; it grows with the batch, unlike
    /// the step overhead, and does not shrink with the tensor-parallel degree. 0 unless an
    /// experiment frees it (written only when set, so files without it read the same).
    #[serde(skip_serializing_if = "is_zero")]
    pub sequence_overhead_s: f64,
    /// Prefill speed of an engine relative to the GPU's η_pre (1 = the engines the
    /// efficiencies were fitted on); only per-engine copies differ from 1.
    pub engine_prefill_factor: f64,
    /// Decode speed of an engine relative to the GPU's η_dec, as `engine_prefill_factor`.
    pub engine_decode_factor: f64,
    /// Prefill speed at a weight precision relative to 16-bit weights (dequantisation,
    /// kernels less tuned than the 16-bit ones); only per-precision copies differ from 1.
    pub precision_prefill_factor: f64,
    /// Decode speed at a weight precision relative to 16-bit weights.
    pub precision_decode_factor: f64,
    /// τ_req: fixed overhead per request (tokenise, schedule, detokenise), seconds.
    pub request_overhead_s: f64,
    /// κ: queueing-tail factor; the p90 wait is κ times the mean wait.
    pub tail_factor: f64,
    /// How much of a synchronised burst's prefill wait closed-loop clients see: 1 when
    /// identical requests stay in lockstep, less as they drift apart (varying output
    /// lengths, prefill chunks mixed with decode). The closed loop's κ.
    pub burst_factor: f64,
    /// u: fraction of device memory the engine may use.
    pub memory_utilization: f64,
    /// Per-GPU memory held back for activations and workspace, GB.
    pub reserve_gb: f64,
    /// Largest running batch the engine schedules (engine `max_batch_size`).
    pub max_running_batch: f64,
    /// Largest number of prompt tokens prefilled in one engine iteration (TensorRT-LLM
    /// `max_num_tokens`, vLLM `max_num_batched_tokens`); short prompts share an iteration.
    pub max_prefill_tokens: f64,
    /// How the load behind a TTFT budget is generated.
    pub budget_load: BudgetLoad,
    /// Concurrencies a closed-loop budget search may pick from, as the benchmark that
    /// produced the data swept them (empty: every whole number up to the batch limit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub concurrency_sweep: Vec<u32>,
    /// Automatic TP picks the smallest power of two leaving at least this share of usable
    /// memory for the KV cache.
    pub auto_tp_min_kv_share: f64,
    /// Efficiency overrides per GPU slug.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_gpu: BTreeMap<String, EfficiencyOverride>,
    /// Efficiency overrides per `gpu:precision` (e.g. `h100-sxm:fp8`); win over `per_gpu`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_gpu_precision: BTreeMap<String, EfficiencyOverride>,
    /// Overrides per GPU architecture (`hopper`, `ada`, …) for GPUs without their own: a
    /// calibration sets each to the geometric mean of the GPUs of that architecture it
    /// fitted, weighted by their rows, so an H100 PCIe borrows from the fitted Hopper GPUs
    /// rather than falling to the literature defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_architecture: BTreeMap<String, EfficiencyOverride>,
    /// Efficiency overrides per model slug; `per_gpu` and `per_gpu_precision` win.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_model: BTreeMap<String, EfficiencyOverride>,
    /// Overrides per engine family (`trtllm`, `vllm`, …): the engine factors and the
    /// step overhead; consulted after every other level.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_engine: BTreeMap<String, EfficiencyOverride>,
    /// Overrides per weight precision (`fp8`, `fp4`, …): the precision factors.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_precision: BTreeMap<String, EfficiencyOverride>,
}

impl Default for ServingParams {
    fn default() -> Self {
        ServingParams {
            prefill_efficiency: 0.6,
            decode_efficiency: 0.75,
            kv_read_efficiency: 0.5,
            link_efficiency: 0.8,
            allreduce_latency_s: 10e-6,
            step_overhead_s: 1e-3,
            layer_overhead_s: 0.0,
            sequence_overhead_s: 0.0,
            engine_prefill_factor: 1.0,
            engine_decode_factor: 1.0,
            precision_prefill_factor: 1.0,
            precision_decode_factor: 1.0,
            request_overhead_s: 5e-3,
            tail_factor: 2.3,
            burst_factor: 1.0,
            memory_utilization: 0.9,
            reserve_gb: 2.0,
            max_running_batch: 256.0,
            max_prefill_tokens: 8192.0,
            budget_load: BudgetLoad::ClosedLoop,
            concurrency_sweep: Vec::new(),
            auto_tp_min_kv_share: 0.1,
            per_gpu: BTreeMap::new(),
            per_gpu_precision: BTreeMap::new(),
            per_architecture: BTreeMap::new(),
            per_model: BTreeMap::new(),
            per_engine: BTreeMap::new(),
            per_precision: BTreeMap::new(),
        }
    }
}

type Pick = fn(&mut EfficiencyOverride) -> &mut Option<f64>;

/// The per-GPU fields a GPU without rows borrows: η_pre, η_dec, α.
const LENDABLE: [Pick; 3] = [
    |o| &mut o.prefill_efficiency,
    |o| &mut o.decode_efficiency,
    |o| &mut o.allreduce_latency_s,
];

/// Each lendable field's geometric mean over `members` (override, weight), where any
/// member has it.
fn weighted_geometric_mean(members: &[(EfficiencyOverride, f64)]) -> EfficiencyOverride {
    let mut mean = EfficiencyOverride::default();
    for field in LENDABLE {
        let (sum, weight) = members
            .iter()
            .filter_map(|(o, w)| {
                let mut o = *o;
                field(&mut o).filter(|v| *v > 0.0).map(|v| (v.ln() * w, *w))
            })
            .fold((0.0, 0.0), |(s, t), (x, w)| (s + x, t + w));
        if weight > 0.0 {
            *field(&mut mean) = Some((sum / weight).exp());
        }
    }
    mean
}

/// Where a model runs: what the efficiency overrides are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Placement<'a> {
    /// GPU slug.
    pub gpu: &'a str,
    /// Weight precision.
    pub precision: Precision,
    /// The GPU's architecture.
    pub architecture: &'a str,
    /// Model slug.
    pub model: &'a str,
    /// Engine family, if known.
    pub engine: Option<Engine>,
}

/// The key of a GPU×precision override.
pub fn gpu_precision_key(gpu: &str, precision: Precision) -> String {
    format!("{gpu}:{precision}")
}

/// Where a GPU's efficiencies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Its own overrides (or there are no per-GPU overrides at all).
    Own,
    /// Its architecture's (the mean of the fitted GPUs of that architecture).
    Borrowed(String),
    /// The global values.
    Global,
}

/// Where an engine's factors and overheads come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineCoverage {
    /// Its own fitted values.
    Own,
    /// The reference engine: factors of 1, the global overheads where it has none.
    Reference,
    /// No values of its own: the engine-independent (global) ones.
    Unfitted,
    /// No engine named: the engine-independent values.
    Independent,
}

impl ServingParams {
    /// Where the values of `engine` come from.
    pub fn engine_coverage(&self, engine: Option<Engine>) -> EngineCoverage {
        match engine {
            None => EngineCoverage::Independent,
            Some(e) if self.per_engine.contains_key(e.as_str()) => EngineCoverage::Own,
            Some(Engine::REFERENCE) => EngineCoverage::Reference,
            Some(_) => EngineCoverage::Unfitted,
        }
    }

    /// Where the efficiencies of `gpu` (of `architecture`) come from, following the same
    /// order as the lookups.
    pub fn coverage(&self, gpu: &str, architecture: &str) -> Coverage {
        let own = self.per_gpu.contains_key(gpu)
            || self.per_gpu_precision.keys().any(|k| {
                k.strip_prefix(gpu)
                    .is_some_and(|rest| rest.starts_with(':'))
            });
        if own || (self.per_gpu.is_empty() && self.per_gpu_precision.is_empty()) {
            Coverage::Own
        } else if self.per_architecture.contains_key(architecture) {
            Coverage::Borrowed(architecture.to_string())
        } else {
            Coverage::Global
        }
    }

    fn lookup(
        &self,
        at: &Placement<'_>,
        pick: impl Fn(&EfficiencyOverride) -> Option<f64>,
    ) -> Option<f64> {
        self.overrides_of(at).iter().flatten().find_map(|o| pick(o))
    }

    /// These parameters without their per-group overrides: the global values only, for
    /// models that take each placement's values from a [`crate::perf::physics::PlacedParams`]
    /// (copying the override maps would cost more than the prediction).
    pub fn scalars(&self) -> ServingParams {
        ServingParams {
            concurrency_sweep: self.concurrency_sweep.clone(),
            per_gpu: BTreeMap::new(),
            per_gpu_precision: BTreeMap::new(),
            per_architecture: BTreeMap::new(),
            per_model: BTreeMap::new(),
            per_engine: BTreeMap::new(),
            per_precision: BTreeMap::new(),
            ..*self
        }
    }

    /// The overrides that apply to `at`, most specific first: GPU×precision, GPU,
    /// architecture, model, engine, precision. Looked up once per placement, then read
    /// per field.
    pub fn overrides_of(&self, at: &Placement<'_>) -> [Option<&EfficiencyOverride>; 6] {
        // The key is built only when there are GPU×precision overrides: this runs for every
        // placement of every objective evaluation, and an allocation each is most of its cost.
        let by_gpu_precision = (!self.per_gpu_precision.is_empty())
            .then(|| {
                self.per_gpu_precision
                    .get(&gpu_precision_key(at.gpu, at.precision))
            })
            .flatten();
        [
            by_gpu_precision,
            self.per_gpu.get(at.gpu),
            self.per_architecture.get(at.architecture),
            self.per_model.get(at.model),
            at.engine.and_then(|e| self.per_engine.get(e.as_str())),
            self.per_precision.get(at.precision.as_str()),
        ]
    }

    /// Sets `per_architecture` from `per_gpu`: for each architecture, the geometric mean of
    /// each overridden value over its GPUs, weighted by `rows_of` (the rows that fitted
    /// each GPU, so a GPU resting on one chart cell barely counts). The global value of
    /// each overridden field becomes the same mean over every such GPU, so a GPU of an
    /// architecture without fitted GPUs falls back to what the fitted GPUs reach rather
    /// than to a prior's centre. `architecture_of` maps a GPU slug to its architecture;
    /// unknown slugs and GPUs without rows are skipped.
    pub fn derive_architecture_overrides(
        &mut self,
        architecture_of: impl Fn(&str) -> Option<String>,
        rows_of: impl Fn(&str) -> usize,
    ) {
        let mut groups: BTreeMap<String, Vec<(EfficiencyOverride, f64)>> = BTreeMap::new();
        for (gpu, o) in &self.per_gpu {
            let rows = rows_of(gpu);
            if let Some(arch) = architecture_of(gpu)
                && rows > 0
            {
                groups.entry(arch).or_default().push((*o, rows as f64));
            }
        }
        let everyone: Vec<(EfficiencyOverride, f64)> = groups.values().flatten().copied().collect();
        let mut pooled = weighted_geometric_mean(&everyone);
        for (field, global) in [
            (LENDABLE[0], &mut self.prefill_efficiency),
            (LENDABLE[1], &mut self.decode_efficiency),
            (LENDABLE[2], &mut self.allreduce_latency_s),
        ] {
            if let Some(v) = *field(&mut pooled) {
                *global = v;
            }
        }
        self.per_architecture = groups
            .into_iter()
            .map(|(arch, members)| (arch, weighted_geometric_mean(&members)))
            .collect();
    }

    /// η_pre for this placement (most specific override wins: GPU×precision, GPU, model).
    pub fn prefill_efficiency_for(&self, at: &Placement<'_>) -> f64 {
        self.lookup(at, |o| o.prefill_efficiency)
            .unwrap_or(self.prefill_efficiency)
    }

    /// η_dec for this placement (most specific override wins: GPU×precision, GPU, model).
    pub fn decode_efficiency_for(&self, at: &Placement<'_>) -> f64 {
        self.lookup(at, |o| o.decode_efficiency)
            .unwrap_or(self.decode_efficiency)
    }

    /// α for this placement (most specific override wins: GPU×precision, GPU, model).
    pub fn allreduce_latency_for(&self, at: &Placement<'_>) -> f64 {
        self.lookup(at, |o| o.allreduce_latency_s)
            .unwrap_or(self.allreduce_latency_s)
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
