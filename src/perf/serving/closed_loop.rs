//! C closed-loop clients sending identical requests. Prompt tokens are prefilled in
//! chunks of up to `max_prefill_tokens` per engine iteration; prefills preempt decoding,
//! so request k of a burst gets its first token once k·ISL prompt tokens are processed,
//! its decode is stalled by the prompts after it, and every request finishes at the same
//! time: the clients stay synchronised. One cycle lasts `T_prefill(C·ISL) +
//! (S_out−1)·T_step(C)`; the rate is C per cycle; mean TTFT is `T_prefill((C+1)/2·ISL)`
//! (the mean over k, with prefill time near-linear in tokens), a percentile q is
//! `T_prefill(⌈q·C⌉·ISL)`. Clients beyond the batch limit wait for a slot (Little's law
//! sets their E2E). The burst wait (first token of the k-th request minus a lone
//! prefill) is scaled by `burst_factor`: 1 for lockstep clients, less as they drift apart.
//! Mean ITL is the cycle's decode share per token; a percentile comes from the decode tail
//! (`tail`), and an ITL budget caps the clients where it meets it (searched).

use super::tail::{itl_at, stall_s};
use super::{OperatingPoint, batch_limit, bisect, quantile_of};
use crate::perf::Infeasible;
use crate::perf::params::ServingParams;
use crate::perf::physics::{Instance, StepLine};
use crate::scenario::{Scenario, Stat};

/// One scenario reduced to what the closed-loop arithmetic needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClosedLoop<'p> {
    inst: &'p Instance,
    isl: f64,
    osl: f64,
    chunk_tokens: f64,
    line: StepLine,
    batch_limit: f64,
    burst_factor: f64,
    alone_s: f64,
    alone_allreduce_s: f64,
    sweep: &'p [u32],
    stat: Stat,
    stall_s: f64,
}

