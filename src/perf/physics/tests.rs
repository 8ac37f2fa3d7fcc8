use super::*;
use crate::catalog::Catalog;
use crate::perf::params::ServingParams;
use crate::scenario::{Condition, Deployment, Scenario, Stat};

fn scenario<'c>(
    c: &'c Catalog,
    model: &str,
    gpu: &str,
    weights: Precision,
    tp: Option<u32>,
) -> Scenario<'c> {
    Scenario {
        model: c.model(model).unwrap(),
        gpu: c.gpu(gpu).unwrap(),
        deployment: Deployment {
            weights,
            kv_cache: None,
            tp,
            pp: 1,
            engine: None,
            synthetic_weights: false,
        },
        isl: 5000,
        osl: 500,
        condition: Condition::Saturated,
        stat: Stat::Mean,
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn kv_capacity_is_usable_memory_minus_weights_over_kv_per_token() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-8b", "h100-sxm", Precision::Fp16, None);
    let p = ServingParams::default();
    let inst = Instance::resolve(&s, &p).unwrap();
    let weights = 2.0 * s.model.total_params() as f64;
    // 80 GB × 0.9 − 2 GB reserve − weights, over 128 KiB per token (fp16 cache).
    let expected = (80e9 * 0.9 - 2e9 - weights) / 131_072.0;
    assert!(
        close(inst.kv_capacity_tokens, expected, 1e-12),
        "{} vs {expected}",
        inst.kv_capacity_tokens
    );
    assert_eq!(inst.tp, 1);
}

#[test]
fn prefill_is_flops_over_effective_peak_plus_request_overhead() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-8b", "h100-sxm", Precision::Fp8, Some(1));
    let inst = Instance::resolve(&s, &ServingParams::default()).unwrap();
    let n = s.model.matmul_params_per_token();
    let flops = 2.0 * n * 5000.0 + 2.0 * 32.0 * 4096.0 * 5000.0 * 5000.0;
    let expected = flops / (1979e12 * 0.6) + 5e-3;
    let (prefill, allreduce) = inst.prefill_s(5000.0, 1.0);
    assert!(close(prefill, expected, 1e-12), "{prefill} vs {expected}");
    assert!(allreduce.abs() < 1e-15, "no all-reduce at TP1");
}

#[test]
fn ring_allreduce_of_70b_at_tp2_over_nvlink() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-70b", "h100-sxm", Precision::Fp8, Some(2));
    let inst = Instance::resolve(&s, &ServingParams::default()).unwrap();
    // Per token: 2 all-reduces × 80 layers × 2(t−1)/t = 1 × 8192 × 2 bytes / (450 GB/s × 0.8);
    // plus 2 × 80 × 10 µs of latency.
    let expected = 2.0 * 80.0 * 8192.0 * 2.0 / (450e9 * 0.8) * 5000.0 + 2.0 * 80.0 * 10e-6;
    assert!(close(inst.allreduce_s(5000.0), expected, 1e-12));
}

#[test]
fn a_tp_group_wider_than_a_bridge_all_reduces_through_the_host() {
    let c = Catalog::embedded().unwrap();
    let per_token = |tp: u32| {
        let s = scenario(&c, "llama-3.1-70b", "h100-nvl", Precision::Fp8, Some(tp));
        let inst = Instance::resolve(&s, &ServingParams::default()).unwrap();
        inst.allreduce_s(5000.0) - inst.allreduce_s(4000.0)
    };
    let ring = |t: f64| 2.0 * (t - 1.0) / t;
    // Per 1,000 tokens: 2 all-reduces × 80 layers × ring × 8192 × 2 bytes over the link.
    let over =
        |gbps: f64, t: f64| 2.0 * 80.0 * ring(t) * 8192.0 * 2.0 / (gbps * 1e9 * 0.8) * 1000.0;
    // A pair shares its NVLink bridge (300 GB/s); four GPUs cross PCIe (64 GB/s).
    assert!(close(per_token(2), over(300.0, 2.0), 1e-9));
    assert!(close(per_token(4), over(64.0, 4.0), 1e-9));
}

