//! Resolving a deployment into an [`Instance`], in two stages: what the scenario alone
//! fixes ([`Deployed`]: precisions, bytes, FLOPs per token, the GPU's peaks) and what the
//! parameters add (automatic TP, the memory budget, efficiencies, all-reduce costs). A
//! prediction runs both; a calibration runs the first once per row and hypothesis and
//! only the second per evaluation, with the efficiencies of each placement looked up
//! once per evaluation ([`PlacedParams`]) rather than by string keys per row.

use super::{ACTIVATION_BYTES, AUTO_TP_DEGREES, Instance};
use crate::perf::Infeasible;
use crate::perf::params::{EfficiencyOverride, Placement, ServingParams};
use crate::precision::Precision;
use crate::scenario::Scenario;

/// The parameters that differ by placement (GPU × precision, GPU, architecture, model),
/// looked up for one placement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlacedParams {
    /// η_pre for the placement.
    pub prefill_efficiency: f64,
    /// η_dec for the placement.
    pub decode_efficiency: f64,
    /// α for the placement, seconds.
    pub allreduce_latency_s: f64,
    /// τ_step for the placement, seconds.
    pub step_overhead_s: f64,
    /// The engine's largest running batch.
    pub max_running_batch: f64,
    /// τ_seq for the placement, seconds per running sequence per decode step.
    pub sequence_overhead_s: f64,
}

impl PlacedParams {
    /// The values `p` gives placement `at` (most specific override wins).
    pub fn of(p: &ServingParams, at: &Placement<'_>) -> PlacedParams {
        let overrides = p.overrides_of(at);
        let value = |pick: fn(&EfficiencyOverride) -> Option<f64>, global: f64| {
            overrides
                .iter()
                .flatten()
                .find_map(|o| pick(o))
                .unwrap_or(global)
        };
        // Engine and precision factors scale the GPU's efficiency; the product stays a
        // fraction of the peak, which no engine exceeds.
        let prefill_factor = value(|o| o.engine_prefill_factor, p.engine_prefill_factor)
            * value(|o| o.precision_prefill_factor, p.precision_prefill_factor);
        let decode_factor = value(|o| o.engine_decode_factor, p.engine_decode_factor)
            * value(|o| o.precision_decode_factor, p.precision_decode_factor);
        PlacedParams {
            prefill_efficiency: (value(|o| o.prefill_efficiency, p.prefill_efficiency)
                * prefill_factor)
                .min(1.0),
            decode_efficiency: (value(|o| o.decode_efficiency, p.decode_efficiency)
                * decode_factor)
                .min(1.0),
            allreduce_latency_s: value(|o| o.allreduce_latency_s, p.allreduce_latency_s),
            step_overhead_s: value(|o| o.step_overhead_s, p.step_overhead_s),
            max_running_batch: value(|o| o.max_running_batch, p.max_running_batch),
            sequence_overhead_s: value(|o| o.sequence_overhead_s, p.sequence_overhead_s),
        }
    }
}

/// A scenario's deployment before any parameter: everything an [`Instance`] takes from the
/// catalog and the deployment, resolved once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deployed {
    weights: Precision,
    kv: Precision,
    compute: Precision,
    /// TP as given (`None`: chosen from the memory budget, which is a parameter).
    tp: Option<u32>,
    pp: u32,
    weight_bytes: f64,
    /// Bytes of weights one forward pass reads when its tokens touch every expert they
    /// can: all the weights, unless synthetic weights route every token alike.
    pass_bytes: f64,
    kv_bytes_per_token: f64,
    activation_bytes_per_token: f64,
    matmul_params: f64,
    layers: f64,
    hidden: f64,
    layer_attention_width: f64,
    /// Bytes of the experts a step reads according to how its tokens route (0 for dense
    /// models, and for synthetic weights, whose tokens all take one token's experts).
    expert_bytes: f64,
    expert_share: f64,
    /// Dense tensor peak at the compute precision, FLOP/s per GPU.
    peak_flops: f64,
    memory_bytes: f64,
    memory_bandwidth: f64,
    /// The GPU-to-GPU link: the bandwidth an all-reduce gets depends on TP, which may be
    /// chosen from the parameters.
    link: crate::catalog::Link,
    /// ISL + OSL: the KV cache one request needs.
    tokens_needed: f64,
}

