use super::*;
use crate::bench::load_csv;
use crate::catalog::Catalog;
use crate::perf::Bound;
use crate::perf::params::BudgetLoad;
use crate::scenario::Deployment;

fn chart_scenario<'c>(c: &'c Catalog, model: &str, gpu: &str, budget_s: f64) -> Scenario<'c> {
    let gpu = c.gpu(gpu).unwrap();
    Scenario {
        model: c.model(model).unwrap(),
        gpu,
        deployment: Deployment::assumed(gpu, None, None, None),
        isl: 5000,
        osl: 500,
        condition: Condition::TtftBudget {
            budget_s,
            target_rps: Some(10.0),
            itl_budget_s: None,
        },
        stat: Stat::Mean,
    }
}

#[test]
fn wait_multiplier_is_one_for_the_mean_and_kappa_at_p90() {
    assert!((wait_multiplier(Stat::Mean, 2.3) - 1.0).abs() < 1e-12);
    assert!((wait_multiplier(Stat::P90, 2.3) - 2.3).abs() < 1e-12);
    assert!((wait_multiplier(Stat::P99, 2.3) - 4.6).abs() < 1e-12);
    assert!(wait_multiplier(Stat::P50, 2.3) < 1.0);
}

#[test]
fn the_steady_state_satisfies_its_own_balance_equation() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3.1-8b", "h100-sxm", 3.0);
    s.condition = Condition::ArrivalRate { rps: 3.0 };
    let params = ServingParams::default();
    let p = ServingModel::default().predict(&s).unwrap();
    // The arrivals keep the engine busy for their prompts' share of packed iterations;
    // each request's TTFT still starts with a lone prefill.
    let share = Instance::resolve(&s, &params)
        .unwrap()
        .prefill_share_s(5000.0, params.max_prefill_tokens);
    assert!(share < p.breakdown.prefill_s);
    let busy = 3.0 * share;
    let lhs = p.running_batch * (1.0 - busy);
    let rhs = 3.0 * 500.0 * p.breakdown.decode_step_s;
    assert!((lhs - rhs).abs() < 1e-9 * rhs, "{lhs} vs {rhs}");
    assert!((p.itl_s - p.breakdown.decode_step_s / (1.0 - busy)).abs() < 1e-12);
    let wait = busy * share / (2.0 * (1.0 - busy));
    assert!(
        (p.ttft_s - (p.breakdown.prefill_s + wait + p.breakdown.decode_step_s / 2.0)).abs() < 1e-12
    );
    assert!((p.e2e_s - (p.ttft_s + 499.0 * p.itl_s)).abs() < 1e-9);
}

#[test]
fn a_busy_engine_packs_short_prompts_and_leaves_the_request_overhead_to_the_host() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3.1-8b", "h100-sxm", 3.0);
    (s.isl, s.osl, s.condition) = (128, 128, Condition::Saturated);
    let saturated_rate =
        |params: ServingParams| ServingModel { params }.predict(&s).unwrap().req_per_s;
    let base = ServingParams::default();
    let rate = saturated_rate(base.clone());
    // The host's per-request work does not hold the GPU.
    let slow_host = saturated_rate(ServingParams {
        request_overhead_s: 0.05,
        ..base.clone()
    });
    assert!(
        (slow_host - rate).abs() < 1e-12 * rate,
        "{slow_host} vs {rate}"
    );
    // Prompts that fill an iteration each pay a whole weight read; packed 64 to an
    // iteration they share it, and the engine serves more of them.
    let one_per_iteration = saturated_rate(ServingParams {
        max_prefill_tokens: 128.0,
        ..base
    });
    assert!(
        rate > 1.05 * one_per_iteration,
        "{rate} vs {one_per_iteration}"
    );
}

#[test]
fn saturation_fills_the_batch_limit() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3.1-8b", "a100-sxm-80gb", 3.0);
    s.condition = Condition::Saturated;
    let p = ServingModel::default().predict(&s).unwrap();
    let limit = p.kv_capacity_tokens.unwrap() / 5500.0;
    assert!(
        (p.running_batch - limit).abs() < 1e-6 * limit,
        "{} vs {limit}",
        p.running_batch
    );
    assert_eq!(p.breakdown.decode_bound, Bound::Memory);
    s.condition = Condition::ArrivalRate {
        rps: p.req_per_s * 1.01,
    };
    assert!(matches!(
        ServingModel::default().predict(&s),
        Err(Infeasible::Overloaded { .. })
    ));
}

