//! The physical building blocks shared by the `roofline` and `serving` models: resolving
//! a deployment (compute precision, tensor-parallel degree), the memory budget and KV-cache
//! capacity, prefill time, the decode step and ring all-reduce. An [`Instance`] reduces a
//! scenario and a parameter set to a handful of constants once, so that the queueing
//! arithmetic built on top of it is a few multiplications per evaluation.
//!
//! ## References
//! - Prefill FLOPs `2·N·S + 2·L·(h·d_h)·S²` (causal attention) and the decode roofline:
//!   Kaplan et al., "Scaling Laws for Neural Language Models" (2020), §2.1; Pope et al.,
//!   "Efficiently Scaling Transformer Inference" (2022), §2–3.
//! - Ring all-reduce `2(t−1)/t · X / bandwidth + α`: Patarasuk & Yuan, "Bandwidth optimal
//!   all-reduce algorithms for clusters of workstations" (2009); two per layer under
//!   Megatron tensor parallelism (Shoeybi et al. 2019, §3).
//! - KV bytes per token `2·L·h_kv·d_h·b_kv`: Pope et al. (2022), §3.
//! - A host cost per running sequence in every decode step (scheduling, sampling,
//!   detokenising), which grows with the batch: the vLLM team's profile of Llama 3 8B on
//!   one H100 under v0.5.3, where the HTTP server took 33 % and scheduling (gathering the
//!   last step's results, preparing the next step's inputs) 29 % of the execution time
//!   ("vLLM v0.6.0: 2.7x Throughput Improvement and 5x Latency Reduction", vLLM blog,
//!   2024-09-05).
//! - Mixture-of-experts decode reads the experts its tokens route to, `1 − (1 − k/E)^B` of
//!   them for B tokens routed independently (Fedus et al., "Switch Transformers" (2021),
//!   §2; Jiang et al., "Mixtral of Experts" (2024), §2). A benchmark built with generated
//!   weights (the DLI TensorRT-LLM 0.9.0 table says `Use Fake Weight` = Yes on every run)
//!   sends every token to the same k experts: its Mixtral 8x7B decode step on two H100s
//!   grows from 6.0 ms at batch 1 to 7.6 ms at batch 32, where reading every expert (93 GB
//!   in fp16 over 6.7 TB/s) would take at least 14 ms. Such rows read one token's share
//!   of the experts at any batch, in decode and prefill alike.

mod resolve;

pub use resolve::{Deployed, PlacedParams, kv_precision, placement, resolve_tp};

use super::{Bound, Infeasible};
use crate::precision::Precision;

/// Tensor-parallel degrees automatic placement tries (one node).
pub const AUTO_TP_DEGREES: [u32; 4] = [1, 2, 4, 8];

/// Activations cross the link in 16 bits whatever the weight precision.
const ACTIVATION_BYTES: f64 = 2.0;

/// A decode step split into its linear pieces in the running batch B:
/// `time(B) = max(memory.0 + experts(B) + memory.1·B, compute.0 + compute.1·B) + fixed.0 + fixed.1·B`
/// (`fixed.1`: each sequence's all-reduced activations and its host cost τ_seq),
/// where `experts(B)` reads the experts B tokens touch in a mixture-of-experts model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLine {
    /// Memory-bound piece (dense weights + KV reads), (intercept, slope).
    pub memory: (f64, f64),
    /// Time to read every expert once, and the share of experts one token routes to
    /// (k/E); `None` for dense models.
    pub experts: Option<(f64, f64)>,
    /// Compute-bound piece, (intercept, slope).
    pub compute: (f64, f64),
    /// Overhead and all-reduce, (intercept, slope).
    pub fixed: (f64, f64),
}

impl StepLine {
    /// Step time at running batch `batch`, and what bounds it.
    pub fn at(&self, batch: f64) -> (f64, Bound) {
        // With k of E experts per token, B tokens touch 1 − (1 − k/E)^B of them.
        let experts = self
            .experts
            .map_or(0.0, |(all, share)| all * (1.0 - (1.0 - share).powf(batch)));
        let memory = self.memory.0 + experts + self.memory.1 * batch;
        let compute = self.compute.0 + self.compute.1 * batch;
        let fixed = self.fixed.0 + self.fixed.1 * batch;
        if compute > memory {
            (compute + fixed, Bound::Compute)
        } else {
            (memory + fixed, Bound::Memory)
        }
    }

    /// The memory piece as a line that reads every expert: an upper bound of the step
    /// for solvers that need lines in the batch.
    pub fn memory_upper_bound(&self) -> (f64, f64) {
        (
            self.memory.0 + self.experts.map_or(0.0, |(all, _)| all),
            self.memory.1,
        )
    }

    /// All-reduce time within a step at `batch`.
    pub fn fixed_at(&self, batch: f64) -> f64 {
        self.fixed.0 + self.fixed.1 * batch
    }
}