impl Deployed {
    /// The deployment of `s`; infeasible when the GPU lacks tensor cores for the weights
    /// or the KV cache.
    pub fn new(s: &Scenario<'_>) -> Result<Deployed, Infeasible> {
        let (compute, kv) = precisions(s)?;
        let weights = s.deployment.weights;
        let model = s.model;
        let expert_share = model
            .moe
            .as_ref()
            .map_or(1.0, |m| m.active_experts as f64 / m.experts as f64);
        let all_experts = model.expert_params() as f64 * weights.bytes();
        // Synthetic weights send every token to the same k experts: one token's share of
        // the experts is read whatever the batch, the rest never.
        let (pass_bytes, expert_bytes) = if s.deployment.synthetic_weights {
            let untouched = all_experts * (1.0 - expert_share);
            (model.weight_bytes(weights) - untouched, 0.0)
        } else {
            (model.weight_bytes(weights), all_experts)
        };
        Ok(Deployed {
            weights,
            kv,
            compute,
            tp: s.deployment.tp,
            pp: s.deployment.pp,
            weight_bytes: model.weight_bytes(weights),
            pass_bytes,
            kv_bytes_per_token: model.kv_bytes_per_token(kv),
            activation_bytes_per_token: activation_bytes_per_token(s),
            matmul_params: model.matmul_params_per_token(),
            layers: model.layers as f64,
            hidden: model.hidden as f64,
            layer_attention_width: model.layers as f64 * model.attention_width(),
            expert_bytes,
            expert_share,
            peak_flops: s.gpu.tensor_tflops(compute).unwrap_or(s.gpu.tflops.fp16) * 1e12,
            memory_bytes: s.gpu.memory_bytes(),
            memory_bandwidth: s.gpu.memory_bw_bytes_per_s(),
            link: s.gpu.link,
            tokens_needed: f64::from(s.isl) + f64::from(s.osl),
        })
    }

    /// Usable bytes per GPU for weights and KV cache.
    fn usable_per_gpu(&self, p: &ServingParams) -> f64 {
        usable_per_gpu(self.memory_bytes, p)
    }

    /// TP as given, else chosen by [`auto_tp`].
    fn tp(&self, p: &ServingParams) -> Result<u32, Infeasible> {
        match self.tp {
            Some(tp) => Ok(tp),
            None => auto_tp(self.weight_bytes, self.usable_per_gpu(p), self.pp, p),
        }
    }

    /// Tokens of KV cache the instance holds beside its weights; infeasible when the
    /// weights do not fit or leave no room for one request.
    fn kv_capacity(&self, p: &ServingParams, tp: u32) -> Result<f64, Infeasible> {
        let gpus = f64::from(tp * self.pp);
        let usable = self.usable_per_gpu(p) * gpus;
        if usable <= self.weight_bytes {
            return Err(Infeasible::WeightsDoNotFit {
                weights_gb_per_gpu: self.weight_bytes / gpus / 1e9,
                usable_gb_per_gpu: usable / gpus / 1e9,
                tp,
            });
        }
        let kv_capacity_tokens = (usable - self.weight_bytes) / self.kv_bytes_per_token;
        if kv_capacity_tokens < self.tokens_needed {
            return Err(Infeasible::KvCacheTooSmall {
                tokens_needed: self.tokens_needed,
                tokens_available: kv_capacity_tokens,
            });
        }
        Ok(kv_capacity_tokens)
    }

    /// All-reduce cost per token and fixed cost per forward pass (two all-reduces per
    /// layer, ring over `tp` GPUs); nothing on one GPU.
    fn allreduce_costs(&self, p: &ServingParams, tp: u32, latency_s: f64) -> (f64, f64) {
        if tp <= 1 {
            return (0.0, 0.0);
        }
        let t = f64::from(tp);
        let link = self.link.allreduce_gbps_per_dir(tp) * 1e9 * p.link_efficiency;
        let ring = 2.0 * (t - 1.0) / t;
        let per_token = 2.0 * self.layers * ring * self.hidden * ACTIVATION_BYTES / link;
        (per_token, 2.0 * self.layers * latency_s)
    }
}

/// The context phase's largest live activation per prompt token, summed over the
/// instance: the MLP intermediate (every active expert's) plus the residual stream, in 16
/// bits. A static batch prefills all its prompts at once, so this grows with batch × ISL —
/// which is why the largest TensorRT-LLM static batches run out of memory.
fn activation_bytes_per_token(s: &Scenario<'_>) -> f64 {
    let experts = s.model.moe.as_ref().map_or(1, |m| m.active_experts) as f64;
    (experts * s.model.intermediate as f64 + s.model.hidden as f64) * ACTIVATION_BYTES
}

/// The KV precision a deployment uses: as asked, else fp8 when the weights are 8-bit or
/// less and the GPU has fp8 tensor cores (TensorRT-LLM and vLLM FP8 recipes quantise the
/// cache too), else fp16.
pub fn kv_precision(s: &Scenario<'_>) -> Precision {
    s.deployment.kv_cache.unwrap_or_else(|| {
        let small = s.deployment.weights.bytes() < 2.0;
        if small && s.gpu.tflops.fp8.is_some() {
            Precision::Fp8
        } else {
            Precision::Fp16
        }
    })
}