#[test]
fn the_poisson_budget_search_lands_on_the_budget_when_it_binds() {
    let c = Catalog::embedded().unwrap();
    let s = chart_scenario(&c, "llama-3.1-8b", "a100-sxm-80gb", 0.5);
    let params = ServingParams {
        budget_load: BudgetLoad::Poisson,
        ..ServingParams::default()
    };
    let p = ServingModel { params }.predict(&s).unwrap();
    assert!((p.ttft_s - 0.5).abs() < 1e-6, "{}", p.ttft_s);
    assert!((p.gpus_for_target.unwrap() - 10.0 / p.req_per_s_per_gpu).abs() < 1e-9);
    assert_eq!(
        p.instances_for_target.unwrap(),
        (10.0 / p.req_per_s).ceil() as u64
    );
}

#[test]
fn the_concurrency_sweep_stops_where_one_more_client_breaks_the_budget() {
    let c = Catalog::embedded().unwrap();
    let model = ServingModel::default();
    let mut s = chart_scenario(&c, "llama-3.1-8b", "h100-sxm", 0.5);
    let best = model.predict(&s).unwrap();
    assert!(best.ttft_s <= 0.5);
    s.condition = Condition::Concurrency {
        clients: best.running_batch + 1.0,
    };
    assert!(model.predict(&s).unwrap().ttft_s > 0.5);
    s.condition = Condition::Concurrency {
        clients: best.running_batch,
    };
    let same = model.predict(&s).unwrap();
    assert!((same.req_per_s - best.req_per_s).abs() < 1e-12);
}

#[test]
fn one_client_runs_prefill_then_decode_alone() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3.1-8b", "a100-sxm-80gb", 0.5);
    s.condition = Condition::Concurrency { clients: 1.0 };
    let p = ServingModel::default().predict(&s).unwrap();
    let expected = p.breakdown.prefill_s + 499.0 * p.breakdown.decode_step_s;
    assert!((p.e2e_s - expected).abs() < 1e-12);
    assert!((p.ttft_s - p.breakdown.prefill_s).abs() < 1e-12);
    assert!((p.req_per_s - 1.0 / expected).abs() < 1e-12);
}

#[test]
fn short_prompts_share_prefill_iterations() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3-8b", "h100-sxm", 0.5);
    s.isl = 200;
    s.osl = 50;
    s.condition = Condition::Concurrency { clients: 1.0 };
    let alone = ServingModel::default().predict(&s).unwrap();
    s.condition = Condition::Concurrency { clients: 10.0 };
    let ten = ServingModel::default().predict(&s).unwrap();
    // 2000 prompt tokens fit one 8192-token iteration: the weights are read once, so the
    // mean first token comes sooner than 5.5 lone prefills, but later than one.
    assert!(ten.ttft_s > alone.ttft_s);
    assert!(
        ten.ttft_s < 5.5 * alone.ttft_s,
        "{} vs {}",
        ten.ttft_s,
        alone.ttft_s
    );
}

#[test]
fn closed_loop_satisfies_littles_law() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-3-8b", "h100-sxm", 1.0);
    s.isl = 200;
    s.osl = 50;
    for clients in [1.0, 10.0, 100.0, 10_000.0] {
        s.condition = Condition::Concurrency { clients };
        let p = ServingModel::default().predict(&s).unwrap();
        assert!(
            (p.req_per_s * p.e2e_s - clients).abs() < 1e-6 * clients,
            "C={clients}"
        );
    }
}

#[test]
fn static_batch_prefills_the_whole_batch_before_the_first_token() {
    let c = Catalog::embedded().unwrap();
    let mut s = chart_scenario(&c, "llama-2-7b", "h100-sxm", 1.0);
    s.isl = 128;
    s.osl = 128;
    s.condition = Condition::StaticBatch { batch_size: 1 };
    let one = ServingModel::default().predict(&s).unwrap();
    s.condition = Condition::StaticBatch { batch_size: 64 };
    let many = ServingModel::default().predict(&s).unwrap();
    assert!(many.ttft_s > one.ttft_s);
    assert!(
        many.output_tok_s > 10.0 * one.output_tok_s,
        "batching multiplies throughput"
    );
    s.condition = Condition::StaticBatch {
        batch_size: 100_000,
    };
    assert!(matches!(
        ServingModel::default().predict(&s),
        Err(Infeasible::KvCacheTooSmall { .. })
    ));
}

#[test]
fn the_charts_na_cells_are_infeasible_with_a_reason_and_numeric_cells_feasible() {
    let c = Catalog::embedded().unwrap();
    let (name, text) = crate::bench::EMBEDDED_FILES[0];
    let model = ServingModel::default();
    for row in load_csv(name, text, &c).unwrap() {
        let Condition::TtftBudget { budget_s, .. } = row.condition else {
            unreachable!()
        };
        let outcome = model.predict(&chart_scenario(&c, &row.model, &row.gpu, budget_s));
        match row.value {
            crate::bench::Observed::NotAchievable => {
                let reason = outcome
                    .expect_err("chart N/A must be infeasible")
                    .to_string();
                assert!(!reason.is_empty(), "{}", row.origin);
            }
            crate::bench::Observed::Value(_) => {
                assert!(
                    outcome.is_ok(),
                    "{} {}/{} @ {budget_s}: {:?}",
                    row.origin,
                    row.model,
                    row.gpu,
                    outcome
                );
            }
        }
    }
}