/// A static batch: every prompt prefilled together, then every sequence decoded together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticBatch {
    /// Prefill of the whole batch (its TTFT), seconds.
    pub prefill_s: f64,
    /// All-reduce within that prefill, seconds.
    pub allreduce_s: f64,
    /// One decode step at the batch, seconds.
    pub step_s: f64,
    /// What bounds the step.
    pub bound: Bound,
    /// Prefill plus the remaining decode steps, seconds.
    pub e2e_s: f64,
}

/// A scenario's deployment resolved to constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instance {
    /// GPUs per instance (TP × PP).
    pub gpus: u32,
    /// Tensor-parallel degree.
    pub tp: u32,
    /// Weight precision.
    pub weights: Precision,
    /// KV-cache precision.
    pub kv: Precision,
    /// Tensor-core precision.
    pub compute: Precision,
    /// Tokens of KV cache the instance holds.
    pub kv_capacity_tokens: f64,
    /// Effective FLOP/s of the instance (t·peak·η_pre).
    effective_flops: f64,
    /// Effective bytes/s of the instance reading weights (t·BW·η_dec).
    effective_bandwidth: f64,
    /// Effective bytes/s of the instance reading the KV cache.
    effective_kv_bandwidth: f64,
    /// Bytes of weights one forward pass reads at most (every expert its tokens can
    /// route to).
    pass_bytes: f64,
    /// Bytes of the experts read according to how a step's tokens route (0 for dense
    /// models and for synthetic weights).
    expert_bytes: f64,
    /// Share of experts one token routes to (k/E; 1 for dense models).
    expert_share: f64,
    kv_bytes_per_token: f64,
    /// Context-phase activation workspace per prompt token in flight (per instance).
    activation_bytes_per_token: f64,
    matmul_params: f64,
    layer_attention_width: f64,
    /// Seconds per token of activations all-reduced (both all-reduces of every layer).
    allreduce_per_token_s: f64,
    /// Fixed latency of the all-reduces of one forward pass.
    allreduce_fixed_s: f64,
    step_overhead_s: f64,
    /// Fixed cost of every layer of one forward pass, whatever the tensor-parallel degree.
    layers_fixed_s: f64,
    /// Cost of each running sequence in a decode step, whatever the tensor-parallel degree.
    sequence_step_s: f64,
    /// The engine's largest running batch.
    pub(crate) max_running_batch: f64,
    request_overhead_s: f64,
}

impl Instance {
    /// All-reduce time for one forward pass over `tokens` tokens.
    pub fn allreduce_s(&self, tokens: f64) -> f64 {
        self.prefill_tokens_s(tokens, 1.0, f64::INFINITY).1
    }

    /// Prefill of `tokens` prompt tokens from prompts of `isl` tokens each, in engine
    /// iterations of at most `chunk_tokens` tokens (chunked prefill): the roofline of the
    /// FLOPs against one read of the weights per iteration, plus all-reduce. Iterations are
    /// counted fractionally, so time is continuous and non-decreasing in `tokens` and
    /// `isl`. Returns (seconds, all-reduce seconds); no per-request overhead.
    pub fn prefill_tokens_s(&self, tokens: f64, isl: f64, chunk_tokens: f64) -> (f64, f64) {
        self.prefill_in_iterations(tokens, isl, (tokens / chunk_tokens).max(1.0))
    }

    /// One prompt of `isl` tokens' share of a busy engine's prefill work, the engine packing
    /// prompts `chunk_tokens` to an iteration: its FLOPs against its fraction of each
    /// iteration's weight read, plus that fraction of the all-reduce latency and per-layer
    /// cost. A lone prompt pays at least one whole iteration ([`Instance::first_token_s`]);
    /// a queue of short prompts shares them. No per-request overhead: the host does that
    /// work beside the GPU's.
    pub fn prefill_share_s(&self, isl: f64, chunk_tokens: f64) -> f64 {
        self.prefill_in_iterations(isl, isl, isl / chunk_tokens).0
    }

    /// Prefill of `tokens` tokens from prompts of `isl` tokens in `iterations` engine
    /// iterations (fractional when prompts share them).
    fn prefill_in_iterations(&self, tokens: f64, isl: f64, iterations: f64) -> (f64, f64) {
        let flops = tokens * (2.0 * self.matmul_params + 2.0 * self.layer_attention_width * isl);
        let compute = flops / self.effective_flops;
        let memory = iterations * self.pass_bytes / self.effective_bandwidth;
        let allreduce = if self.tp > 1 {
            iterations * self.allreduce_fixed_s + self.allreduce_per_token_s * tokens
        } else {
            0.0
        };
        (
            compute.max(memory) + allreduce + iterations * self.layers_fixed_s,
            allreduce,
        )
    }

    /// Prefill of `batch` requests of `isl` tokens processed in one pass (a static batch
    /// or a lone request), plus the per-request overhead. Returns (total seconds,
    /// all-reduce seconds).
    pub fn prefill_s(&self, isl: f64, batch: f64) -> (f64, f64) {
        let (seconds, allreduce) = self.prefill_tokens_s(batch * isl, isl, f64::INFINITY);
        (seconds + self.request_overhead_s, allreduce)
    }

