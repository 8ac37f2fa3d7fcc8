//! Poisson arrivals at rate λ per instance. Prefill occupies `u = λ·T_share`, where
//! `T_share` is one prompt's share of prefill iterations packed `max_prefill_tokens` to an
//! iteration (its FLOPs, its fraction of each iteration's weight read and fixed costs; no
//! per-request host overhead), not a whole iteration per prompt: a busy engine prefills
//! queued prompts together. The running batch solves `B·(1−u) = λ·S_out·T_step(B)`.
//! `T_step` is the maximum of two lines in B (memory- and compute-bound), so the smallest
//! root is the larger of the two lines' roots. TTFT = `T_pre + m·u·T_share/(2(1−u)) +
//! T_step/2` (a lone prefill `T_pre`, request overhead included, plus an M/D/1 wait, m
//! from the statistic); mean ITL = `T_step/(1−u)`, a percentile from the decode tail
//! (`tail`); E2E = TTFT + (S_out−1)·mean ITL. Saturation is where B reaches the batch
//! limit: `λ = B_max / (B_max·T_share + S_out·T_step(B_max))`. An ITL budget caps the rate
//! where the ITL at the statistic meets it (searched).
//!
//! ## References
//! - Prompts packed into iterations of a token budget: TensorRT-LLM's `max_num_tokens`
//!   and vLLM's `max_num_batched_tokens`; Agrawal et al., "Taming Throughput-Latency
//!   Tradeoff in LLM Inference with Sarathi-Serve" (OSDI 2024), §3 (chunked prefills
//!   batched with decodes).

use super::tail::{itl_at, stall_s};
use super::{OperatingPoint, batch_limit, bisect, quantile_of, wait_multiplier};
use crate::perf::Infeasible;
use crate::perf::params::ServingParams;
use crate::perf::physics::{Instance, StepLine};
use crate::scenario::Scenario;

/// One scenario reduced to what the open-loop arithmetic needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenLoop {
    osl: f64,
    /// A lone request's prefill, request overhead included: its TTFT on an idle engine.
    prefill_s: f64,
    /// The engine time one request's prefill takes when prompts queue and share
    /// iterations ([`Instance::prefill_share_s`]): what the arrivals keep busy.
    busy_s: f64,
    prefill_allreduce_s: f64,
    line: StepLine,
    batch_limit: f64,
    wait_multiplier: f64,
    itl_quantile: Option<f64>,
    stall_s: f64,
}

impl OpenLoop {
    pub(super) fn new(inst: &Instance, s: &Scenario<'_>, p: &ServingParams) -> OpenLoop {
        let (isl, osl) = (f64::from(s.isl), f64::from(s.osl));
        let (prefill_s, prefill_allreduce_s) = inst.first_token_s(isl, isl, p.max_prefill_tokens);
        OpenLoop {
            osl,
            prefill_s,
            busy_s: inst.prefill_share_s(isl, p.max_prefill_tokens),
            prefill_allreduce_s,
            line: inst.step_line(isl + osl / 2.0),
            batch_limit: batch_limit(inst, s),
            wait_multiplier: wait_multiplier(s.stat, p.tail_factor),
            itl_quantile: quantile_of(s.stat),
            stall_s: stall_s(prefill_s, isl, p.max_prefill_tokens),
        }
    }

    fn point(&self, rate: f64, batch: f64, busy: f64) -> OperatingPoint {
        let (step_s, bound) = self.line.at(batch);
        let wait_s = self.wait_multiplier * busy * self.busy_s / (2.0 * (1.0 - busy));
        let ttft_s = self.prefill_s + wait_s + step_s / 2.0;
        let mean_itl_s = step_s / (1.0 - busy);
        let itl_s = itl_at(self.itl_quantile, step_s, mean_itl_s, self.stall_s);
        OperatingPoint {
            rate,
            batch,
            prefill_s: self.prefill_s,
            prefill_allreduce_s: self.prefill_allreduce_s,
            step_s,
            bound,
            wait_s,
            ttft_s,
            itl_s,
            // A request's gaps average out: its E2E takes the mean gap, not a percentile's.
            e2e_s: ttft_s + (self.osl - 1.0).max(0.0) * mean_itl_s,
        }
    }

    /// The operating point at `rate`, or `None` when the instance cannot keep up.
    pub(super) fn steady(&self, rate: f64) -> Option<OperatingPoint> {
        let busy = rate * self.busy_s;
        if busy >= 1.0 {
            return None;
        }
        let tokens_per_s = rate * self.osl;
        let mut batch: f64 = 0.0;
        // Solved on lines: a mixture-of-experts step is bounded by reading every expert.
        for (intercept, slope) in [self.line.memory_upper_bound(), self.line.compute] {
            let denominator = (1.0 - busy) - tokens_per_s * (slope + self.line.fixed.1);
            if denominator <= 0.0 {
                return None;
            }
            batch = batch.max(tokens_per_s * (intercept + self.line.fixed.0) / denominator);
        }
        if batch > self.batch_limit * (1.0 + 1e-9) {
            return None;
        }
        Some(self.point(rate, batch, busy))
    }

    /// The largest sustainable rate: closed form at the batch limit, bisected instead when
    /// a compute-bound step saturates before the batch limit is reached.
    pub(super) fn saturation(&self) -> OperatingPoint {
        let (step_s, _) = self.line.at(self.batch_limit);
        let at_limit = self.batch_limit / (self.batch_limit * self.busy_s + self.osl * step_s);
        let candidate = at_limit * (1.0 - 1e-12);
        if let Some(point) = self.steady(candidate) {
            return point;
        }
        let rate = bisect(0.0, candidate, |r| self.steady(r).is_some());
        // The bracket's lower end is always feasible (rate → 0 converges to an empty batch).
        self.steady(rate)
            .unwrap_or_else(|| self.point(0.0, 0.0, 0.0))
    }

    /// The largest rate whose TTFT meets `budget_s` and whose ITL (at the statistic)
    /// meets `itl_budget_s`: both rise with the rate.
    pub(super) fn under_budget(
        &self,
        budget_s: f64,
        itl_budget_s: Option<f64>,
    ) -> Result<OperatingPoint, Infeasible> {
        let point = self.under_ttft_budget(budget_s)?;
        let Some(itl_budget_s) = itl_budget_s.filter(|&b| point.itl_s > b) else {
            return Ok(point);
        };
        let idle = self.point(0.0, 0.0, 0.0);
        if idle.itl_s > itl_budget_s {
            return Err(Infeasible::DecodeExceedsBudget {
                itl_s: idle.itl_s,
                budget_s: itl_budget_s,
            });
        }
        let rate = bisect(0.0, point.rate, |r| {
            self.steady(r).is_some_and(|p| p.itl_s <= itl_budget_s)
        });
        Ok(self.steady(rate).unwrap_or(idle))
    }

    /// The largest rate whose TTFT meets `budget_s`.
    fn under_ttft_budget(&self, budget_s: f64) -> Result<OperatingPoint, Infeasible> {
        let idle = self.point(0.0, 0.0, 0.0);
        if idle.ttft_s > budget_s {
            return Err(Infeasible::PrefillExceedsBudget {
                prefill_s: idle.ttft_s,
                budget_s,
            });
        }
        let saturated = self.saturation();
        if saturated.ttft_s <= budget_s {
            return Ok(saturated);
        }
        let rate = bisect(0.0, saturated.rate, |r| {
            self.steady(r).is_some_and(|p| p.ttft_s <= budget_s)
        });
        Ok(self.steady(rate).unwrap_or(idle))
    }
}
