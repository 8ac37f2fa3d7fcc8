//! Prediction intervals end to end: `predict` and `size` draw them from the shipped
//! calibration, wider where the GPU's values were not fitted; `--plan-for upper` plans for
//! their pessimistic end; parameters without a table say so; `calibrate --intervals none`
//! leaves them out.

use crate::{assert_one_line_bad_input, infercal, scratch_dir, stdout};

const SCENARIO: [&str; 10] = [
    "--model",
    "llama-3.1-8b",
    "--isl",
    "1000",
    "--osl",
    "200",
    "--concurrency",
    "16",
    "--format",
    "json",
];

fn predict_json(gpu: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["predict", "--gpu", gpu];
    args.extend_from_slice(&SCENARIO);
    args.extend_from_slice(extra);
    let run = infercal(&args);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    serde_json::from_str(&stdout(&run)).unwrap()
}

/// `predict`'s output for `gpu` and the scenario `args`.
fn predict_text(gpu: &str, args: &[&str]) -> String {
    let mut all = vec!["predict", "--gpu", gpu];
    all.extend_from_slice(args);
    stdout(&infercal(&all))
}

/// (hi − lo) / (2 · value) of `field`.
fn half_width(doc: &serde_json::Value, field: &str) -> f64 {
    let value = doc[field].as_f64().unwrap();
    let lo = doc[format!("{field}_lo")].as_f64().unwrap();
    let hi = doc[format!("{field}_hi")].as_f64().unwrap();
    assert!(lo <= value && value <= hi, "{field}: {lo} {value} {hi}");
    (hi - lo) / (2.0 * value)
}