#[test]
fn automatic_tp_picks_the_smallest_power_of_two_with_kv_room() {
    let c = Catalog::embedded().unwrap();
    let p = ServingParams::default();
    let tp = |m, g, w| resolve_tp(&scenario(&c, m, g, w, None), &p).unwrap();
    // 141 GB of fp16 weights exceed two GPUs' 140 GB usable: never one 80 GB GPU.
    assert_eq!(tp("llama-3.1-70b", "h100-sxm", Precision::Fp16), 4);
    assert_eq!(tp("llama-3.1-70b", "h100-sxm", Precision::Fp8), 2);
    assert_eq!(tp("llama-3.1-8b", "a10g", Precision::Fp16), 1);
    assert_eq!(tp("llama-3.1-70b", "a10g", Precision::Fp16), 8);
    let none = resolve_tp(
        &scenario(&c, "llama-3.1-405b", "a10g", Precision::Fp16, None),
        &p,
    );
    assert_eq!(none, Err(Infeasible::NoParallelismFits { max_tp: 8 }));
}

#[test]
fn weights_that_do_not_fit_are_infeasible_with_numbers() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-70b", "h100-sxm", Precision::Fp16, Some(1));
    match Instance::resolve(&s, &ServingParams::default()) {
        Err(Infeasible::WeightsDoNotFit {
            weights_gb_per_gpu,
            usable_gb_per_gpu,
            tp,
        }) => {
            assert_eq!(tp, 1);
            assert!(weights_gb_per_gpu > 140.0 && close(usable_gb_per_gpu, 70.0, 1e-9));
        }
        other => panic!("expected WeightsDoNotFit, got {other:?}"),
    }
}

#[test]
fn fp8_on_ampere_is_unsupported() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-8b", "a100-sxm-80gb", Precision::Fp8, None);
    assert!(matches!(
        Instance::resolve(&s, &ServingParams::default()),
        Err(Infeasible::UnsupportedPrecision { .. })
    ));
}

#[test]
fn fp8_weights_get_an_fp8_cache_where_the_gpu_has_fp8() {
    let c = Catalog::embedded().unwrap();
    assert_eq!(
        kv_precision(&scenario(
            &c,
            "llama-3.1-8b",
            "h100-sxm",
            Precision::Fp8,
            None
        )),
        Precision::Fp8
    );
    assert_eq!(
        kv_precision(&scenario(
            &c,
            "llama-3.1-8b",
            "a100-sxm-80gb",
            Precision::Int4,
            None
        )),
        Precision::Fp16
    );
}

#[test]
fn decode_step_is_memory_bound_at_small_batch_and_compute_bound_at_large() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-8b", "h100-sxm", Precision::Fp16, Some(1));
    let inst = Instance::resolve(&s, &ServingParams::default()).unwrap();
    let line = inst.step_line(192.0);
    assert_eq!(line.at(1.0).1, Bound::Memory);
    assert_eq!(line.at(2000.0).1, Bound::Compute);
    // Batch 1: weights over 3.35 TB/s × 0.75, 192 tokens of KV over 3.35 TB/s × 0.5,
    // plus 1 ms overhead.
    let expected = 2.0 * s.model.total_params() as f64 / (3350e9 * 0.75)
        + 192.0 * 131_072.0 / (3350e9 * 0.5)
        + 1e-3;
    assert!(close(line.at(1.0).0, expected, 1e-12));
}

