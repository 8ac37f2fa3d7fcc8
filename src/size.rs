//! Sizing: for a model, a TTFT budget (and optionally an ITL budget) and a target rate,
//! every deployment worth considering (GPU × weight precision × tensor-parallel degree)
//! predicted by a performance model and ranked by the GPUs it needs — or, given prices, by
//! what it costs — with the budget that binds each one and the reason each GPU that cannot
//! serve the target is ruled out. With a calibration's discrepancy table each
//! deployment also gets an interval on the GPUs it needs and the probability that its TTFT
//! meets the budget, and the plan can be made for the interval's pessimistic end.

use serde::Serialize;

use crate::catalog::{Gpu, Model};
use crate::engine::Engine;
use crate::interval::{Confidence, DiscrepancyTable, Key, Level, Regime, Spread};
use crate::perf::physics::AUTO_TP_DEGREES;
use crate::perf::{Infeasible, PerfModel, Prediction};
use crate::precision::Precision;
use crate::prices::Prices;
use crate::scenario::{Condition, Deployment, Metric, Scenario, Stat};

/// The question: serve `model` at `target_rps` with TTFT (at `stat`) within `budget_s`.
#[derive(Clone, Copy)]
pub struct SizingQuestion<'c> {
    /// The model.
    pub model: &'c Model,
    /// Input tokens.
    pub isl: u32,
    /// Output tokens.
    pub osl: u32,
    /// TTFT budget, seconds.
    pub budget_s: f64,
    /// Rate to serve, requests/s.
    pub target_rps: f64,
    /// ITL budget, seconds, if any.
    pub itl_budget_s: Option<f64>,
    /// Statistic the budgets apply to.
    pub stat: Stat,
    /// The engine serving each GPU (by slug): what `--engine` names, else the family a
    /// calibration fitted most rows of on that GPU; `None` = engine-independent values.
    pub engine_of: &'c dyn Fn(&str) -> Option<Engine>,
    /// The intervals to attach, when the parameters carry a discrepancy table.
    pub intervals: Option<SizingIntervals<'c>>,
    /// Which end of the intervals the GPU counts are planned for.
    pub plan_for: PlanFor,
    /// Prices to cost and rank deployments by, if any.
    pub prices: Option<&'c Prices>,
}

/// What stops a deployment serving more per GPU: the budget whose loosening would raise
/// its rate, else its capacity (the running-batch or memory limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// The TTFT budget.
    Ttft,
    /// The ITL budget.
    Itl,
    /// Neither budget: the instance is at its limit.
    Capacity,
}

impl std::fmt::Display for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Binding::Ttft => "ttft",
            Binding::Itl => "itl",
            Binding::Capacity => "capacity",
        })
    }
}

/// What a sizing's intervals are drawn from.
#[derive(Clone, Copy)]
pub struct SizingIntervals<'c> {
    /// The calibration's cross-validated discrepancy.
    pub table: &'c DiscrepancyTable,
    /// The intervals' confidence.
    pub confidence: Confidence,
    /// Where each GPU's efficiencies come from.
    pub level_of: &'c dyn Fn(&Gpu) -> Level,
    /// How far the fitted parameters' uncertainty spreads each figure of a scenario.
    pub spread_of: &'c dyn Fn(&Scenario<'_>) -> Spread,
    /// The regime the budget is searched in (closed loop, or open under Poisson arrivals).
    pub regime: Regime,
}

/// The figure GPU counts are planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanFor {
    /// The predicted figures.
    #[default]
    Point,
    /// The pessimistic end of the intervals: TTFT at its upper bound within the budget and
    /// throughput per GPU at its lower bound serving the target.
    Upper,
}

impl PlanFor {
    /// Its name as `--plan-for` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanFor::Point => "point",
            PlanFor::Upper => "upper",
        }
    }
}

