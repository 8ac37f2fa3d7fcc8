//! Performance models behind one trait. A model takes a [`Scenario`] and returns either a
//! [`Prediction`] of every observable or an [`Infeasible`] outcome with its reason —
//! never NaN, never 0 standing in for "impossible", never a panic. Models hold their
//! parameters; they do no IO.
//!
//! - [`mod@reference`]: the naive reference calculator (FLOPs only, batch 1), kept as published;
//! - [`roofline`]: batch-1 prefill/decode roofline with memory capacity and TP;
//! - [`serving`]: continuous batching and queueing — the model the calibration fits.
//!
//! [`physics`] holds what `roofline` and `serving` share; [`params`] their parameters.

pub mod params;
pub mod physics;
#[cfg(test)]
mod properties;
pub mod reference;
pub mod registry;
pub mod roofline;
pub mod serving;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::precision::Precision;
use crate::scenario::Metric;
use crate::scenario::Scenario;
use physics::{Deployed, PlacedParams};

/// Which resource bounds a decode step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Tensor-core throughput.
    Compute,
    /// Memory bandwidth.
    Memory,
}

/// Where the time goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Prefill time of one request, seconds.
    pub prefill_s: f64,
    /// One decode step at the running batch, seconds.
    pub decode_step_s: f64,
    /// Mean wait before prefill starts, seconds.
    pub queue_wait_s: f64,
    /// All-reduce time within one prefill, seconds.
    pub allreduce_s: f64,
    /// What bounds the decode step.
    pub decode_bound: Bound,
}

/// A feasible scenario's observables. Rates are for one instance (`tp` GPUs) unless the
/// name says per GPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// GPUs per instance.
    pub tp: u32,
    /// Weight precision used.
    pub precision: Precision,
    /// Time to first token, seconds.
    pub ttft_s: f64,
    /// Inter-token latency, seconds.
    pub itl_s: f64,
    /// End-to-end latency, seconds.
    pub e2e_s: f64,
    /// Output tokens/s of the instance.
    pub output_tok_s: f64,
    /// Requests/s of the instance.
    pub req_per_s: f64,
    /// Requests/s per GPU.
    pub req_per_s_per_gpu: f64,
    /// GPUs for the target rate (fractional), when the scenario names one.
    pub gpus_for_target: Option<f64>,
    /// Whole instances for the target rate, when the scenario names one.
    pub instances_for_target: Option<u64>,
    /// Mean number of sequences decoding together.
    pub running_batch: f64,
    /// Tokens of KV cache the instance can hold, where the model tracks memory.
    pub kv_capacity_tokens: Option<f64>,
    /// Where the time goes.
    pub breakdown: Breakdown,
}

/// More GPUs than any deployment could hold: a target this large is a typo or a unit
/// mistake, and the GPU count (and whole instances × TP) must not overflow.
pub const MAX_GPUS: f64 = 1e9;

impl Prediction {
    /// This prediction if every figure in it is finite and the GPUs it asks for are within
    /// [`MAX_GPUS`]; the reason otherwise. Every model returns through here, so NaN or
    /// infinity never reaches a report and no count overflows.
    #[inline(always)]
    pub fn checked(self) -> Outcome {
        let b = &self.breakdown;
        // One sum is finite only if every figure is: the named list is built only when it
        // is not (this check runs for every row of every evaluation).
        let sum = self.ttft_s
            + self.itl_s
            + self.e2e_s
            + self.output_tok_s
            + self.req_per_s
            + self.req_per_s_per_gpu
            + self.running_batch
            + self.kv_capacity_tokens.unwrap_or(0.0)
            + b.prefill_s
            + b.decode_step_s
            + b.queue_wait_s
            + b.allreduce_s;
        if !sum.is_finite() {
            let figures = [
                ("TTFT", self.ttft_s),
                ("ITL", self.itl_s),
                ("end-to-end latency", self.e2e_s),
                ("output tok/s", self.output_tok_s),
                ("req/s", self.req_per_s),
                ("req/s per GPU", self.req_per_s_per_gpu),
                ("running batch", self.running_batch),
                ("KV capacity", self.kv_capacity_tokens.unwrap_or(0.0)),
                ("prefill time", b.prefill_s),
                ("decode step", b.decode_step_s),
                ("queue wait", b.queue_wait_s),
                ("all-reduce time", b.allreduce_s),
            ];
            if let Some((what, _)) = figures.iter().find(|(_, v)| !v.is_finite()) {
                return Err(Infeasible::NotFinite {
                    what: (*what).to_string(),
                });
            }
        }
        if let Some(gpus) = self.gpus_for_target
            && !(gpus.is_finite() && gpus <= MAX_GPUS)
        {
            return Err(Infeasible::BeyondAnyDeployment { gpus });
        }
        Ok(self)
    }

