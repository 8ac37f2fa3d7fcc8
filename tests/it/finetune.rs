//! Fine-tuning the shipped calibration on a user's runs: `calibrate --base` moves only the
//! runs' GPU and engine, says what moved, and writes a fitted.json `predict` reads; its
//! mistakes are refused in one line; and (slow guard) on held-out pairs of the shipped
//! data the fine-tune beats both the base alone and a from-scratch fit.

use crate::{assert_one_line_bad_input, infercal, infercal_in, scratch_dir, stdout};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vllm-bench");

/// A directory holding `my-runs.csv`: the vLLM fixtures imported as an H100's runs.
fn with_runs() -> std::path::PathBuf {
    let dir = scratch_dir();
    let runs = dir.join("my-runs.csv");
    let out = infercal(&[
        "import",
        "vllm-bench",
        &format!("{FIXTURES}/vllm-llama-3.1-8b-concurrency16.json"),
        &format!("{FIXTURES}/vllm-llama-3.1-8b-append.json"),
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
        "-o",
        &runs.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", crate::stderr(&out));
    dir
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_fine_tune_moves_the_runs_gpu_and_engine_only_and_predict_reads_it() {
    let dir = with_runs();
    let run = infercal_in(
        &dir,
        &[
            "calibrate",
            "--base",
            "shipped",
            "--data",
            "my-runs.csv",
            "--out",
            "tuned",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("step_overhead_s[vllm]") && text.contains(" → "),
        "{text}"
    );
    let report = std::fs::read_to_string(dir.join("tuned/report.md")).unwrap();
    assert!(
        report.contains("## Fine-tune") && report.contains("Carried over"),
        "{report}"
    );
    let tuned = json(&dir.join("tuned/fitted.json"));
    let shipped: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/calibrated/serving-real.json"
    )))
    .unwrap();
    let per_gpu =
        |doc: &serde_json::Value, gpu: &str| doc["params"]["serving"]["per_gpu"][gpu].clone();
    for other in ["h200-sxm", "l40s", "a100-sxm-80gb", "mi300x"] {
        assert_eq!(
            per_gpu(&tuned, other),
            per_gpu(&shipped, other),
            "{other} moved"
        );
    }
    assert_ne!(
        tuned["params"]["serving"]["per_engine"]["vllm"],
        shipped["params"]["serving"]["per_engine"]["vllm"],
        "the runs' engine moved"
    );
    assert_eq!(tuned["assumptions"]["engine"]["h100-sxm"], "vllm");
    assert!(
        tuned["intervals"].is_object(),
        "the base's intervals are carried"
    );
    let predicted = infercal_in(
        &dir,
        &[
            "predict",
            "--params",
            "tuned/fitted.json",
            "--model",
            "llama-3.1-8b",
            "--gpu",
            "h100-sxm",
            "--isl",
            "1024",
            "--osl",
            "256",
            "--concurrency",
            "16",
            "--format",
            "json",
        ],
    );
    assert!(predicted.status.success(), "{}", crate::stderr(&predicted));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&predicted)).unwrap();
    assert_eq!(doc["engine"], "vllm", "{doc}");
}

#[test]
fn fine_tune_mistakes_are_one_line_errors() {
    let dir = with_runs();
    let missing_base = infercal_in(
        &dir,
        &[
            "calibrate",
            "--base",
            "nowhere.json",
            "--data",
            "my-runs.csv",
            "--quiet",
        ],
    );
    let err = assert_one_line_bad_input(&missing_base);
    assert!(err.contains("nowhere.json"), "{err}");
    let missing_data = infercal_in(
        &dir,
        &[
            "calibrate",
            "--base",
            "shipped",
            "--data",
            "gone.csv",
            "--quiet",
        ],
    );
    let err = assert_one_line_bad_input(&missing_data);
    assert!(err.contains("gone.csv"), "{err}");
    for args in [
        vec!["calibrate", "--base", "shipped"],
        vec![
            "calibrate",
            "serving-real",
            "--base",
            "shipped",
            "--data",
            "my-runs.csv",
        ],
        vec!["calibrate", "--data", "my-runs.csv"],
    ] {
        let run = infercal_in(&dir, &args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
    }
}

#[test]
#[ignore = "slow guard (four base calibrations and forty small fits, under a minute): cargo test -- --ignored"]
fn new_users_gain_from_a_fine_tune_on_at_least_three_held_out_pairs() {
    let run = infercal(&["cv", "--new-user", "--quiet"]);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let text = stdout(&run);
    let wins = text.lines().filter(|l| l.contains(" ✓ |")).count();
    assert!(wins >= 3, "{text}");
}