/// One feasible deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployable {
    /// GPU slug.
    pub gpu: String,
    /// Weight precision.
    pub precision: Precision,
    /// GPUs per instance.
    pub tp: u32,
    /// The engine family assumed (none: engine-independent values).
    pub engine: Option<Engine>,
    /// Max req/s per GPU under the budget.
    pub req_per_s_per_gpu: f64,
    /// GPUs for the target, fractional (the sizing-chart figure).
    pub gpus_for_target: f64,
    /// Whole instances for the target.
    pub instances: u64,
    /// Whole GPUs for the target (instances × TP).
    pub whole_gpus: u64,
    /// TTFT at that rate, seconds.
    pub ttft_s: f64,
    /// ITL at that rate, seconds (at the question's statistic).
    pub itl_s: f64,
    /// Sequences decoding at once per instance at that load.
    pub running_batch: f64,
    /// What limits the rate per GPU.
    pub binding: Binding,
    /// Dollars per hour for the whole GPUs, when the GPU is priced.
    pub usd_per_hour: Option<f64>,
    /// Dollars per million output tokens served at the target rate, when priced.
    pub usd_per_million_tokens: Option<f64>,
    /// The interval on the predicted fractional GPUs at the plan's operating point (for
    /// [`PlanFor::Upper`], before the throughput bound is applied), when there are
    /// intervals.
    pub gpus_interval: Option<(f64, f64)>,
    /// The probability that TTFT stays within the budget at this plan, when there are
    /// intervals: about one half at the predicted operating point, which sits on the
    /// budget's edge.
    pub meets_budget: Option<f64>,
    /// The probability that ITL stays within its budget, when there are intervals and an
    /// ITL budget.
    pub meets_itl_budget: Option<f64>,
    /// Where the GPU's efficiencies come from, when there are intervals.
    pub level: Option<Level>,
}

/// A GPU with no feasible deployment, and why (the reason at its largest TP per precision).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuledOut {
    /// GPU slug.
    pub gpu: String,
    /// (precision, TP, reason) for each precision tried.
    pub reasons: Vec<(Precision, u32, String)>,
}

/// Every feasible deployment ranked by whole GPUs then fractional GPUs, and the GPUs
/// ruled out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sizing {
    /// What the GPU counts are planned for.
    pub plan_for: PlanFor,
    /// Whether deployments are ranked by cost (prices were given) rather than GPUs.
    pub by_cost: bool,
    /// Feasible deployments, best first.
    pub deployable: Vec<Deployable>,
    /// GPUs without any.
    pub ruled_out: Vec<RuledOut>,
}

impl Sizing {
    /// The best deployment of each GPU, best GPU first.
    pub fn best_per_gpu(&self) -> Vec<&Deployable> {
        let mut seen = std::collections::HashSet::new();
        self.deployable
            .iter()
            .filter(|d| seen.insert(d.gpu.as_str()))
            .collect()
    }
}