#[test]
fn seventy_b_on_h100_is_a_feasible_multi_gpu_deployment() {
    let c = Catalog::embedded().unwrap();
    let p = ServingModel::default()
        .predict(&chart_scenario(&c, "llama-3.1-70b", "h100-sxm", 3.0))
        .unwrap();
    assert!(p.tp >= 2);
    assert!(p.breakdown.allreduce_s > 0.0);
    let a10g = ServingModel::default().predict(&chart_scenario(&c, "llama-3.1-70b", "a10g", 0.5));
    assert!(
        matches!(a10g, Err(Infeasible::PrefillExceedsBudget { .. })),
        "{a10g:?}"
    );
}

/// The 8B model on an H100 with 1,000-token prompts: short enough that a whole prompt is
/// one prefill iteration, so each prefill stalls a gap once.
fn sla_scenario(c: &Catalog, condition: Condition, stat: Stat) -> Scenario<'_> {
    let mut s = chart_scenario(c, "llama-3.1-8b", "h100-sxm", 1.0);
    (s.isl, s.osl, s.condition, s.stat) = (1000, 250, condition, stat);
    s
}

fn itl_at(c: &Catalog, condition: Condition, stat: Stat) -> f64 {
    ServingModel::default()
        .predict(&sla_scenario(c, condition, stat))
        .unwrap()
        .itl_s
}

#[test]
fn the_p99_token_gap_rises_with_load_and_leaves_the_mean_behind() {
    let c = Catalog::embedded().unwrap();
    let loads: [fn(f64) -> Condition; 2] = [
        |x| Condition::Concurrency { clients: x },
        |x| Condition::ArrivalRate { rps: x / 4.0 },
    ];
    for load in loads {
        let p99: Vec<f64> = [8.0, 16.0, 32.0, 64.0]
            .iter()
            .map(|&x| itl_at(&c, load(x), Stat::P99))
            .collect();
        assert!(p99.windows(2).all(|w| w[1] > w[0]), "{p99:?}");
        let heavy = load(64.0);
        let mean = itl_at(&c, heavy, Stat::Mean);
        assert!(p99[3] > 1.5 * mean, "p99 {} vs mean {mean}", p99[3]);
        assert!(
            itl_at(&c, heavy, Stat::P50) < mean,
            "most gaps are a bare step"
        );
    }
}

#[test]
fn a_lone_client_has_no_decode_tail() {
    let c = Catalog::embedded().unwrap();
    let one = Condition::Concurrency { clients: 1.0 };
    let mean = itl_at(&c, one, Stat::Mean);
    assert!((itl_at(&c, one, Stat::P99) - mean).abs() < 1e-15);
}

fn budgets(itl_budget_s: Option<f64>) -> Condition {
    Condition::TtftBudget {
        budget_s: 1.0,
        target_rps: Some(50.0),
        itl_budget_s,
    }
}

#[test]
fn an_itl_budget_holds_the_rate_to_where_the_tail_meets_it() {
    let c = Catalog::embedded().unwrap();
    for load in [BudgetLoad::ClosedLoop, BudgetLoad::Poisson] {
        let mut model = ServingModel::default();
        model.params.budget_load = load;
        let predict = |itl| model.predict(&sla_scenario(&c, budgets(itl), Stat::P99));
        let free = predict(None).unwrap();
        let tight_s = free.itl_s * 0.7;
        let held = predict(Some(tight_s)).unwrap();
        assert!(
            held.itl_s <= tight_s * (1.0 + 1e-9),
            "{load:?}: {}",
            held.itl_s
        );
        assert!(
            held.itl_s > tight_s * 0.99,
            "{load:?}: the most load within it"
        );
        assert!(held.req_per_s < free.req_per_s, "{load:?}");
        let loose = predict(Some(free.itl_s * 2.0)).unwrap();
        assert!((loose.req_per_s - free.req_per_s).abs() < 1e-12 * free.req_per_s);
    }
}

#[test]
fn an_itl_budget_below_one_decode_step_is_infeasible_and_says_so() {
    let c = Catalog::embedded().unwrap();
    let step_s = itl_at(&c, Condition::Concurrency { clients: 1.0 }, Stat::P99);
    let err = ServingModel::default()
        .predict(&sla_scenario(&c, budgets(Some(step_s * 0.5)), Stat::P99))
        .unwrap_err();
    assert!(
        matches!(err, Infeasible::DecodeExceedsBudget { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ITL budget"), "{err}");
}