#[test]
fn a_moe_decode_step_reads_only_the_experts_its_tokens_touch() {
    let c = Catalog::embedded().unwrap();
    let mut s = scenario(&c, "mixtral-8x7b", "h100-sxm", Precision::Fp16, Some(2));
    s.isl = 128;
    s.osl = 128;
    let p = ServingParams::default();
    let inst = Instance::resolve(&s, &p).unwrap();
    let line = inst.step_line(192.0);
    let (all_experts, share) = line.experts.expect("mixtral has experts");
    assert!((share - 0.25).abs() < 1e-12, "top-2 of 8");
    let expert_bytes = s.model.expert_params() as f64 * 2.0;
    assert!((all_experts - expert_bytes / (2.0 * 3350e9 * 0.75)).abs() < 1e-12 * all_experts);
    // One token reads a quarter of the experts; a large batch reads nearly all of them.
    let kv = 192.0 * s.model.kv_bytes_per_token(Precision::Fp16) / (2.0 * 3350e9 * 0.5);
    let one = line.at(1.0).0;
    let expected = line.memory.0 + 0.25 * all_experts + kv + line.fixed.0 + line.fixed.1;
    assert!((one - expected).abs() < 1e-12 * one, "{one} vs {expected}");
    let many = line.at(256.0).0 - line.memory.1 * 256.0 - line.fixed.0 - line.fixed.1 * 256.0;
    assert!((many - (line.memory.0 + all_experts)).abs() < 1e-9 * many);
    let dense = scenario(&c, "llama-3.1-8b", "h100-sxm", Precision::Fp16, Some(1));
    assert!(
        Instance::resolve(&dense, &p)
            .unwrap()
            .step_line(192.0)
            .experts
            .is_none()
    );
}

#[test]
fn a_prompts_share_of_packed_iterations_is_a_lone_prefill_once_it_fills_one() {
    let c = Catalog::embedded().unwrap();
    let s = scenario(&c, "llama-3.1-70b", "h100-sxm", Precision::Fp8, Some(4));
    let inst = Instance::resolve(&s, &ServingParams::default()).unwrap();
    let lone = |isl: f64| inst.prefill_tokens_s(isl, isl, 8192.0).0;
    // A prompt of a whole iteration or more pays what it pays alone.
    for isl in [8192.0, 20_000.0] {
        assert!(close(inst.prefill_share_s(isl, 8192.0), lone(isl), 1e-12));
    }
    // A short prompt pays its FLOPs and its fraction of the weight read and fixed costs:
    // less than alone, and 64 of them no more than one iteration of 8,192 tokens.
    let short = inst.prefill_share_s(128.0, 8192.0);
    assert!(short < lone(128.0));
    assert!(64.0 * short <= lone(8192.0) * (1.0 + 1e-12));
}

#[test]
fn synthetic_weights_read_one_tokens_experts_whatever_the_batch() {
    let c = Catalog::embedded().unwrap();
    let mut real = scenario(&c, "mixtral-8x7b", "h100-sxm", Precision::Fp16, Some(2));
    real.isl = 128;
    real.osl = 128;
    let mut synthetic = real;
    synthetic.deployment.synthetic_weights = true;
    let p = ServingParams::default();
    let (real, synthetic) = (
        Instance::resolve(&real, &p).unwrap(),
        Instance::resolve(&synthetic, &p).unwrap(),
    );
    let (real_line, synthetic_line) = (real.step_line(192.0), synthetic.step_line(192.0));
    assert!(
        synthetic_line.experts.is_none(),
        "no batch-dependent expert reads"
    );
    // One token costs the same either way; a batch of 256 reads three quarters of the
    // experts less with synthetic weights.
    let (all_experts, _) = real_line.experts.unwrap();
    assert!(close(synthetic_line.at(1.0).0, real_line.at(1.0).0, 1e-12));
    let saved = real_line.at(256.0).0 - synthetic_line.at(256.0).0;
    assert!(
        close(saved, 0.75 * all_experts, 1e-6),
        "{saved} vs {all_experts}"
    );
    // A prefill reads only the experts its tokens route to, and the memory budget still
    // holds every expert.
    assert!(synthetic.prefill_s(128.0, 1.0).0 < real.prefill_s(128.0, 1.0).0);
    assert!(close(
        synthetic.kv_capacity_tokens,
        real.kv_capacity_tokens,
        1e-12
    ));
    // A dense model reads the same either way.
    let mut dense = scenario(&c, "llama-3.1-8b", "h100-sxm", Precision::Fp16, Some(1));
    let step = |s: &Scenario<'_>| {
        Instance::resolve(s, &p)
            .unwrap()
            .step_line(192.0)
            .at(64.0)
            .0
    };
    let real_dense = step(&dense);
    dense.deployment.synthetic_weights = true;
    assert!(close(step(&dense), real_dense, 1e-15));
}

