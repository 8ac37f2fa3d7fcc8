use super::*;
use crate::catalog::Catalog;
use crate::precision::Precision;
use crate::scenario::{Condition, Deployment, Stat};

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded catalog"))
}

/// A long prompt alone on one H100: TTFT is compute-bound prefill, ITL a decode step.
fn lone_prompt(gpu: &str) -> Scenario<'static> {
    let c = catalog();
    Scenario {
        model: c.model("llama-3.1-8b").unwrap(),
        gpu: c.gpu(gpu).unwrap(),
        deployment: Deployment {
            weights: Precision::Fp16,
            kv_cache: None,
            tp: Some(1),
            pp: 1,
            engine: None,
            synthetic_weights: false,
        },
        isl: 8000,
        osl: 200,
        condition: Condition::StaticBatch { batch_size: 1 },
        stat: Stat::Mean,
    }
}

fn set_with_gpu(gpu: &str, prefill: f64) -> ParamSet {
    let mut set = ParamSet::default();
    set.set(Param::PrefillEfficiency, Tie::Gpu, gpu, prefill)
        .unwrap();
    set
}

fn entry(param: Param, group: &str, value: f64, interval: Option<[f64; 2]>) -> Uncertain {
    Uncertain {
        param,
        group: group.to_string(),
        value,
        interval_95: interval,
    }
}

/// A 95 % interval of ±`log_sd` standard deviations on the log scale around `value`.
fn around(value: f64, log_sd: f64) -> Option<[f64; 2]> {
    Some([
        value * (-Z_95 * log_sd).exp(),
        value * (Z_95 * log_sd).exp(),
    ])
}

const KIND: PerfModelKind = PerfModelKind::Serving;

/// One GPU's prefill efficiency of 0.5, determined to a log spread `log_sd`.
fn one_prefill(gpu: &str, log_sd: f64) -> ParameterUncertainty {
    let prefill = entry(Param::PrefillEfficiency, gpu, 0.5, around(0.5, log_sd));
    ParameterUncertainty::new(&[prefill], &[vec![Some(1.0)]])
}

#[test]
fn a_compute_bound_prefill_moves_with_its_efficiency_one_for_one() {
    let u = one_prefill("h100-sxm", 0.1);
    let set = set_with_gpu("h100-sxm", 0.5);
    let spread = u.spread(KIND, &set, &lone_prompt("h100-sxm"));
    let ttft = spread.of(Metric::TtftS);
    // TTFT = FLOPs / (peak × η) + request overhead: slightly under one for one.
    assert!((0.08..=0.1001).contains(&ttft), "{ttft}");
    assert!(
        spread.of(Metric::ItlS) < 1e-3,
        "a decode step reads no FLOPs at batch 1"
    );
    assert!(!spread.undetermined);
}

#[test]
fn a_parameter_the_scenario_does_not_read_adds_nothing() {
    let u = one_prefill("a100-sxm-80gb", 0.3);
    let set = set_with_gpu("a100-sxm-80gb", 0.5);
    let spread = u.spread(KIND, &set, &lone_prompt("h100-sxm"));
    assert!(spread.largest() < 1e-12, "{spread:?}");
}

#[test]
fn an_undetermined_parameter_is_as_uncertain_as_its_determined_siblings_differ() {
    let parameters = [
        entry(Param::PrefillEfficiency, "a", 0.2, around(0.2, 0.01)),
        entry(Param::PrefillEfficiency, "b", 0.8, around(0.8, 0.01)),
        entry(Param::PrefillEfficiency, "c", 0.5, None),
        entry(Param::StepOverhead, "", 0.002, None),
    ];
    let spreads = log_spreads(&parameters);
    assert!((spreads[0] - 0.01).abs() < 1e-12);
    let siblings = (0.8f64.ln() - 0.2f64.ln()) / 2f64.sqrt();
    assert!((spreads[2] - siblings).abs() < 1e-12, "{}", spreads[2]);
    assert!(
        (spreads[3] - UNDETERMINED_LOG_SD).abs() < 1e-12,
        "no sibling: a factor of 2"
    );
}