    /// The value of `metric`, or `None` when the scenario does not define it
    /// (`gpus_for_target` without a target rate).
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::ReqPerSPerGpu => Some(self.req_per_s_per_gpu),
            Metric::GpusForTarget => self.gpus_for_target,
            Metric::TtftS => Some(self.ttft_s),
            Metric::ItlS => Some(self.itl_s),
            Metric::E2eS => Some(self.e2e_s),
            Metric::OutputTokS => Some(self.output_tok_s),
            Metric::ReqPerS => Some(self.req_per_s),
        }
    }
}

/// Why a scenario cannot be served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Infeasible {
    /// The weights exceed the usable memory of the instance.
    WeightsDoNotFit {
        /// Weight bytes per GPU after sharding, GB.
        weights_gb_per_gpu: f64,
        /// Usable memory per GPU, GB.
        usable_gb_per_gpu: f64,
        /// GPUs per instance.
        tp: u32,
    },
    /// The KV cache cannot hold even one request's context.
    KvCacheTooSmall {
        /// Tokens one request needs.
        tokens_needed: f64,
        /// Tokens the cache holds.
        tokens_available: f64,
    },
    /// Prefill alone takes longer than the TTFT budget.
    PrefillExceedsBudget {
        /// Bare prefill (plus one decode step), seconds.
        prefill_s: f64,
        /// The budget, seconds.
        budget_s: f64,
    },
    /// A lone request's decode gap, at the statistic asked for, exceeds the ITL budget.
    DecodeExceedsBudget {
        /// Inter-token latency at the lightest load, seconds.
        itl_s: f64,
        /// The budget, seconds.
        budget_s: f64,
    },
    /// The GPU has no tensor cores for the weight precision.
    UnsupportedPrecision {
        /// The precision asked for.
        precision: Precision,
        /// The GPU slug.
        gpu: String,
    },
    /// The requested load exceeds what the instance can sustain.
    Overloaded {
        /// Offered rate, requests/s.
        offered_rps: f64,
        /// Largest sustainable rate, requests/s.
        capacity_rps: f64,
    },
    /// No tensor-parallel degree up to the limit holds the weights.
    NoParallelismFits {
        /// Largest degree tried.
        max_tp: u32,
    },
    /// The target rate needs more GPUs than any deployment holds ([`MAX_GPUS`]).
    BeyondAnyDeployment {
        /// GPUs the target would need.
        gpus: f64,
    },
    /// The parameters drive a figure past floating-point range (for example an overhead
    /// of 1e308 s): no number can be reported.
    NotFinite {
        /// The figure.
        what: String,
    },
}

impl fmt::Display for Infeasible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Infeasible::WeightsDoNotFit {
                weights_gb_per_gpu,
                usable_gb_per_gpu,
                tp,
            } => write!(
                f,
                "weights do not fit: {weights_gb_per_gpu:.1} GB per GPU at TP{tp} > {usable_gb_per_gpu:.1} GB usable"
            ),
            Infeasible::KvCacheTooSmall {
                tokens_needed,
                tokens_available,
            } => write!(
                f,
                "KV cache too small: one request needs {tokens_needed:.0} tokens, the cache holds {tokens_available:.0}"
            ),
            Infeasible::PrefillExceedsBudget {
                prefill_s,
                budget_s,
            } => write!(
                f,
                "bare prefill takes {prefill_s:.3} s, over the {budget_s} s TTFT budget"
            ),
            Infeasible::DecodeExceedsBudget { itl_s, budget_s } => write!(
                f,
                "a decode step takes {:.1} ms at the lightest load, over the {} ms ITL budget",
                itl_s * 1e3,
                budget_s * 1e3
            ),
            Infeasible::UnsupportedPrecision { precision, gpu } => {
                write!(f, "{gpu} has no tensor cores for {precision}")
            }
            Infeasible::Overloaded {
                offered_rps,
                capacity_rps,
            } => write!(
                f,
                "overloaded: {offered_rps} req/s offered, {capacity_rps:.3} req/s sustainable"
            ),
            Infeasible::BeyondAnyDeployment { gpus } => write!(
                f,
                "beyond any deployment: the target needs {gpus:.3e} GPUs (more than {MAX_GPUS:.0e})"
            ),
            Infeasible::NotFinite { what } => write!(
                f,
                "{what} is beyond floating-point range with these parameters"
            ),
            Infeasible::NoParallelismFits { max_tp } => {
                write!(
                    f,
                    "no tensor-parallel degree up to {max_tp} holds the weights with room for a KV cache"
                )
            }
        }
    }
}

