//! The `serving` model: continuous batching with queueing, the model the calibration
//! fits. Prefills preempt decoding; decode runs the whole running batch each step. Two
//! load models sit on top of the same physics ([`Instance`]):
//!
//! - `open_loop`: Poisson arrivals at a rate — the M/D/1 prefill queue and the running
//!   batch that keeps decode up with arrivals; also saturation.
//! - `closed_loop`: C clients sending identical requests, as benchmark tools do. They
//!   stay synchronised: request k of a burst gets its first token after k prefill
//!   iterations, and all finish together.
//!
//! A TTFT budget is searched with the closed loop by default (a concurrency sweep: how
//! GenAI-Perf and NIM sizing charts are measured) or with Poisson arrivals
//! ([`BudgetLoad`]). Static batches prefill together, then decode together.
//!
//! ## References
//! - M/D/1 mean wait `ρ·D/(2(1−ρ))` (Pollaczek–Khinchine): Kleinrock, *Queueing Systems*,
//!   vol. 1 (1975), §5.7.
//! - Continuous batching and prefill preemption: Yu et al., "Orca" (OSDI 2022); Kwon et
//!   al., "vLLM / PagedAttention" (SOSP 2023); Agrawal et al., "Sarathi-Serve" (OSDI 2024).
//! - Little's law `L = λ·W` for the closed loop: Little (1961).
//! - Concurrency sweeps against a TTFT budget: NVIDIA NIM for LLMs benchmarking guide
//!   (GenAI-Perf), "Sizing LLM inference systems".

mod closed_loop;
mod open_loop;
mod tail;

use closed_loop::ClosedLoop;
use open_loop::OpenLoop;

use super::params::{BudgetLoad, ServingParams};
use super::physics::{Deployed, Instance, PlacedParams};
use super::{Bound, Breakdown, Infeasible, Outcome, PerfModel, Prediction};
use crate::scenario::{Condition, Scenario, Stat};

/// Bisection steps: 2⁻⁶⁰ of the bracket is far below any rate anyone can measure.
const BISECTION_STEPS: usize = 60;

/// The continuous-batching serving model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServingModel {
    /// Its parameters.
    pub params: ServingParams,
}

/// The wait multiplier for a statistic: 1 for the mean; for a percentile q, the tail
/// factor κ (the p90 multiple) scaled as an exponential tail, `κ·ln(1/(1−q))/ln 10`.
pub fn wait_multiplier(stat: Stat, tail_factor: f64) -> f64 {
    match quantile_of(stat) {
        None => 1.0,
        Some(q) => tail_factor * (1.0 / (1.0 - q)).ln() / 10f64.ln(),
    }
}

/// The quantile a statistic names (`None` for the mean).
fn quantile_of(stat: Stat) -> Option<f64> {
    match stat {
        Stat::Mean => None,
        Stat::P50 => Some(0.5),
        Stat::P90 => Some(0.9),
        Stat::P95 => Some(0.95),
        Stat::P99 => Some(0.99),
    }
}

/// The state of an instance under one load: what a prediction reports.
#[derive(Debug, Clone, Copy)]
struct OperatingPoint {
    rate: f64,
    batch: f64,
    prefill_s: f64,
    prefill_allreduce_s: f64,
    step_s: f64,
    bound: Bound,
    wait_s: f64,
    ttft_s: f64,
    itl_s: f64,
    e2e_s: f64,
}

