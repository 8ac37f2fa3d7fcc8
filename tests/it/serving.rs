//! `infercal predict`, `size` and `evaluate` with the serving model.

use crate::{assert_one_line_bad_input, infercal, scratch_dir, stdout};

fn json(args: &[&str]) -> serde_json::Value {
    let out = infercal(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

const SEVENTY_B: [&str; 8] = [
    "predict",
    "--model",
    "llama-3.1-70b",
    "--isl",
    "5000",
    "--osl",
    "500",
    "--format",
];

#[test]
fn seventy_b_on_h100_is_a_feasible_multi_gpu_deployment_with_its_breakdown() {
    let mut args = SEVENTY_B.to_vec();
    args.extend(["json", "--gpu", "h100-sxm", "--ttft-budget", "3"]);
    let doc = json(&args);
    assert_eq!(doc["feasible"], true);
    assert!(doc["tp"].as_u64().unwrap() >= 2);
    for field in [
        "ttft_s",
        "itl_s",
        "e2e_s",
        "output_tok_s",
        "req_per_s",
        "req_per_s_per_gpu",
        "running_batch",
        "kv_capacity_tokens",
    ] {
        assert!(doc[field].as_f64().unwrap() > 0.0, "{field}");
    }
    for field in ["prefill_s", "decode_step_s", "queue_wait_s", "allreduce_s"] {
        assert!(doc["breakdown"][field].as_f64().is_some(), "{field}");
    }
    assert_eq!(doc["breakdown"]["decode_bound"], "memory");
}

#[test]
fn seventy_b_on_a10g_at_half_a_second_is_infeasible_with_a_reason() {
    let mut args = SEVENTY_B.to_vec();
    args.extend(["json", "--gpu", "a10g", "--ttft-budget", "0.5"]);
    let doc = json(&args);
    assert_eq!(doc["feasible"], false);
    assert!(doc["reason"].as_str().unwrap().contains("prefill"), "{doc}");
    assert_eq!(doc["tp"], 8);
}

#[test]
fn target_rps_reports_gpus_and_whole_instances() {
    let mut args = SEVENTY_B.to_vec();
    args.extend([
        "json",
        "--gpu",
        "h100-sxm",
        "--ttft-budget",
        "3",
        "--target-rps",
        "10",
    ]);
    let doc = json(&args);
    let per_gpu = doc["req_per_s_per_gpu"].as_f64().unwrap();
    let gpus = doc["gpus_for_target"].as_f64().unwrap();
    assert!((gpus - 10.0 / per_gpu).abs() < 1e-9 * gpus);
    let instances = doc["instances_for_target"].as_f64().unwrap();
    assert!(instances * doc["req_per_s"].as_f64().unwrap() >= 10.0);
}

#[test]
fn every_condition_and_model_predicts() {
    for condition in [
        ["--batch", "8"],
        ["--concurrency", "8"],
        ["--rate", "0.2"],
        ["--ttft-budget", "2"],
    ] {
        for model in ["serving", "roofline", "reference"] {
            let out = infercal(&[
                "predict",
                "--model",
                "llama-3.1-8b",
                "--gpu",
                "l40s",
                "--isl",
                "1000",
                "--osl",
                "200",
                condition[0],
                condition[1],
                "--perf-model",
                model,
            ]);
            assert!(
                out.status.success(),
                "{condition:?} {model}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout(&out).contains("feasible"));
        }
    }
    let out = infercal(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "l40s",
        "--isl",
        "1000",
        "--osl",
        "200",
        "--saturate",
        "--stat",
        "p90",
    ]);
    assert!(out.status.success());
}

#[test]
fn two_conditions_are_refused_by_clap() {
    let out = infercal(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "l40s",
        "--isl",
        "10",
        "--osl",
        "10",
        "--batch",
        "2",
        "--saturate",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fp8_on_a100_is_infeasible_not_an_error() {
    let doc = json(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "a100-sxm-80gb",
        "--isl",
        "100",
        "--osl",
        "100",
        "--saturate",
        "--precision",
        "fp8",
        "--format",
        "json",
    ]);
    assert_eq!(doc["feasible"], false);
    assert!(doc["reason"].as_str().unwrap().contains("fp8"));
}

#[test]
fn bad_numbers_and_names_are_one_line_errors() {
    let out = infercal(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "l40s",
        "--isl",
        "10",
        "--osl",
        "10",
        "--rate",
        "0",
    ]);
    assert_one_line_bad_input(&out);
    let out = infercal(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "l40s",
        "--isl",
        "10",
        "--osl",
        "10",
        "--saturate",
        "--precision",
        "fp32",
    ]);
    assert_one_line_bad_input(&out);
}

#[test]
fn size_ranks_deployments_and_explains_the_rest() {
    let out = infercal(&[
        "size",
        "--model",
        "llama-3.1-70b",
        "--ttft-budget",
        "0.5",
        "--target-rps",
        "10",
        "--isl",
        "5000",
        "--osl",
        "500",
        "--gpus",
        "h100-sxm,a100-sxm-80gb,l40s,a10g",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("| 1 | h100-sxm |"), "{text}");
    assert!(
        text.contains("Ruled out:") && text.contains("- a10g:"),
        "{text}"
    );
    let doc = json(&[
        "size",
        "--model",
        "llama-3.1-8b",
        "--ttft-budget",
        "3",
        "--target-rps",
        "10",
        "--isl",
        "5000",
        "--osl",
        "500",
        "--format",
        "json",
        "--all",
    ]);
    let deployable = doc["deployable"].as_array().unwrap();
    let whole: Vec<u64> = deployable
        .iter()
        .map(|d| d["whole_gpus"].as_u64().unwrap())
        .collect();
    assert!(
        whole.windows(2).all(|w| w[0] <= w[1]),
        "ranked by GPUs: {whole:?}"
    );
}

#[test]
fn evaluate_default_parameters_on_the_chart() {
    let doc = json(&[
        "evaluate",
        "--data",
        "data/benchmarks/nim-sizing-rag-5000-500.csv",
        "--perf-model",
        "serving",
        "--uncalibrated",
        "--format",
        "json",
    ]);
    let rate = &doc["summary"]["per_metric"]["req_per_s_per_gpu"];
    let median_ape = rate["median_ape"].as_f64().unwrap();
    assert!(median_ape < 60.0, "median APE {median_ape}");
    assert!(
        (rate["feasibility_accuracy"].as_f64().unwrap() - 1.0).abs() < 1e-12,
        "every N/A cell right"
    );
    let seed = json(&[
        "evaluate",
        "--perf-model",
        "seed", // the reference model's name before 0.2, still understood
        "--uncalibrated",
        "--format",
        "json",
    ]);
    let seed_ape = seed["summary"]["per_metric"]["req_per_s_per_gpu"]["median_ape"]
        .as_f64()
        .unwrap();
    assert!(
        seed_ape > 400.0,
        "the reference calculator misses by ~500 %: {seed_ape}"
    );
}

#[test]
fn evaluate_csv_has_a_line_per_row() {
    let out = infercal(&["evaluate", "--format", "csv", "--rows"]);
    assert_eq!(stdout(&out).lines().count(), 33);
    let summary = infercal(&["evaluate", "--format", "csv"]);
    let text = stdout(&summary);
    assert!(text.starts_with("scope,rows,"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("overall,32,")), "{text}");
}

#[test]
fn a_parameter_file_changes_the_prediction() {
    let dir = scratch_dir();
    let path = dir.join("params.json");
    std::fs::write(
        &path,
        r#"{"prefill_efficiency": 0.3, "per_gpu": {"h100-sxm": {"decode_efficiency": 0.5}}}"#,
    )
    .unwrap();
    let path = path.display().to_string();
    let base = [
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm",
        "--isl",
        "5000",
        "--osl",
        "500",
        "--saturate",
        "--format",
        "json",
    ];
    let default = json(&base);
    let mut with = base.to_vec();
    with.extend(["--params", &path]);
    let slower = json(&with);
    assert!(slower["req_per_s"].as_f64().unwrap() < default["req_per_s"].as_f64().unwrap());
    std::fs::write(dir.join("bad.json"), "{\n \"prefill_eff\": 0.3\n}").unwrap();
    let bad = dir.join("bad.json").display().to_string();
    let mut with_bad = base.to_vec();
    with_bad.extend(["--params", &bad]);
    let err = assert_one_line_bad_input(&infercal(&with_bad));
    assert!(err.contains("bad.json:2:"), "{err}");
}

#[test]
fn predict_and_size_use_the_shipped_calibration_unless_told_otherwise() {
    let mut args = SEVENTY_B.to_vec();
    args.extend(["json", "--gpu", "l40s", "--batch", "8"]);
    let calibrated = json(&args);
    assert!(
        calibrated["parameters"]
            .as_str()
            .unwrap()
            .starts_with("shipped calibration (serving-real"),
        "{calibrated}"
    );
    let mut literature = args.clone();
    literature.push("--uncalibrated");
    let literature = json(&literature);
    assert_eq!(
        literature["parameters"],
        "literature defaults (uncalibrated)"
    );
    assert_ne!(calibrated["itl_s"], literature["itl_s"]);
    assert_eq!(calibrated["gpu_efficiencies"], "own");
    let on = |gpu| {
        let mut args = SEVENTY_B.to_vec();
        args.extend(["json", "--gpu", gpu, "--batch", "8"]);
        json(&args)["gpu_efficiencies"].clone()
    };
    assert_eq!(
        on("h100-pcie"),
        "hopper mean",
        "no H100 PCIe row, but Hopper rows"
    );
    assert_eq!(on("b200"), "own", "perf-overview rows on B200");
    assert_eq!(on("v100-sxm2"), "global", "no Volta row at all");
    let mut both = args.clone();
    both.extend(["--uncalibrated", "--params", "fitted.json"]);
    assert_eq!(infercal(&both).status.code(), Some(2));
    let size = infercal(&[
        "size",
        "--model",
        "llama-3.1-8b",
        "--ttft-budget",
        "1",
        "--target-rps",
        "5",
        "--isl",
        "1000",
        "--osl",
        "200",
        "--gpus",
        "l40s,v100-sxm2",
    ]);
    let text = stdout(&size);
    assert!(text.contains("Parameters: shipped calibration"), "{text}");
    assert!(
        text.contains("No rows fitted for v100-sxm2, nor for their architecture"),
        "{text}"
    );
}