impl SizingQuestion<'_> {
    /// The question on `gpu` at `precision` and TP `tp`, with the TTFT budget the plan
    /// holds the prediction to: the budget itself, or for [`PlanFor::Upper`] the budget
    /// shrunk by the TTFT interval's upper factor (its parameter part taken at the budget
    /// itself), so that the upper bound meets it.
    fn scenario<'g>(&self, gpu: &'g Gpu, precision: Precision, tp: u32) -> Scenario<'g>
    where
        Self: 'g,
    {
        let point = Scenario {
            model: self.model,
            gpu,
            deployment: Deployment {
                weights: precision,
                kv_cache: None,
                tp: Some(tp),
                pp: 1,
                engine: (self.engine_of)(&gpu.slug),
                synthetic_weights: false,
            },
            isl: self.isl,
            osl: self.osl,
            condition: Condition::TtftBudget {
                budget_s: self.budget_s,
                target_rps: Some(self.target_rps),
                itl_budget_s: self.itl_budget_s,
            },
            stat: self.stat,
        };
        let (PlanFor::Upper, Some(i)) = (self.plan_for, &self.intervals) else {
            return point;
        };
        let spread = (i.spread_of)(&point);
        let upper = |metric: Metric| i.factors(gpu, metric, &spread).1;
        Scenario {
            condition: Condition::TtftBudget {
                budget_s: self.budget_s / upper(Metric::TtftS),
                target_rps: Some(self.target_rps),
                itl_budget_s: self.itl_budget_s.map(|b| b / upper(Metric::ItlS)),
            },
            ..point
        }
    }

    /// What binds the deployment `scenario` predicts at `rate`: the ITL budget if dropping
    /// it raises the rate, else the TTFT budget if loosening it by 1 % does, else capacity.
    fn binding(&self, model: &dyn PerfModel, scenario: &Scenario<'_>, rate: f64) -> Binding {
        let Condition::TtftBudget {
            budget_s,
            target_rps,
            itl_budget_s,
        } = scenario.condition
        else {
            return Binding::Capacity;
        };
        let raises = |condition: Condition| {
            let loosened = Scenario {
                condition,
                ..*scenario
            };
            model
                .predict(&loosened)
                .is_ok_and(|p| p.req_per_s > rate * (1.0 + 1e-9))
        };
        let without_itl = Condition::TtftBudget {
            budget_s,
            target_rps,
            itl_budget_s: None,
        };
        if itl_budget_s.is_some() && raises(without_itl) {
            return Binding::Itl;
        }
        let looser_ttft = Condition::TtftBudget {
            budget_s: budget_s * 1.01,
            target_rps,
            itl_budget_s,
        };
        if raises(looser_ttft) {
            Binding::Ttft
        } else {
            Binding::Capacity
        }
    }

    /// `d` with its cost at the target rate, when its GPU is priced.
    fn costed(&self, mut d: Deployable) -> Deployable {
        let Some(usd_per_gpu_hour) = self.prices.and_then(|p| p.usd_per_gpu_hour(&d.gpu)) else {
            return d;
        };
        let usd_per_hour = d.whole_gpus as f64 * usd_per_gpu_hour;
        let million_tokens_per_hour = self.target_rps * f64::from(self.osl) * 3600.0 / 1e6;
        d.usd_per_hour = Some(usd_per_hour);
        d.usd_per_million_tokens = Some(usd_per_hour / million_tokens_per_hour);
        d
    }
}

impl SizingIntervals<'_> {
    fn key(&self, gpu: &Gpu, metric: Metric) -> Key {
        Key {
            metric,
            regime: self.regime,
            level: (self.level_of)(gpu),
        }
    }

    /// The (low, high) factors of `metric`'s interval on `gpu` with the parameters'
    /// `spread` (1, 1 without a group).
    fn factors(&self, gpu: &Gpu, metric: Metric, spread: &Spread) -> (f64, f64) {
        self.table
            .widest_cell(self.key(gpu, metric))
            .map_or((1.0, 1.0), |(cell, _)| {
                cell.widened_factors(self.confidence, spread.of(metric))
            })
    }

    /// `d` (the answer to `scenario`) with its interval, its probabilities of meeting the
    /// budgets, and for [`PlanFor::Upper`] its GPU counts at the lower bound of throughput
    /// per GPU.
    fn attach(
        &self,
        gpu: &Gpu,
        scenario: &Scenario<'_>,
        mut d: Deployable,
        q: &SizingQuestion<'_>,
    ) -> Deployable {
        let spread = (self.spread_of)(scenario);
        let (lo, hi) = self.factors(gpu, Metric::GpusForTarget, &spread);
        d.gpus_interval = Some((d.gpus_for_target * lo, d.gpus_for_target * hi));
        if q.plan_for == PlanFor::Upper {
            let (per_gpu_lo, _) = self.factors(gpu, Metric::ReqPerSPerGpu, &spread);
            d.req_per_s_per_gpu *= per_gpu_lo;
            d.gpus_for_target /= per_gpu_lo;
            d.instances = (d.gpus_for_target / f64::from(d.tp)).ceil() as u64;
            d.whole_gpus = d.instances * u64::from(d.tp);
        }
        let under = |metric: Metric, value: f64, limit: f64| {
            let key = self.key(gpu, metric);
            (self.table).probability_under(key, value, spread.of(metric), limit)
        };
        d.meets_budget = under(Metric::TtftS, d.ttft_s, q.budget_s);
        d.meets_itl_budget = q
            .itl_budget_s
            .and_then(|itl_budget_s| under(Metric::ItlS, d.itl_s, itl_budget_s));
        d.level = Some((self.level_of)(gpu));
        d
    }
}

