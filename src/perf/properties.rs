//! Property tests of the physical models: monotonicity a planner relies on, checked on
//! random models, GPUs, lengths and loads.

use proptest::prelude::*;

use super::PerfModel;
use super::params::{BudgetLoad, ServingParams};
use super::roofline::RooflineModel;
use super::serving::ServingModel;
use crate::catalog::{Catalog, Gpu};
use crate::precision::Precision;
use crate::scenario::{Condition, Deployment, Scenario, Stat};

const MODELS: [&str; 6] = [
    "llama-3.1-8b",
    "llama-3.1-70b",
    "mixtral-8x7b",
    "qwen2.5-7b",
    "gemma-2-9b",
    "llama-2-13b",
];
const GPUS: [&str; 6] = [
    "h100-sxm",
    "a100-sxm-80gb",
    "l40s",
    "a10g",
    "h200-sxm",
    "mi300x",
];

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded catalog"))
}

fn models() -> Vec<Box<dyn PerfModel>> {
    let poisson = ServingParams {
        budget_load: BudgetLoad::Poisson,
        ..ServingParams::default()
    };
    vec![
        Box::new(ServingModel::default()),
        Box::new(ServingModel { params: poisson }),
        Box::new(RooflineModel::default()),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (1u32..512).prop_map(|batch_size| Condition::StaticBatch { batch_size }),
        (1.0f64..300.0).prop_map(|c| Condition::Concurrency { clients: c.floor() }),
        (0.05f64..10.0).prop_map(|budget_s| Condition::TtftBudget {
            budget_s,
            target_rps: None,
            itl_budget_s: None,
        }),
        Just(Condition::Saturated),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    model: usize,
    gpu: usize,
    tp: u32,
    isl: u32,
    osl: u32,
    condition: Condition,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..MODELS.len(),
        0..GPUS.len(),
        prop::sample::select(vec![1u32, 2, 4, 8]),
        16u32..8192,
        1u32..2048,
        condition(),
    )
        .prop_map(|(model, gpu, tp, isl, osl, condition)| Case {
            model,
            gpu,
            tp,
            isl,
            osl,
            condition,
        })
}

fn scenario<'a>(c: &Case, gpu: &'a Gpu) -> Scenario<'a> {
    Scenario {
        model: catalog().model(MODELS[c.model]).unwrap(),
        gpu,
        deployment: Deployment {
            weights: Precision::Fp16,
            kv_cache: None,
            tp: Some(c.tp),
            pp: 1,
            engine: None,
            synthetic_weights: false,
        },
        isl: c.isl,
        osl: c.osl,
        condition: c.condition,
        stat: Stat::Mean,
    }
}

fn gpu(c: &Case) -> Gpu {
    catalog().gpu(GPUS[c.gpu]).unwrap().clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn more_bandwidth_never_lowers_throughput(c in case(), scale in 1.0f64..4.0) {
        let slow = gpu(&c);
        let mut fast = slow.clone();
        fast.memory_bw_gbps *= scale;
        for model in models() {
            if let Ok(before) = model.predict(&scenario(&c, &slow)) {
                let after = model.predict(&scenario(&c, &fast));
                prop_assert!(after.is_ok(), "{}: feasible became {:?}", model.name(), after);
                let after = after.unwrap();
                prop_assert!(after.output_tok_s >= before.output_tok_s * (1.0 - 1e-9),
                    "{}: {} < {}", model.name(), after.output_tok_s, before.output_tok_s);
            }
        }
    }

    #[test]
    fn a_larger_budget_never_lowers_the_max_rate(c in case(), budget in 0.05f64..10.0, extra in 1.0f64..5.0) {
        let g = gpu(&c);
        for model in models() {
            let mut s = scenario(&c, &g);
            s.condition = Condition::TtftBudget { budget_s: budget, target_rps: None, itl_budget_s: None };
            let Ok(tight) = model.predict(&s) else { continue };
            s.condition = Condition::TtftBudget { budget_s: budget * extra, target_rps: None, itl_budget_s: None };
            let loose = model.predict(&s);
            prop_assert!(loose.is_ok());
            let loose = loose.unwrap();
            prop_assert!(loose.req_per_s >= tight.req_per_s * (1.0 - 1e-9),
                "{}: {} < {}", model.name(), loose.req_per_s, tight.req_per_s);
        }
    }

    #[test]
    fn longer_prompts_never_lower_ttft(c in case(), longer in 1u32..4096) {
        let g = gpu(&c);
        let fixed_load = match c.condition {
            Condition::TtftBudget { .. } | Condition::Saturated => Condition::Concurrency { clients: 4.0 },
            other => other,
        };
        for model in models() {
            let mut s = scenario(&c, &g);
            s.condition = fixed_load;
            let Ok(short) = model.predict(&s) else { continue };
            s.isl += longer;
            if let Ok(long) = model.predict(&s) {
                prop_assert!(long.ttft_s >= short.ttft_s * (1.0 - 1e-9),
                    "{}: {} < {}", model.name(), long.ttft_s, short.ttft_s);
            }
        }
    }

    /// With TP fixed: automatic TP may pick fewer GPUs on a larger card, which can miss a
    /// budget the smaller card met with more GPUs.
    #[test]
    fn feasibility_is_monotone_in_memory(c in case(), scale in 1.0f64..3.0) {
        let small = gpu(&c);
        let mut large = small.clone();
        large.memory_gb *= scale;
        for model in models() {
            if model.predict(&scenario(&c, &small)).is_ok() {
                let bigger = model.predict(&scenario(&c, &large));
                prop_assert!(bigger.is_ok(), "{}: {:?}", model.name(), bigger);
            }
        }
    }

    #[test]
    fn predictions_are_finite_and_positive(c in case()) {
        let g = gpu(&c);
        for model in models() {
            if let Ok(p) = model.predict(&scenario(&c, &g)) {
                for v in [p.ttft_s, p.itl_s, p.e2e_s, p.output_tok_s, p.req_per_s, p.req_per_s_per_gpu, p.running_batch] {
                    prop_assert!(v.is_finite() && v > 0.0, "{}: {p:?}", model.name());
                }
            }
        }
    }
}