#[test]
fn every_figure_has_an_interval_around_it() {
    let doc = predict_json("h100-sxm", &[]);
    for field in [
        "ttft_s",
        "itl_s",
        "e2e_s",
        "output_tok_s",
        "req_per_s",
        "req_per_s_per_gpu",
    ] {
        assert!(half_width(&doc, field) > 0.0, "{field}");
    }
    assert_eq!(doc["interval"]["level"], "own");
    assert_eq!(doc["interval"]["scheme"], "source");
    assert!((doc["interval"]["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-12);
}

#[test]
fn an_arrival_rate_is_the_question_not_a_prediction_so_it_has_no_interval() {
    let run = infercal(&[
        "predict",
        "--gpu",
        "h100-sxm",
        "--model",
        "llama-3.1-8b",
        "--isl",
        "1000",
        "--osl",
        "200",
        "--rate",
        "2",
        "--format",
        "json",
    ]);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert!((doc["req_per_s"].as_f64().unwrap() - 2.0).abs() < 1e-9);
    assert!(doc["req_per_s_lo"].is_null() && doc["req_per_s_per_gpu_hi"].is_null());
    assert!(half_width(&doc, "ttft_s") > 0.0 && half_width(&doc, "itl_s") > 0.0);
}

#[test]
fn a_gpu_without_fitted_rows_gets_a_wider_interval_and_the_reason() {
    let own = predict_json("h100-sxm", &[]);
    let pooled = predict_json("v100-sxm2", &[]);
    assert_eq!(pooled["interval"]["level"], "pooled");
    for field in ["ttft_s", "itl_s", "e2e_s"] {
        assert!(
            half_width(&pooled, field) > half_width(&own, field),
            "{field}"
        );
    }
    let text = predict_text("v100-sxm2", &SCENARIO[..8]);
    assert!(
        text.contains("values pooled over every fitted GPU: widest"),
        "{text}"
    );
}

#[test]
fn an_engine_without_fitted_rows_takes_the_held_out_engines_ranges_and_says_so() {
    let fitted = predict_json("h100-sxm", &["--engine", "vllm"]);
    let unfitted = predict_json("h100-sxm", &["--engine", "sglang"]);
    assert_eq!(unfitted["engine_values"], "engine-independent (not fitted)");
    assert!(fitted["interval"]["engines_held_out_residuals"].is_null());
    let held_out = unfitted["interval"]["engines_held_out_residuals"].as_u64();
    assert!(held_out.is_some_and(|n| n > 1000), "{held_out:?}");
    for field in ["ttft_s", "itl_s", "e2e_s"] {
        assert!(
            half_width(&unfitted, field) > half_width(&fitted, field),
            "{field}"
        );
    }
    let text = predict_text(
        "h100-sxm",
        &[&SCENARIO[..8], &["--engine", "sglang"]].concat(),
    );
    assert!(
        text.contains("errors of engine families held out"),
        "{text}"
    );
}

/// A GPU whose own efficiencies the shipped calibration fitted but the data did not
/// determine (a flat direction of the loss).
fn undetermined_gpu() -> String {
    let shipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("data/calibrated/serving-real.json").unwrap(),
    )
    .unwrap();
    let parameters = shipped["parameters"].as_array().unwrap();
    let found = parameters.iter().find(|p| {
        p["name"] == "prefill_efficiency" && p["group"] != "" && p["std_error"].is_null()
    });
    let found = found.expect("the shipped calibration has a GPU the data do not determine");
    found["group"].as_str().unwrap().to_string()
}

#[test]
fn undetermined_parameters_widen_the_interval_and_say_so() {
    let determined = predict_json("h100-sxm", &[]);
    let gpu = undetermined_gpu();
    let undetermined = predict_json(&gpu, &[]);
    assert_eq!(undetermined["interval"]["level"], "own", "{gpu}");
    assert_eq!(undetermined["interval"]["parameters_undetermined"], true);
    assert_eq!(determined["interval"]["parameters_undetermined"], false);
    for field in ["ttft_s", "itl_s"] {
        let small = determined["interval"]["parameter_log_sd"][field]
            .as_f64()
            .unwrap();
        let large = undetermined["interval"]["parameter_log_sd"][field]
            .as_f64()
            .unwrap();
        assert!(
            small > 0.0 && large > 3.0 * small,
            "{field}: {small} vs {large}"
        );
        assert!(half_width(&undetermined, field) > half_width(&determined, field));
    }
    let mut args = vec!["predict", "--gpu", gpu.as_str()];
    args.extend_from_slice(&SCENARIO[..8]);
    let text = stdout(&infercal(&args));
    assert!(text.contains("not determined by the data"), "{text}");
}

#[test]
fn a_higher_confidence_widens_the_interval() {
    let eighty = predict_json("h100-sxm", &[]);
    let ninety_five = predict_json("h100-sxm", &["--confidence", "0.95"]);
    assert!(half_width(&ninety_five, "ttft_s") > half_width(&eighty, "ttft_s"));
    let run = infercal(&[
        "predict",
        "--gpu",
        "h100-sxm",
        "--model",
        "llama-3.1-8b",
        "--isl",
        "100",
        "--osl",
        "10",
        "--batch",
        "1",
        "--confidence",
        "80",
    ]);
    let err = assert_one_line_bad_input(&run);
    assert!(
        err.contains("--confidence") && err.contains("0.01–0.99"),
        "{err}"
    );
}

#[test]
fn uncalibrated_parameters_say_they_have_no_interval() {
    let doc = predict_json("h100-sxm", &["--uncalibrated"]);
    assert!(doc["interval"].is_null());
    assert!(doc["ttft_s_lo"].is_null());
    assert!(
        doc["interval_missing"]
            .as_str()
            .unwrap()
            .contains("no cross-validated errors")
    );
}

/// `size` of Llama 3.1 8B at 10 req/s under a 0.5 s budget on H100 SXM and L40S.
fn run_size(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "size",
        "--model",
        "llama-3.1-8b",
        "--ttft-budget",
        "0.5",
        "--target-rps",
        "10",
        "--isl",
        "5000",
        "--osl",
        "500",
        "--gpus",
        "h100-sxm,l40s",
    ];
    args.extend_from_slice(extra);
    infercal(&args)
}

fn size(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let run = run_size(&args);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    serde_json::from_str(&stdout(&run)).unwrap()
}

#[test]
fn a_sizing_csv_says_what_it_planned_for() {
    for plan in ["point", "upper"] {
        let run = run_size(&["--format", "csv", "--plan-for", plan]);
        let text = stdout(&run);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header.last(), Some(&"plan_for"), "{text}");
        for line in lines {
            assert!(line.ends_with(&format!(",{plan}")), "{line}");
        }
    }
    let bare = stdout(&run_size(&["--format", "csv", "--uncalibrated"]));
    assert!(!bare.contains("plan_for"), "no intervals, no plan: {bare}");
}

