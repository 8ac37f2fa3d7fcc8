//! The `roofline` model: the physics of the serving model without batching or queueing.
//! One request at a time: prefill is the roofline of its FLOPs and one read of the
//! weights; each output token is a decode step at batch 1, bound by reading the weights
//! and the KV cache. Memory capacity, precision support and tensor parallelism are as in
//! `serving`. It is the middle baseline between the reference calculator and `serving`:
//! what memory bandwidth alone explains, before batching.
//!
//! ## References
//! - Williams, Waterman & Patterson, "Roofline: an insightful visual performance model"
//!   (CACM 2009); applied to LLM inference in Yuan et al., "LLM Inference Unveiled:
//!   Survey and Roofline Model Insights" (2024).

use super::params::ServingParams;
use super::physics::{Deployed, Instance, PlacedParams};
use super::{Breakdown, Infeasible, Outcome, PerfModel, Prediction};
use crate::scenario::{Condition, Scenario};

/// The batch-1 roofline model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RooflineModel {
    /// Its parameters (shared with `serving`; the queueing ones are unused).
    pub params: ServingParams,
}

/// The target rate of a budget question, after the checks the roofline can make: its
/// prefill within the budget, an offered rate within its capacity `rate`.
fn budget_target(
    s: &Scenario<'_>,
    prefill_s: f64,
    step_s: f64,
    rate: f64,
) -> Result<Option<f64>, Infeasible> {
    Ok(match s.condition {
        Condition::TtftBudget {
            budget_s,
            target_rps,
            itl_budget_s,
        } => {
            if prefill_s > budget_s {
                return Err(Infeasible::PrefillExceedsBudget {
                    prefill_s,
                    budget_s,
                });
            }
            if let Some(itl_budget_s) = itl_budget_s.filter(|&b| step_s > b) {
                return Err(Infeasible::DecodeExceedsBudget {
                    itl_s: step_s,
                    budget_s: itl_budget_s,
                });
            }
            target_rps
        }
        Condition::ArrivalRate { rps } if rps > rate => {
            return Err(Infeasible::Overloaded {
                offered_rps: rps,
                capacity_rps: rate,
            });
        }
        _ => None,
    })
}

impl PerfModel for RooflineModel {
    fn name(&self) -> &'static str {
        "roofline"
    }

    fn predict(&self, s: &Scenario<'_>) -> Outcome {
        on(s, &Instance::resolve(s, &self.params)?)
    }

    fn predict_deployed(&self, s: &Scenario<'_>, d: &Deployed, placed: &PlacedParams) -> Outcome {
        on(s, &Instance::assemble(d, &self.params, placed)?)
    }
}

/// The prediction for `s` on its resolved instance.
pub(crate) fn on(s: &Scenario<'_>, inst: &Instance) -> Outcome {
    let (isl, osl) = (f64::from(s.isl), f64::from(s.osl));
    let batch = match s.condition {
        Condition::StaticBatch { batch_size } => f64::from(batch_size),
        _ => 1.0,
    };
    let b = inst.static_batch(isl, osl, batch)?;
    let (prefill_s, allreduce_s, step_s, bound, service_s) =
        (b.prefill_s, b.allreduce_s, b.step_s, b.bound, b.e2e_s);
    let rate = batch / service_s;
    // One at a time: C closed-loop clients each wait behind the C−1 others.
    let queued = match s.condition {
        Condition::Concurrency { clients } => (clients - 1.0).max(0.0) * service_s,
        _ => 0.0,
    };
    let target = budget_target(s, prefill_s, step_s, rate)?;
    let gpus = f64::from(inst.gpus);
    Prediction {
        tp: inst.tp,
        precision: inst.weights,
        ttft_s: prefill_s + queued,
        itl_s: step_s,
        e2e_s: service_s + queued,
        output_tok_s: rate * osl,
        req_per_s: rate,
        req_per_s_per_gpu: rate / gpus,
        gpus_for_target: target.map(|r| r / (rate / gpus)),
        instances_for_target: target.map(|r| (r / rate).ceil() as u64),
        running_batch: batch,
        kv_capacity_tokens: Some(inst.kv_capacity_tokens),
        breakdown: Breakdown {
            prefill_s,
            decode_step_s: step_s,
            queue_wait_s: queued,
            allreduce_s,
            decode_bound: bound,
        },
    }
    .checked()
}
