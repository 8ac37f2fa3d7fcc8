use super::*;
use crate::perf::registry::{InvalidParams, ParamSet};

fn valid(serving: ServingParams) -> Result<(), InvalidParams> {
    ParamSet {
        serving,
        ..ParamSet::default()
    }
    .validate()
}

#[test]
fn defaults_are_valid_and_in_the_literature_ranges() {
    let p = ServingParams::default();
    valid(p.clone()).unwrap();
    assert!((0.5..=0.7).contains(&p.prefill_efficiency));
    assert!((0.6..=0.85).contains(&p.decode_efficiency));
}

#[test]
fn the_most_specific_override_wins() {
    let mut p = ServingParams::default();
    p.per_gpu.insert(
        "h100-sxm".into(),
        EfficiencyOverride {
            prefill_efficiency: Some(0.5),
            ..EfficiencyOverride::default()
        },
    );
    p.per_gpu_precision.insert(
        gpu_precision_key("h100-sxm", Precision::Fp8),
        EfficiencyOverride {
            prefill_efficiency: Some(0.4),
            ..EfficiencyOverride::default()
        },
    );
    p.per_model.insert(
        "llama-3.1-8b".into(),
        EfficiencyOverride {
            prefill_efficiency: Some(0.3),
            ..EfficiencyOverride::default()
        },
    );
    let at = |gpu, precision, model| Placement {
        gpu,
        precision,
        architecture: "hopper",
        model,
        engine: None,
    };
    assert!(
        (p.prefill_efficiency_for(&at("h100-sxm", Precision::Fp8, "llama-3.1-8b")) - 0.4).abs()
            < 1e-12
    );
    assert!(
        (p.prefill_efficiency_for(&at("h100-sxm", Precision::Fp16, "llama-3.1-8b")) - 0.5).abs()
            < 1e-12
    );
    assert!(
        (p.prefill_efficiency_for(&at("a100-sxm-80gb", Precision::Fp16, "llama-3.1-8b")) - 0.3)
            .abs()
            < 1e-12
    );
    assert!(
        (p.prefill_efficiency_for(&at("a100-sxm-80gb", Precision::Fp16, "llama-3.1-70b")) - 0.6)
            .abs()
            < 1e-12
    );
    assert!(
        (p.decode_efficiency_for(&at("h100-sxm", Precision::Fp8, "llama-3.1-8b")) - 0.75).abs()
            < 1e-12
    );
}

#[test]
fn out_of_domain_values_are_named() {
    let p = ServingParams {
        decode_efficiency: 1.5,
        ..ServingParams::default()
    };
    assert!(
        valid(p)
            .unwrap_err()
            .to_string()
            .contains("decode_efficiency")
    );
    let p = ServingParams {
        step_overhead_s: -1.0,
        ..ServingParams::default()
    };
    assert!(
        valid(p)
            .unwrap_err()
            .to_string()
            .contains("step_overhead_s")
    );
}

#[test]
fn a_gpu_override_sets_its_allreduce_latency_only() {
    let mut p = ServingParams::default();
    p.per_gpu.insert(
        "l40s".into(),
        EfficiencyOverride {
            allreduce_latency_s: Some(80e-6),
            ..EfficiencyOverride::default()
        },
    );
    let at = |gpu| Placement {
        gpu,
        precision: Precision::Fp8,
        architecture: "ada",
        model: "llama-2-70b",
        engine: None,
    };
    assert!((p.allreduce_latency_for(&at("l40s")) - 80e-6).abs() < 1e-15);
    assert!((p.allreduce_latency_for(&at("h100-sxm")) - p.allreduce_latency_s).abs() < 1e-15);
    p.per_gpu.get_mut("l40s").unwrap().allreduce_latency_s = Some(-1.0);
    assert!(
        valid(p)
            .unwrap_err()
            .to_string()
            .contains("l40s.allreduce_latency_s")
    );
}

#[test]
fn architecture_overrides_are_row_weighted_geometric_means_below_a_gpus_own() {
    let mut p = ServingParams::default();
    let decode = |v| EfficiencyOverride {
        decode_efficiency: Some(v),
        ..EfficiencyOverride::default()
    };
    p.per_gpu.insert("h100-sxm".into(), decode(0.8));
    p.per_gpu.insert("h200-sxm".into(), decode(0.4));
    p.per_gpu.insert("mystery".into(), decode(0.1));
    let architecture_of = |gpu: &str| (gpu != "mystery").then(|| "hopper".to_string());
    let rows_of = |gpu: &str| if gpu == "h100-sxm" { 300 } else { 100 };
    p.derive_architecture_overrides(architecture_of, rows_of);
    let hopper = p.per_architecture["hopper"].decode_efficiency.unwrap();
    let expected = (0.75 * 0.8_f64.ln() + 0.25 * 0.4_f64.ln()).exp();
    assert!(
        (hopper - expected).abs() < 1e-12,
        "{hopper} against {expected}"
    );
    assert_eq!(
        p.per_architecture.len(),
        1,
        "an unknown GPU founds no architecture"
    );
    assert_eq!(p.per_architecture["hopper"].prefill_efficiency, None);
    let at = |gpu| Placement {
        gpu,
        precision: Precision::Fp8,
        architecture: "hopper",
        model: "llama-2-70b",
        engine: None,
    };
    assert!((p.decode_efficiency_for(&at("h100-pcie")) - expected).abs() < 1e-12);
    assert!((p.decode_efficiency_for(&at("h200-sxm")) - 0.4).abs() < 1e-12);
    p.derive_architecture_overrides(architecture_of, |_| 0);
    assert!(
        p.per_architecture.is_empty(),
        "GPUs without rows do not count"
    );
}