#[test]
fn an_undetermined_parameter_widens_and_says_so() {
    let determined = one_prefill("h100-sxm", 0.02);
    let undetermined = ParameterUncertainty::new(
        &[
            entry(Param::PrefillEfficiency, "h100-sxm", 0.5, None),
            entry(
                Param::PrefillEfficiency,
                "a100-sxm-80gb",
                0.3,
                around(0.3, 0.02),
            ),
            entry(Param::PrefillEfficiency, "l40s", 0.6, around(0.6, 0.02)),
        ],
        &[
            vec![None; 3],
            vec![None, Some(1.0), None],
            vec![None, None, Some(1.0)],
        ],
    );
    let (set, s) = (set_with_gpu("h100-sxm", 0.5), lone_prompt("h100-sxm"));
    let narrow = determined.spread(KIND, &set, &s);
    let wide = undetermined.spread(KIND, &set, &s);
    assert!(wide.undetermined && !narrow.undetermined);
    assert!(
        wide.of(Metric::TtftS) > 10.0 * narrow.of(Metric::TtftS),
        "{wide:?}"
    );
}

#[test]
fn correlated_parameters_of_one_channel_add_and_anti_correlated_ones_cancel() {
    let parameters = [
        entry(Param::PrefillEfficiency, "h100-sxm", 0.5, around(0.5, 0.05)),
        entry(Param::PrecisionPrefillFactor, "fp8", 1.2, around(1.2, 0.05)),
    ];
    let mut set = set_with_gpu("h100-sxm", 0.5);
    set.set(Param::PrecisionPrefillFactor, Tie::Precision, "fp8", 1.2)
        .unwrap();
    let s = Scenario {
        deployment: Deployment {
            weights: Precision::Fp8,
            ..lone_prompt("h100-sxm").deployment
        },
        ..lone_prompt("h100-sxm")
    };
    let with = |rho: f64| {
        let u = ParameterUncertainty::new(
            &parameters,
            &[vec![Some(1.0), Some(rho)], vec![Some(rho), Some(1.0)]],
        );
        u.spread(KIND, &set, &s).of(Metric::TtftS)
    };
    let (together, apart, opposed) = (with(1.0), with(0.0), with(-1.0));
    assert!(
        (together / apart - 2f64.sqrt()).abs() < 1e-9,
        "{together} {apart}"
    );
    assert!(opposed < 1e-9 * together, "{opposed}");
}

#[test]
fn an_engines_own_sequence_overhead_is_read_at_its_engine_not_globally() {
    let u = ParameterUncertainty::new(
        &[
            entry(Param::SequenceOverhead, "", 4e-5, None),
            entry(Param::SequenceOverhead, "trtllm", 2e-5, around(2e-5, 0.05)),
        ],
        &[vec![None, None], vec![None, Some(1.0)]],
    );
    let mut set = ParamSet::default();
    set.set(Param::SequenceOverhead, Tie::Global, "", 4e-5)
        .unwrap();
    set.set(Param::SequenceOverhead, Tie::Engine, "trtllm", 2e-5)
        .unwrap();
    let batch = |engine| {
        let s = lone_prompt("h100-sxm");
        Scenario {
            deployment: Deployment {
                engine,
                ..s.deployment
            },
            isl: 500,
            condition: Condition::StaticBatch { batch_size: 64 },
            ..s
        }
    };
    let own = u.spread(KIND, &set, &batch(Some(crate::engine::Engine::Trtllm)));
    assert!(!own.undetermined, "{own:?}");
    assert!(
        own.of(Metric::ItlS) > 0.0 && own.of(Metric::ItlS) < 0.05,
        "{own:?}"
    );
    let global = u.spread(KIND, &set, &batch(None));
    assert!(global.undetermined, "{global:?}");
}

#[test]
fn a_global_parameter_reaches_every_scenario() {
    let u = ParameterUncertainty::new(
        &[entry(Param::RequestOverhead, "", 0.05, around(0.05, 0.2))],
        &[vec![Some(1.0)]],
    );
    let s = Scenario {
        isl: 100,
        ..lone_prompt("h100-sxm")
    };
    let mut set = ParamSet::default();
    set.set(Param::RequestOverhead, Tie::Global, "", 0.05)
        .unwrap();
    // A 100-token prompt's TTFT is mostly the request overhead.
    let ttft = u.spread(KIND, &set, &s).of(Metric::TtftS);
    assert!(ttft > 0.1 && ttft < 0.2, "{ttft}");
}

#[test]
fn an_infeasible_scenario_has_no_spread() {
    let u = one_prefill("h100-sxm", 0.1);
    let c = catalog();
    let s = Scenario {
        model: c.model("llama-3.1-405b").unwrap(),
        ..lone_prompt("h100-sxm")
    };
    let spread = u.spread(KIND, &set_with_gpu("h100-sxm", 0.5), &s);
    assert!(spread.largest() < 1e-12);
}