impl<'p> ClosedLoop<'p> {
    pub(super) fn new(
        inst: &'p Instance,
        s: &Scenario<'_>,
        p: &'p ServingParams,
    ) -> ClosedLoop<'p> {
        let (isl, osl) = (f64::from(s.isl), f64::from(s.osl));
        let (alone_s, alone_allreduce_s) = inst.first_token_s(isl, isl, p.max_prefill_tokens);
        ClosedLoop {
            inst,
            isl,
            osl,
            chunk_tokens: p.max_prefill_tokens,
            line: inst.step_line(isl + osl / 2.0),
            batch_limit: batch_limit(inst, s).max(1.0),
            burst_factor: p.burst_factor,
            alone_s,
            alone_allreduce_s,
            sweep: &p.concurrency_sweep,
            stat: s.stat,
            stall_s: stall_s(alone_s, isl, p.max_prefill_tokens),
        }
    }

    /// First token of the request whose prompt is the `rank`-th of the burst.
    /// A lone prefill plus the burst's wait, scaled by the burst factor.
    fn first_token_s(&self, rank: f64) -> f64 {
        // The first prompt of a burst is a lone prefill, already known: the burst's
        // arithmetic would give it again, bit for bit.
        #[allow(clippy::float_cmp)]
        if rank == 1.0 {
            return self.alone_s;
        }
        let (burst, _) = self
            .inst
            .first_token_s(rank * self.isl, self.isl, self.chunk_tokens);
        self.alone_s + self.burst_factor * (burst - self.alone_s)
    }

    /// The statistic's rank within a burst of `running` clients.
    fn rank(&self, running: f64) -> f64 {
        match quantile_of(self.stat) {
            None => (running + 1.0) / 2.0,
            Some(q) => (q * running).max(1.0),
        }
    }

    /// The operating point with `clients` clients.
    pub(super) fn at(&self, clients: f64) -> OperatingPoint {
        let running = clients.min(self.batch_limit);
        let (burst_s, _) = self
            .inst
            .first_token_s(running * self.isl, self.isl, self.chunk_tokens);
        let (step_s, bound) = self.line.at(running);
        let decode_steps = (self.osl - 1.0).max(0.0);
        let cycle_s = burst_s + decode_steps * step_s;
        let mean_first_token_s = self.first_token_s((running + 1.0) / 2.0);
        // The mean's rank is the mean request's: its burst is not prefilled twice.
        let first_token_s = match quantile_of(self.stat) {
            None => mean_first_token_s,
            Some(_) => self.first_token_s(self.rank(running)),
        };
        let (alone_s, allreduce_s) = (self.alone_s, self.alone_allreduce_s);
        let rate = running / cycle_s;
        // Clients beyond the batch limit queue for a slot: Little's law gives their E2E.
        let e2e_s = clients / rate;
        let slot_wait_s = e2e_s - cycle_s;
        let mean_itl_s = if decode_steps > 0.0 {
            (cycle_s - mean_first_token_s) / decode_steps
        } else {
            step_s
        };
        let itl_s = itl_at(quantile_of(self.stat), step_s, mean_itl_s, self.stall_s);
        OperatingPoint {
            rate,
            batch: running,
            prefill_s: alone_s,
            prefill_allreduce_s: allreduce_s,
            step_s,
            bound,
            wait_s: first_token_s - alone_s + slot_wait_s,
            ttft_s: first_token_s + slot_wait_s,
            itl_s,
            e2e_s,
        }
    }

    /// The highest concurrency (up to the batch limit) whose TTFT meets the budget, as a
    /// concurrency sweep finds it: the highest swept level when the data's sweep is
    /// known, else continuous. TTFT and the rate both rise with clients (each adds a
    /// request per cycle at less than a cycle's cost), so the most clients within the
    /// budget give the best rate; TTFT is inverted for them exactly, not searched.
    pub(super) fn under_budget(
        &self,
        budget_s: f64,
        itl_budget_s: Option<f64>,
    ) -> Result<OperatingPoint, Infeasible> {
        let point = self.under_ttft_budget(budget_s)?;
        match itl_budget_s {
            Some(itl_budget_s) if point.itl_s > itl_budget_s => {
                self.under_itl_budget(itl_budget_s, point.batch)
            }
            _ => Ok(point),
        }
    }

    /// The most clients, up to `most`, whose ITL (at the statistic) meets `budget_s`:
    /// ITL rises with clients as the step grows and more prefills stall it. Searched, not
    /// inverted: a sizing question asks it once, the fit never.
    fn under_itl_budget(&self, budget_s: f64, most: f64) -> Result<OperatingPoint, Infeasible> {
        let one = self.at(1.0);
        if one.itl_s > budget_s {
            return Err(Infeasible::DecodeExceedsBudget {
                itl_s: one.itl_s,
                budget_s,
            });
        }
        let clients = if self.sweep.is_empty() {
            bisect(1.0, most, |c| self.at(c).itl_s <= budget_s)
        } else {
            self.most_swept(|c, at| c <= most && at.itl_s <= budget_s)
        };
        Ok(self.at(clients))
    }

    /// The highest level of the data's concurrency sweep whose clients and operating
    /// point `meet` a budget (1 when none does): what a sweep reports as its answer.
    fn most_swept(&self, meet: impl Fn(f64, &OperatingPoint) -> bool) -> f64 {
        self.sweep
            .iter()
            .map(|&c| f64::from(c))
            .filter(|&c| meet(c, &self.at(c)))
            .fold(1.0, f64::max)
    }

    /// The most clients whose TTFT meets `budget_s` (see [`Self::under_budget`]).
    fn under_ttft_budget(&self, budget_s: f64) -> Result<OperatingPoint, Infeasible> {
        let one = self.at(1.0);
        if one.ttft_s > budget_s {
            return Err(Infeasible::PrefillExceedsBudget {
                prefill_s: one.ttft_s,
                budget_s,
            });
        }
        if !self.sweep.is_empty() {
            // The highest swept level that meets the budget (TTFT rises with clients).
            let best = self.most_swept(|_, at| at.ttft_s <= budget_s);
            return Ok(self.at(best));
        }
        // Concurrency is treated as continuous (a time-average of whole clients), so the
        // predicted rate moves smoothly with the parameters and the fit can follow it.
        if self.at(self.batch_limit).ttft_s <= budget_s {
            return Ok(self.at(self.batch_limit));
        }
        // Within the batch limit no client waits for a slot: TTFT is the burst's alone,
        // `alone + burst_factor·(burst(rank·ISL) − alone)`. Solved for the burst's tokens,
        // then for the clients whose rank they are.
        let burst_limit_s = self.alone_s + (budget_s - self.alone_s) / self.burst_factor;
        let tokens = self.inst.prompt_tokens_within(
            burst_limit_s,
            (
                self.rank(1.0) * self.isl,
                self.rank(self.batch_limit) * self.isl,
            ),
            self.isl,
            self.chunk_tokens,
        );
        let clients = self.clients_at_rank(tokens / self.isl);
        Ok(self.at(clients.clamp(1.0, self.batch_limit)))
    }

    /// The most clients whose statistic's rank is `rank` (the inverse of [`Self::rank`];
    /// a percentile's rank stays 1 up to 1/q clients).
    fn clients_at_rank(&self, rank: f64) -> f64 {
        match quantile_of(self.stat) {
            None => 2.0 * rank - 1.0,
            Some(q) => rank / q,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::Catalog;
    use crate::precision::Precision;
    use crate::scenario::{Condition, Deployment};

    fn catalog() -> &'static Catalog {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        CATALOG.get_or_init(|| Catalog::embedded().expect("embedded catalog"))
    }

    /// The search the exact inversion replaced, run to the last representable step:
    /// the most clients whose TTFT meets the budget, by bisection.
    fn bisected(cl: &ClosedLoop<'_>, budget_s: f64) -> f64 {
        super::super::bisect(1.0, cl.batch_limit, |c| {
            cl.first_token_s(cl.rank(c)) <= budget_s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn the_inverted_budget_equals_the_bisection(
            model in prop::sample::select(vec!["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "gemma-2-9b"]),
            gpu in prop::sample::select(vec!["h100-sxm", "a100-sxm-80gb", "l40s", "a10g", "mi300x"]),
            tp in prop::sample::select(vec![1u32, 2, 4, 8]),
            isl in 16u32..8192,
            osl in 1u32..2048,
            budget_s in 0.01f64..20.0,
            chunk in 256.0f64..16384.0,
            burst_factor in 0.05f64..1.0,
            stat in prop::sample::select(vec![Stat::Mean, Stat::P50, Stat::P90, Stat::P99]),
        ) {
            let c = catalog();
            let p = ServingParams {
                max_prefill_tokens: chunk,
                burst_factor,
                ..ServingParams::default()
            };
            let s = Scenario {
                model: c.model(model).unwrap(),
                gpu: c.gpu(gpu).unwrap(),
                deployment: Deployment {
                    weights: Precision::Fp16,
                    kv_cache: None,
                    tp: Some(tp),
                    pp: 1,
                    engine: None,
                    synthetic_weights: false,
                },
                isl,
                osl,
                condition: Condition::TtftBudget { budget_s, target_rps: None, itl_budget_s: None },
                stat,
            };
            let Ok(inst) = Instance::resolve(&s, &p) else { return Ok(()) };
            let cl = ClosedLoop::new(&inst, &s, &p);
            let Ok(point) = cl.under_budget(budget_s, None) else { return Ok(()) };
            let expected = if cl.at(cl.batch_limit).ttft_s <= budget_s {
                cl.batch_limit
            } else {
                bisected(&cl, budget_s)
            };
            let relative = (point.batch - expected).abs() / expected;
            prop_assert!(relative <= 1e-9, "inverted {} bisected {expected}", point.batch);
            // The answer meets the budget (to rounding) and sits on its edge when it binds.
            prop_assert!(point.ttft_s <= budget_s * (1.0 + 1e-9));
        }
    }
}