#[test]
fn coverage_names_own_borrowed_and_global_values() {
    let mut p = ServingParams::default();
    assert_eq!(
        p.coverage("b200", "blackwell"),
        Coverage::Own,
        "nothing per GPU"
    );
    p.per_gpu_precision.insert(
        gpu_precision_key("h100-sxm", Precision::Fp8),
        EfficiencyOverride::default(),
    );
    p.per_architecture
        .insert("hopper".into(), EfficiencyOverride::default());
    assert_eq!(p.coverage("h100-sxm", "hopper"), Coverage::Own);
    assert_eq!(
        p.coverage("h100", "hopper"),
        Coverage::Borrowed("hopper".into()),
        "a slug that is only a prefix of another is not covered by it"
    );
    assert_eq!(p.coverage("b200", "blackwell"), Coverage::Global);
}

#[test]
fn round_trips_through_json() {
    let mut p = ServingParams::default();
    p.per_gpu.insert(
        "l40s".into(),
        EfficiencyOverride {
            decode_efficiency: Some(0.7),
            allreduce_latency_s: Some(40e-6),
            ..EfficiencyOverride::default()
        },
    );
    let text = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<ServingParams>(&text).unwrap(), p);
}

#[test]
fn an_engine_factor_scales_the_efficiencies_of_its_rows_only() {
    use crate::engine::Engine;
    use crate::perf::physics::PlacedParams;
    let mut p = ServingParams::default();
    p.per_engine.insert(
        "vllm".into(),
        EfficiencyOverride {
            engine_decode_factor: Some(0.5),
            engine_prefill_factor: Some(4.0),
            step_overhead_s: Some(4e-3),
            ..EfficiencyOverride::default()
        },
    );
    let at = |engine| Placement {
        gpu: "h100-sxm",
        precision: Precision::Fp8,
        architecture: "hopper",
        model: "llama-3.1-8b",
        engine,
    };
    let vllm = PlacedParams::of(&p, &at(Some(Engine::Vllm)));
    let reference = PlacedParams::of(&p, &at(Some(Engine::Trtllm)));
    let unknown = PlacedParams::of(&p, &at(None));
    assert!((vllm.decode_efficiency - 0.5 * p.decode_efficiency).abs() < 1e-12);
    // No engine reaches more than the peak, whatever its factor.
    assert!((vllm.prefill_efficiency - 1.0).abs() < 1e-12);
    assert!((vllm.step_overhead_s - 4e-3).abs() < 1e-15);
    assert_eq!(reference, unknown);
    assert!((reference.decode_efficiency - p.decode_efficiency).abs() < 1e-12);
    assert!((reference.step_overhead_s - p.step_overhead_s).abs() < 1e-15);
}

#[test]
fn a_precision_factor_multiplies_the_engine_factor() {
    use crate::engine::Engine;
    use crate::perf::physics::PlacedParams;
    let mut p = ServingParams::default();
    let factor = |prefill, decode| EfficiencyOverride {
        engine_prefill_factor: prefill,
        engine_decode_factor: decode,
        ..EfficiencyOverride::default()
    };
    p.per_engine.insert("vllm".into(), factor(None, Some(0.5)));
    p.per_precision.insert(
        "fp8".into(),
        EfficiencyOverride {
            precision_decode_factor: Some(0.8),
            ..EfficiencyOverride::default()
        },
    );
    let at = |precision| Placement {
        gpu: "h100-sxm",
        precision,
        architecture: "hopper",
        model: "llama-3.1-8b",
        engine: Some(Engine::Vllm),
    };
    let fp8 = PlacedParams::of(&p, &at(Precision::Fp8));
    let fp16 = PlacedParams::of(&p, &at(Precision::Fp16));
    assert!((fp8.decode_efficiency - 0.4 * p.decode_efficiency).abs() < 1e-12);
    assert!((fp16.decode_efficiency - 0.5 * p.decode_efficiency).abs() < 1e-12);
    assert!((fp8.prefill_efficiency - p.prefill_efficiency).abs() < 1e-12);
}
