use std::sync::atomic::AtomicBool;

use super::*;
use crate::bench::BenchRow;
use crate::fit::space::Start;
use crate::fit::tests::synthetic_rows;
use crate::fit::{Options, calibrate, fine_tune};
use crate::perf::params::EfficiencyOverride;

fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

/// A base calibration: its own values for the H100 and the L40S.
fn base() -> ParamSet {
    let mut base = ParamSet::default();
    for (gpu, prefill, decode) in [("h100-sxm", 0.5, 0.7), ("l40s", 0.4, 0.6)] {
        base.serving.per_gpu.insert(
            gpu.to_string(),
            EfficiencyOverride {
                prefill_efficiency: Some(prefill),
                decode_efficiency: Some(decode),
                ..EfficiencyOverride::default()
            },
        );
    }
    base
}

/// Five runs of a user's H100 under TensorRT-LLM whose decode is slower than the base
/// says (0.55 against 0.7).
fn user_rows() -> Vec<BenchRow> {
    let mut truth = base();
    if let Some(h100) = truth.serving.per_gpu.get_mut("h100-sxm") {
        h100.decode_efficiency = Some(0.55);
    }
    // Decode at batches of 32 and 64 is what the efficiency, not the fixed overhead, sets.
    let mut rows = synthetic_rows(&truth, &["h100-sxm"], &[(256, 64), (2048, 32), (256, 1)]);
    rows.truncate(5);
    for r in &mut rows {
        r.engine = "trtllm".into();
    }
    rows
}

#[test]
fn the_experiment_frees_what_a_few_runs_determine() {
    let e = experiment(&["my-runs.csv".into()], Prior::Base, &catalog(), &|_| true).unwrap();
    let mut free: Vec<String> = e.parameters.iter().map(|p| p.name.to_string()).collect();
    free.sort();
    assert_eq!(
        free,
        [
            "decode_efficiency",
            "engine_decode_factor",
            "engine_prefill_factor",
            "prefill_efficiency",
            "step_overhead_s"
        ]
    );
    let scratch = experiment(&["my-runs.csv".into()], Prior::Scratch, &catalog(), &|_| {
        true
    });
    assert!(scratch.is_ok());
    let missing = experiment(&["gone.csv".into()], Prior::Base, &catalog(), &|_| false);
    assert!(
        missing.is_err(),
        "a missing data file is refused like any experiment's"
    );
}

#[test]
fn a_gpu_centre_is_its_own_value_else_its_architectures_else_global() {
    let mut base = base();
    base.serving.per_architecture.insert(
        "hopper".into(),
        EfficiencyOverride {
            decode_efficiency: Some(0.65),
            ..EfficiencyOverride::default()
        },
    );
    let c = catalog();
    let at = |gpu| centre(&base, &c, Param::DecodeEfficiency, Tie::Gpu, gpu);
    assert!((at("h100-sxm") - 0.7).abs() < 1e-12);
    assert!(
        (at("h200-sxm") - 0.65).abs() < 1e-12,
        "borrowed from Hopper"
    );
    assert!((at("a10g") - base.serving.decode_efficiency).abs() < 1e-12);
}

#[test]
fn a_fine_tune_moves_the_runs_gpu_towards_them_and_nothing_else() {
    let c = catalog();
    let base = base();
    let e = experiment(&["my-runs.csv".into()], Prior::Base, &c, &|_| true).unwrap();
    let centre = |p, t, g: &str| centre(&base, &c, p, t, g);
    let cancel = AtomicBool::new(false);
    let tuned = fine_tune(
        &e,
        user_rows(),
        &c,
        &Options::silent(&cancel),
        &Start {
            base: &base,
            centre: &centre,
        },
    )
    .unwrap();
    let h100 = tuned.params.serving.per_gpu["h100-sxm"];
    let decode = h100.decode_efficiency.unwrap();
    assert!(
        decode < 0.625,
        "at least halfway from 0.7 to the runs' 0.55: {decode}"
    );
    assert_eq!(
        tuned.params.serving.per_gpu["l40s"], base.serving.per_gpu["l40s"],
        "a GPU without runs keeps the base's values"
    );
    assert!(
        (tuned.params.serving.decode_efficiency - base.serving.decode_efficiency).abs() < 1e-15
    );
    let moved = moved(&tuned, &e, &centre);
    let decode_move = moved
        .iter()
        .find(|m| m.label == "decode_efficiency[h100-sxm]")
        .unwrap();
    assert!((decode_move.base - 0.7).abs() < 1e-12);
    assert!(decode_move.relative_change() < -0.1, "{decode_move:?}");
    assert_eq!(
        engines_of(&tuned),
        vec![("h100-sxm".to_string(), Engine::Trtllm)]
    );
}

#[test]
fn without_a_base_the_same_rows_fit_from_scratch() {
    let c = catalog();
    let e = experiment(&["my-runs.csv".into()], Prior::Scratch, &c, &|_| true).unwrap();
    let cancel = AtomicBool::new(false);
    let scratch = calibrate(&e, &user_rows(), &c, &Options::silent(&cancel)).unwrap();
    assert!(scratch.params.serving.per_gpu.contains_key("h100-sxm"));
    assert!(!scratch.params.serving.per_gpu.contains_key("l40s"));
}