/// A model's answer to one scenario.
pub type Outcome = Result<Prediction, Infeasible>;

/// A performance model with its parameters.
pub trait PerfModel: Sync {
    /// The model's name as the CLI and experiment files spell it.
    fn name(&self) -> &'static str;

    /// Predicts every observable of `scenario`, or says why it cannot be served.
    fn predict(&self, scenario: &Scenario<'_>) -> Outcome;

    /// As [`PerfModel::predict`], with the scenario's deployment already resolved
    /// (`deployed`) and its placement's parameters looked up (`placed`): what a
    /// calibration calls for every row of every evaluation. The same numbers as
    /// `predict`, to the last bit; models without physics ignore the two.
    fn predict_deployed(
        &self,
        scenario: &Scenario<'_>,
        deployed: &Deployed,
        placed: &PlacedParams,
    ) -> Outcome {
        let _ = (deployed, placed);
        self.predict(scenario)
    }
}

/// The performance models by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PerfModelKind {
    /// The reference calculator (`seed` in files written before 0.2).
    #[serde(alias = "seed")]
    Reference,
    /// Batch-1 roofline.
    Roofline,
    /// Continuous batching with queueing.
    Serving,
}

impl PerfModelKind {
    /// The name as the CLI and files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PerfModelKind::Reference => "reference",
            PerfModelKind::Roofline => "roofline",
            PerfModelKind::Serving => "serving",
        }
    }

    /// This model's prediction of `s`, deployed as `d` with placed values `placed`, under
    /// the global values of `set` — without building a model, for callers that vary one
    /// parameter at a time (the parameter part of prediction intervals).
    pub fn predict_deployed_with(
        self,
        set: &registry::ParamSet,
        s: &Scenario<'_>,
        d: &physics::Deployed,
        placed: &physics::PlacedParams,
    ) -> Outcome {
        let instance = || physics::Instance::assemble(d, &set.serving, placed);
        match self {
            PerfModelKind::Reference => reference::ReferenceModel {
                params: set.reference.clone(),
            }
            .predict(s),
            PerfModelKind::Roofline => roofline::on(s, &instance()?),
            PerfModelKind::Serving => serving::on(&set.serving, s, &instance()?),
        }
    }

    /// This model with its parameters taken from `set`.
    pub fn with_params(self, set: &registry::ParamSet) -> Box<dyn PerfModel> {
        match self {
            PerfModelKind::Reference => Box::new(reference::ReferenceModel {
                params: set.reference.clone(),
            }),
            PerfModelKind::Roofline => Box::new(roofline::RooflineModel {
                params: set.serving.clone(),
            }),
            PerfModelKind::Serving => Box::new(serving::ServingModel {
                params: set.serving.clone(),
            }),
        }
    }
}

impl std::str::FromStr for PerfModelKind {
    type Err = crate::format::UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PerfModelKind::Reference,
            PerfModelKind::Roofline,
            PerfModelKind::Serving,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == s.trim())
        // The reference model's name before 0.2, which `--seed` made ambiguous.
        .or((s.trim() == "seed").then_some(PerfModelKind::Reference))
        .ok_or_else(|| crate::format::UnknownChoice {
            what: "performance model",
            given: s.to_string(),
            expected: "expected reference, roofline or serving".to_string(),
        })
    }
}

impl fmt::Display for PerfModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