#[test]
fn planning_for_the_upper_end_needs_more_gpus_and_meets_the_budget_more_often() {
    let point = size(&[]);
    let upper = size(&["--plan-for", "upper"]);
    assert_eq!(point["plan_for"], "point");
    assert_eq!(upper["plan_for"], "upper");
    for gpu in ["h100-sxm", "l40s"] {
        let find = |doc: &serde_json::Value| {
            doc["deployable"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["gpu"] == gpu)
                .unwrap()
                .clone()
        };
        let (p, u) = (find(&point), find(&upper));
        assert!(u["whole_gpus"].as_u64() > p["whole_gpus"].as_u64(), "{gpu}");
        let (pp, pu) = (
            p["meets_budget"].as_f64().unwrap(),
            u["meets_budget"].as_f64().unwrap(),
        );
        assert!((pp - 0.5).abs() < 0.05 && pu > 0.85, "{gpu}: {pp} {pu}");
        let (lo, hi) = (
            p["gpus_interval"][0].as_f64().unwrap(),
            p["gpus_interval"][1].as_f64().unwrap(),
        );
        let gpus = p["gpus_for_target"].as_f64().unwrap();
        assert!(lo < gpus && gpus < hi, "{gpu}");
    }
    let run = run_size(&["--uncalibrated", "--plan-for", "upper"]);
    let err = assert_one_line_bad_input(&run);
    assert!(err.contains("--plan-for upper needs intervals"), "{err}");
}

#[test]
fn evaluate_reports_how_many_rows_the_intervals_cover() {
    let run = infercal(&["evaluate"]);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("Prediction intervals: share of rows inside"),
        "{text}"
    );
    assert!(text.contains("| all | "), "{text}");
    let bare = stdout(&infercal(&["evaluate", "--uncalibrated"]));
    assert!(!bare.contains("Prediction intervals"), "{bare}");
}

#[test]
fn calibrate_without_intervals_writes_none_and_a_bad_scheme_is_refused() {
    let out = scratch_dir();
    let dir = out.display().to_string();
    let run = infercal(&[
        "calibrate",
        "serving-global",
        "--quiet",
        "--intervals",
        "none",
        "--out",
        &dir,
    ]);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    assert!(!stdout(&run).contains("intervals:"));
    let fitted = std::fs::read_to_string(out.join("fitted.json")).unwrap();
    assert!(!fitted.contains("\"intervals\""));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("Not computed (`--intervals none`"),
        "{report}"
    );
    let bad = infercal(&[
        "calibrate",
        "serving-global",
        "--quiet",
        "--intervals",
        "sources",
        "--out",
        &scratch_dir().display().to_string(),
    ]);
    let err = assert_one_line_bad_input(&bad);
    assert!(
        err.contains("--intervals") && err.contains("source"),
        "{err}"
    );
}

#[test]
fn a_load_the_held_out_rows_hardly_tested_is_said_to_be() {
    // The shipped rows are static batches, open-loop and saturated runs; only the sizing
    // chart's 22 rows ran closed-loop, too few to make a group of their own.
    let closed = predict_json("h100-sxm", &[]);
    assert_eq!(closed["interval"]["regime_untested"], "closed-loop");
    let text = predict_text("h100-sxm", &SCENARIO[..8]);
    assert!(
        text.contains("too few held-out rows ran closed-loop"),
        "{text}"
    );
    let batch: Vec<&str> = (SCENARIO.iter())
        .map(|&a| if a == "--concurrency" { "--batch" } else { a })
        .collect();
    let doc: serde_json::Value = serde_json::from_str(&predict_text("h100-sxm", &batch)).unwrap();
    assert!(doc["interval"]["regime_untested"].is_null(), "{doc}");
    let text = predict_text("h100-sxm", &batch[..8]);
    assert!(!text.contains("hardly tested"), "{text}");
}

#[test]
fn size_says_its_budget_load_was_hardly_tested() {
    let budget = ["--ttft-budget", "1", "--target-rps", "10"];
    let args = [&["size"], &SCENARIO[..6], &budget[..]].concat();
    let text = stdout(&infercal(&args));
    assert!(text.contains("held-out rows ran closed-loop"), "{text}");
    let run = infercal(&[&args[..], &["--uncalibrated"]].concat());
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let bare = stdout(&run);
    assert!(!bare.contains("held-out rows ran"), "{bare}");
}