impl Deployable {
    /// The deployment `p` predicts for `gpu` at `precision`.
    fn new(gpu: &Gpu, precision: Precision, engine: Option<Engine>, p: &Prediction) -> Deployable {
        let instances = p.instances_for_target.unwrap_or(0);
        Deployable {
            gpu: gpu.slug.clone(),
            precision,
            tp: p.tp,
            engine,
            req_per_s_per_gpu: p.req_per_s_per_gpu,
            gpus_for_target: p.gpus_for_target.unwrap_or(f64::INFINITY),
            instances,
            whole_gpus: instances * u64::from(p.tp),
            ttft_s: p.ttft_s,
            itl_s: p.itl_s,
            running_batch: p.running_batch,
            binding: Binding::Capacity,
            usd_per_hour: None,
            usd_per_million_tokens: None,
            gpus_interval: None,
            meets_budget: None,
            meets_itl_budget: None,
            level: None,
        }
    }
}

/// Best first: by cost when ranking by cost (unpriced last), then by whole GPUs and
/// fractional GPUs.
fn rank(a: &Deployable, b: &Deployable, by_cost: bool) -> std::cmp::Ordering {
    let cost = |d: &Deployable| d.usd_per_hour.unwrap_or(f64::INFINITY);
    let by_cost = if by_cost {
        cost(a).total_cmp(&cost(b))
    } else {
        std::cmp::Ordering::Equal
    };
    by_cost
        .then(a.whole_gpus.cmp(&b.whole_gpus))
        .then(a.gpus_for_target.total_cmp(&b.gpus_for_target))
        .then(a.gpu.cmp(&b.gpu))
}

/// Sizes `q` on every GPU in `gpus` with weight precisions `precisions` (those a GPU lacks
/// tensor cores for are skipped) and TP 1, 2, 4, 8.
pub fn size(
    q: &SizingQuestion<'_>,
    gpus: &[&Gpu],
    precisions: &[Precision],
    model: &dyn PerfModel,
) -> Sizing {
    let mut deployable = Vec::new();
    let mut ruled_out = Vec::new();
    for gpu in gpus {
        let mut reasons = Vec::new();
        let mut any = false;
        for &precision in precisions
            .iter()
            .filter(|p| gpu.compute_precision(**p).is_some())
        {
            let mut last_reason: Option<(u32, Infeasible)> = None;
            for tp in AUTO_TP_DEGREES {
                let scenario = q.scenario(gpu, precision, tp);
                match model.predict(&scenario) {
                    Ok(p) => {
                        any = true;
                        let engine = scenario.deployment.engine;
                        let mut d = Deployable::new(gpu, precision, engine, &p);
                        d.binding = q.binding(model, &scenario, p.req_per_s);
                        if let Some(i) = &q.intervals {
                            d = i.attach(gpu, &scenario, d, q);
                        }
                        deployable.push(q.costed(d));
                    }
                    Err(why) => last_reason = Some((tp, why)),
                }
            }
            if let Some((tp, why)) = last_reason {
                reasons.push((precision, tp, why.to_string()));
            }
        }
        if !any {
            ruled_out.push(RuledOut {
                gpu: gpu.slug.clone(),
                reasons,
            });
        }
    }
    let by_cost = q.prices.is_some();
    deployable.sort_by(|a, b| rank(a, b, by_cost));
    Sizing {
        by_cost,
        plan_for: if q.intervals.is_some() {
            q.plan_for
        } else {
            PlanFor::Point
        },
        deployable,
        ruled_out,
    }
}