    /// Time from a burst's start to the first token of a request whose prompt ends
    /// `tokens` tokens into the burst, with chunked prefill of `chunk_tokens` per iteration.
    pub fn first_token_s(&self, tokens: f64, isl: f64, chunk_tokens: f64) -> (f64, f64) {
        let (seconds, allreduce) = self.prefill_tokens_s(tokens, isl, chunk_tokens);
        (seconds + self.request_overhead_s, allreduce)
    }

    /// The most prompt tokens, between `lo` and `hi`, whose burst reaches its first token
    /// within `seconds` ([`Instance::first_token_s`] ≤ `seconds`), for prompts of `isl`
    /// tokens prefilled `chunk_tokens` per iteration; `lo` when even `lo` tokens take
    /// longer. The first-token time is piecewise linear and non-decreasing in the tokens,
    /// with kinks only where chunking starts (`chunk_tokens`) and where a lone iteration
    /// turns from reading the weights to computing; between kinks it is inverted exactly.
    pub fn prompt_tokens_within(
        &self,
        seconds: f64,
        (lo, hi): (f64, f64),
        isl: f64,
        chunk_tokens: f64,
    ) -> f64 {
        let time = |tokens: f64| self.first_token_s(tokens, isl, chunk_tokens).0;
        let flops_per_token = 2.0 * self.matmul_params + 2.0 * self.layer_attention_width * isl;
        let compute_takes_over =
            self.pass_bytes / self.effective_bandwidth * self.effective_flops / flops_per_token;
        let mut edges = [lo, chunk_tokens, compute_takes_over, hi];
        for edge in &mut edges {
            *edge = edge.clamp(lo, hi);
        }
        edges.sort_by(f64::total_cmp);
        // Walk the segments from the right: the first whose left end fits holds the answer.
        for pair in edges.windows(2).rev() {
            let (left, right) = (pair[0], pair[1]);
            let (t_left, t_right) = (time(left), time(right));
            if t_left > seconds {
                continue;
            }
            if t_right <= seconds || t_right <= t_left {
                return right;
            }
            let tokens = left + (seconds - t_left) * (right - left) / (t_right - t_left);
            return tokens.clamp(left, right);
        }
        lo
    }

    /// The decode step as linear pieces in the running batch, at mean context `context`.
    pub fn step_line(&self, context: f64) -> StepLine {
        let memory = (
            (self.pass_bytes - self.expert_bytes) / self.effective_bandwidth,
            context * self.kv_bytes_per_token / self.effective_kv_bandwidth,
        );
        let experts = (self.expert_bytes > 0.0).then(|| {
            (
                self.expert_bytes / self.effective_bandwidth,
                self.expert_share,
            )
        });
        let flops_per_sequence =
            2.0 * self.matmul_params + 4.0 * self.layer_attention_width * context;
        StepLine {
            memory,
            experts,
            compute: (0.0, flops_per_sequence / self.effective_flops),
            fixed: (
                self.step_overhead_s + self.allreduce_fixed_s + self.layers_fixed_s,
                self.allreduce_per_token_s + self.sequence_step_s,
            ),
        }
    }

    /// KV-cache tokens left while `prompt_tokens` prompt tokens are being prefilled at
    /// once (their activations share the memory the weights leave).
    pub fn kv_tokens_during_prefill(&self, prompt_tokens: f64) -> f64 {
        self.kv_capacity_tokens
            - prompt_tokens * self.activation_bytes_per_token / self.kv_bytes_per_token
    }

    /// A static batch of `batch` requests; infeasible when their KV cache and the prompts'
    /// activations (all prefilled at once) do not fit beside the weights.
    pub fn static_batch(&self, isl: f64, osl: f64, batch: f64) -> Result<StaticBatch, Infeasible> {
        let tokens_needed = batch * (isl + osl);
        let available = self.kv_tokens_during_prefill(batch * isl);
        if tokens_needed > available {
            return Err(Infeasible::KvCacheTooSmall {
                tokens_needed,
                tokens_available: available.max(0.0),
            });
        }
        let (prefill_s, allreduce_s) = self.prefill_s(isl, batch);
        let (step_s, bound) = self.step_line(isl + osl / 2.0).at(batch);
        let e2e_s = prefill_s + (osl - 1.0).max(0.0) * step_s;
        Ok(StaticBatch {
            prefill_s,
            allreduce_s,
            step_s,
            bound,
            e2e_s,
        })
    }

    /// Sequences of `tokens_per_sequence` the KV cache holds at once.
    pub fn kv_batch_limit(&self, tokens_per_sequence: f64) -> f64 {
        self.kv_capacity_tokens / tokens_per_sequence
    }
}

#[cfg(test)]
mod tests;