/// The tensor-parallel degree: as given, else the smallest power of two that holds the
/// weights with at least `auto_tp_min_kv_share` of usable memory left for the KV cache,
/// else the smallest that holds the weights at all.
pub fn resolve_tp(s: &Scenario<'_>, p: &ServingParams) -> Result<u32, Infeasible> {
    if let Some(tp) = s.deployment.tp {
        return Ok(tp);
    }
    let weights = s.model.weight_bytes(s.deployment.weights);
    auto_tp(
        weights,
        usable_per_gpu(s.gpu.memory_bytes(), p),
        s.deployment.pp,
        p,
    )
}

/// Bytes per GPU of `memory_bytes` the weights and KV cache may use under `p`.
fn usable_per_gpu(memory_bytes: f64, p: &ServingParams) -> f64 {
    memory_bytes * p.memory_utilization - p.reserve_gb * 1e9
}

/// The smallest TP of [`AUTO_TP_DEGREES`] leaving the KV share, else the smallest that
/// holds `weights` at all.
fn auto_tp(
    weights: f64,
    usable_per_gpu: f64,
    pp: u32,
    p: &ServingParams,
) -> Result<u32, Infeasible> {
    let pp = f64::from(pp);
    let free_share = |tp: u32| {
        let usable = usable_per_gpu * f64::from(tp) * pp;
        (usable - weights) / usable
    };
    AUTO_TP_DEGREES
        .into_iter()
        .find(|&tp| free_share(tp) >= p.auto_tp_min_kv_share)
        .or_else(|| AUTO_TP_DEGREES.into_iter().find(|&tp| free_share(tp) > 0.0))
        .ok_or(Infeasible::NoParallelismFits {
            max_tp: AUTO_TP_DEGREES[AUTO_TP_DEGREES.len() - 1],
        })
}

/// The tensor-core precision the weights run at and the KV-cache precision; infeasible
/// when the GPU lacks tensor cores for either.
fn precisions(s: &Scenario<'_>) -> Result<(Precision, Precision), Infeasible> {
    let weights = s.deployment.weights;
    let compute =
        s.gpu
            .compute_precision(weights)
            .ok_or_else(|| Infeasible::UnsupportedPrecision {
                precision: weights,
                gpu: s.gpu.slug.clone(),
            })?;
    let kv = kv_precision(s);
    if s.gpu.compute_precision(kv).is_none() && kv != Precision::Fp16 {
        return Err(Infeasible::UnsupportedPrecision {
            precision: kv,
            gpu: s.gpu.slug.clone(),
        });
    }
    Ok((compute, kv))
}

/// Where `s` runs, as the efficiency overrides are keyed.
pub fn placement<'a>(s: &Scenario<'a>) -> Placement<'a> {
    Placement {
        gpu: &s.gpu.slug,
        precision: s.deployment.weights,
        architecture: &s.gpu.architecture,
        model: &s.model.slug,
        engine: s.deployment.engine,
    }
}

impl Instance {
    /// Resolves precision, TP and memory for `s`; infeasible when the GPU lacks tensor
    /// cores for the weights or the weights leave no room for one request's KV cache.
    pub fn resolve(s: &Scenario<'_>, p: &ServingParams) -> Result<Instance, Infeasible> {
        let deployed = Deployed::new(s)?;
        Instance::assemble(&deployed, p, &PlacedParams::of(p, &placement(s)))
    }

    /// The instance `deployed` becomes under parameters `p`, with `placed` the parameters
    /// of its placement (as [`PlacedParams::of`] gives them).
    #[inline(always)]
    pub fn assemble(
        deployed: &Deployed,
        p: &ServingParams,
        placed: &PlacedParams,
    ) -> Result<Instance, Infeasible> {
        let d = deployed;
        let tp = d.tp(p)?;
        let kv_capacity_tokens = d.kv_capacity(p, tp)?;
        let t = f64::from(tp);
        let (allreduce_per_token_s, allreduce_fixed_s) =
            d.allreduce_costs(p, tp, placed.allreduce_latency_s);
        Ok(Instance {
            gpus: tp * d.pp,
            tp,
            weights: d.weights,
            kv: d.kv,
            compute: d.compute,
            kv_capacity_tokens,
            effective_flops: t * d.peak_flops * placed.prefill_efficiency,
            effective_bandwidth: t * d.memory_bandwidth * placed.decode_efficiency,
            effective_kv_bandwidth: t * d.memory_bandwidth * p.kv_read_efficiency,
            pass_bytes: d.pass_bytes,
            expert_bytes: d.expert_bytes,
            expert_share: d.expert_share,
            kv_bytes_per_token: d.kv_bytes_per_token,
            activation_bytes_per_token: d.activation_bytes_per_token,
            matmul_params: d.matmul_params,
            layer_attention_width: d.layer_attention_width,
            allreduce_per_token_s,
            allreduce_fixed_s,
            step_overhead_s: placed.step_overhead_s,
            layers_fixed_s: d.layers * p.layer_overhead_s,
            sequence_step_s: placed.sequence_overhead_s,
            max_running_batch: placed.max_running_batch,
            request_overhead_s: p.request_overhead_s,
        })
    }
}