#[test]
fn a_layer_overhead_lengthens_every_step_by_the_layers_whatever_the_tp() {
    let c = Catalog::embedded().unwrap();
    let base = ServingParams::default();
    let with = ServingParams {
        layer_overhead_s: 20e-6,
        ..base.clone()
    };
    for (model, layers) in [("llama-3.1-8b", 32.0), ("llama-3.1-70b", 80.0)] {
        for tp in [2, 4, 8] {
            let s = scenario(&c, model, "h100-sxm", Precision::Fp8, Some(tp));
            let step = |p: &ServingParams| {
                Instance::resolve(&s, p)
                    .unwrap()
                    .step_line(5000.0)
                    .at(8.0)
                    .0
            };
            let added = step(&with) - step(&base);
            assert!(
                close(added, layers * 20e-6, 1e-9),
                "{model} TP{tp}: {added}"
            );
            // Prefill pays it once per iteration: one iteration for a lone prompt.
            let prefill =
                |p: &ServingParams| Instance::resolve(&s, p).unwrap().prefill_s(5000.0, 1.0).0;
            assert!(close(prefill(&with) - prefill(&base), layers * 20e-6, 1e-9));
        }
    }
}

#[test]
fn a_sequence_overhead_lengthens_a_decode_step_by_the_batch_and_leaves_prefill_alone() {
    let c = Catalog::embedded().unwrap();
    let base = ServingParams::default();
    let with = ServingParams {
        sequence_overhead_s: 15e-6,
        ..base.clone()
    };
    for (model, tp) in [
        ("llama-3.1-8b", 1),
        ("llama-3.1-70b", 2),
        ("llama-3.1-70b", 8),
    ] {
        let s = scenario(&c, model, "h100-sxm", Precision::Fp8, Some(tp));
        let step = |p: &ServingParams, batch: f64| {
            Instance::resolve(&s, p)
                .unwrap()
                .step_line(2000.0)
                .at(batch)
                .0
        };
        for batch in [1.0, 64.0, 512.0] {
            let added = step(&with, batch) - step(&base, batch);
            assert!(
                close(added, batch * 15e-6, 1e-9),
                "{model} TP{tp} batch {batch}: {added}"
            );
        }
        let prefill =
            |p: &ServingParams| Instance::resolve(&s, p).unwrap().prefill_s(2000.0, 4.0).0;
        assert!(close(prefill(&with), prefill(&base), 1e-15));
    }
}

#[test]
fn an_engines_own_sequence_overhead_wins_over_the_global_one() {
    use crate::engine::Engine;
    use crate::perf::params::{EfficiencyOverride, Placement};
    let mut p = ServingParams {
        sequence_overhead_s: 10e-6,
        ..ServingParams::default()
    };
    p.per_engine.insert(
        Engine::Vllm.to_string(),
        EfficiencyOverride {
            sequence_overhead_s: Some(80e-6),
            ..EfficiencyOverride::default()
        },
    );
    let at = |engine| Placement {
        gpu: "h100-sxm",
        architecture: "hopper",
        model: "llama-3.1-8b",
        engine,
        precision: Precision::Fp8,
    };
    let placed = |engine| PlacedParams::of(&p, &at(engine)).sequence_overhead_s;
    assert!(close(placed(Some(Engine::Vllm)), 80e-6, 1e-12));
    assert!(close(placed(Some(Engine::Trtllm)), 10e-6, 1e-12));
    assert!(close(placed(None), 10e-6, 1e-12));
}