/// The largest x in [lo, hi] with `ok(x)`, for a predicate true below some threshold.
pub(super) fn bisect(mut lo: f64, mut hi: f64, ok: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..BISECTION_STEPS {
        if hi <= lo {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    lo
}

/// The running-batch limit: KV-cache capacity or the engine's batch size.
fn batch_limit(inst: &Instance, s: &Scenario<'_>) -> f64 {
    inst.kv_batch_limit(f64::from(s.isl) + f64::from(s.osl))
        .min(inst.max_running_batch)
}

#[inline]
fn prediction(
    inst: &Instance,
    osl: f64,
    point: &OperatingPoint,
    target_rps: Option<f64>,
) -> Prediction {
    let gpus = f64::from(inst.gpus);
    Prediction {
        tp: inst.tp,
        precision: inst.weights,
        ttft_s: point.ttft_s,
        itl_s: point.itl_s,
        e2e_s: point.e2e_s,
        output_tok_s: point.rate * osl,
        req_per_s: point.rate,
        req_per_s_per_gpu: point.rate / gpus,
        gpus_for_target: target_rps.map(|r| r / (point.rate / gpus)),
        instances_for_target: target_rps.map(|r| (r / point.rate).ceil() as u64),
        running_batch: point.batch,
        kv_capacity_tokens: Some(inst.kv_capacity_tokens),
        breakdown: Breakdown {
            prefill_s: point.prefill_s,
            decode_step_s: point.step_s,
            queue_wait_s: point.wait_s,
            allreduce_s: point.prefill_allreduce_s,
            decode_bound: point.bound,
        },
    }
}

/// A static batch: all requests prefill together, then decode together.
#[inline]
fn static_batch(
    inst: &Instance,
    s: &Scenario<'_>,
    batch: f64,
) -> Result<OperatingPoint, Infeasible> {
    let b = inst.static_batch(f64::from(s.isl), f64::from(s.osl), batch)?;
    let (prefill_s, prefill_allreduce_s, step_s, bound, e2e_s) =
        (b.prefill_s, b.allreduce_s, b.step_s, b.bound, b.e2e_s);
    Ok(OperatingPoint {
        rate: batch / e2e_s,
        batch,
        prefill_s,
        prefill_allreduce_s,
        step_s,
        bound,
        wait_s: 0.0,
        ttft_s: prefill_s,
        itl_s: step_s,
        e2e_s,
    })
}

impl PerfModel for ServingModel {
    fn name(&self) -> &'static str {
        "serving"
    }

    fn predict(&self, s: &Scenario<'_>) -> Outcome {
        on(&self.params, s, &Instance::resolve(s, &self.params)?)
    }

    #[inline]
    fn predict_deployed(&self, s: &Scenario<'_>, d: &Deployed, placed: &PlacedParams) -> Outcome {
        on(
            &self.params,
            s,
            &Instance::assemble(d, &self.params, placed)?,
        )
    }
}

/// The prediction for `s` on its resolved instance under parameters `p`.
#[inline]
pub(crate) fn on(p: &ServingParams, s: &Scenario<'_>, inst: &Instance) -> Outcome {
    let (point, target) = match s.condition {
        Condition::StaticBatch { batch_size } => {
            (static_batch(inst, s, f64::from(batch_size))?, None)
        }
        Condition::Concurrency { clients } => (ClosedLoop::new(inst, s, p).at(clients), None),
        Condition::TtftBudget {
            budget_s,
            target_rps,
            itl_budget_s,
        } => {
            let point = match p.budget_load {
                BudgetLoad::ClosedLoop => {
                    ClosedLoop::new(inst, s, p).under_budget(budget_s, itl_budget_s)?
                }
                BudgetLoad::Poisson => {
                    OpenLoop::new(inst, s, p).under_budget(budget_s, itl_budget_s)?
                }
            };
            (point, target_rps)
        }
        Condition::ArrivalRate { rps } => {
            let open = OpenLoop::new(inst, s, p);
            let capacity_rps = open.saturation().rate;
            let point = open.steady(rps).ok_or(Infeasible::Overloaded {
                offered_rps: rps,
                capacity_rps,
            })?;
            (point, None)
        }
        Condition::Saturated => (OpenLoop::new(inst, s, p).saturation(), None),
    };
    prediction(inst, f64::from(s.osl), &point, target).checked()
}

#[cfg(test)]
mod tests;
