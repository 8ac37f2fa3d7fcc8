//! Every failure a new user met at the edges (issue "Trustworthy at the edges"), replayed
//! as written: each now gives a located, one-line error with a non-zero exit status, or a
//! correct answer, and never a panic, a NaN or a silently different result.

use std::path::{Path, PathBuf};

use crate::{assert_one_line_bad_input, infercal, scratch_dir, stderr, stdout};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn predict_with_params(params: &str) -> std::process::Output {
    predict(&["--rate", "1", "--params", params])
}

#[test]
fn a_mistyped_gpu_key_in_a_params_file_is_refused_with_the_closest_names() {
    let dir = scratch_dir();
    let p = write(
        &dir,
        "p.json",
        r#"{"per_gpu": {"h100-sxn": {"decode_efficiency": 0.5}}}"#,
    );
    let err = assert_one_line_bad_input(&predict_with_params(&p));
    assert!(
        err.contains("h100-sxn") && err.contains("h100-sxm"),
        "{err}"
    );
}

#[test]
fn a_json_array_is_not_a_params_file() {
    let dir = scratch_dir();
    let p = write(&dir, "p.json", "[0.5, 0.7, 0.5]");
    let err = assert_one_line_bad_input(&predict_with_params(&p));
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn an_absurd_overhead_in_a_params_file_is_refused_not_predicted_as_nan() {
    let dir = scratch_dir();
    let p = write(&dir, "p.json", r#"{"step_overhead_s": 1e308}"#);
    let err = assert_one_line_bad_input(&predict_with_params(&p));
    assert!(
        err.contains("step_overhead_s") && err.contains("1e308"),
        "{err}"
    );
}

fn experiment(extra: &str) -> String {
    format!(
        "name = \"x\"\nperf_model = \"serving\"\ndata = [\"nim-sizing-rag-5000-500.csv\"]\n\
         [parameters.prefill_efficiency]\nmode = \"free\"\ninit = 0.5\nbounds = [0.1, 0.9]\n{extra}"
    )
}

fn calibrate_experiment(text: &str) -> std::process::Output {
    let dir = scratch_dir();
    let path = write(&dir, "x.toml", text);
    let out = dir.join("out").display().to_string();
    infercal(&["calibrate", "--quiet", &path, "--out", &out])
}

#[test]
fn a_mistyped_source_weight_is_refused() {
    let out = calibrate_experiment(&experiment(
        "[loss]\nsource_weights = { nim-sizing-chrt = 2.0 }\n",
    ));
    let err = assert_one_line_bad_input(&out);
    assert!(err.contains("closest: nim-sizing-chart"), "{err}");
}

#[test]
fn all_zero_weights_are_refused_rather_than_fitted_with_loss_zero() {
    let out = calibrate_experiment(&experiment(
        "[loss]\nsource_weights = { nim-sizing-chart = 0.0 }\n",
    ));
    assert!(assert_one_line_bad_input(&out).contains("weight 0"));
}

#[test]
fn a_grid_too_large_for_memory_is_refused_before_allocating() {
    let out = calibrate_experiment(&experiment(
        "[search]\ngrid = \"lhs\"\npoints = 1000000000000\n",
    ));
    assert!(assert_one_line_bad_input(&out).contains("search.points"));
}

fn predict(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm",
        "--isl",
        "100",
        "--osl",
        "100",
    ];
    args.extend_from_slice(extra);
    infercal(&args)
}

#[test]
fn a_target_rate_beside_an_arrival_rate_is_refused() {
    let out = predict(&["--rate", "1", "--target-rps", "5"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn impossible_tensor_parallel_degrees_are_refused() {
    let out = predict(&["--rate", "1", "--tp", "2048"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = assert_one_line_bad_input(&predict(&["--rate", "1", "--tp", "3"]));
    assert!(err.contains("attention heads"), "{err}");
    let err = assert_one_line_bad_input(&predict(&["--rate", "1", "--tp", "16"]));
    assert!(err.contains("1..=8"), "{err}");
}

#[test]
fn lengths_beyond_the_context_are_refused() {
    let out = infercal(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm",
        "--isl",
        "200000",
        "--osl",
        "100",
        "--rate",
        "1",
    ]);
    assert!(assert_one_line_bad_input(&out).contains("context"));
}

#[test]
fn a_target_beyond_any_deployment_is_said_not_wrapped() {
    let out = infercal(&[
        "size",
        "--model",
        "llama-3.1-8b",
        "--ttft-budget",
        "1",
        "--target-rps",
        "1e308",
        "--isl",
        "100",
        "--osl",
        "100",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("18446744073709551615"), "{text}");
    assert!(!text.to_lowercase().contains("nan"), "{text}");
    assert!(text.contains("beyond any deployment"), "{text}");
}

fn check_data_value(value: &str) -> std::process::Output {
    let dir = scratch_dir();
    let csv = format!(
        "source,model,gpu,tp,pp,precision,engine,isl,osl,batch_size,concurrency,ttft_budget_s,target_rps,metric,stat,value,note\n\
         me,llama-3.1-8b,h100-sxm,1,,fp8,trtllm,128,128,1,,,,ttft_s,,{value},\n"
    );
    let path = write(&dir, "rows.csv", &csv);
    infercal(&["evaluate", "--data", &path, "--format", "json"])
}

#[test]
fn values_that_would_make_statistics_nan_are_refused_at_their_place() {
    for value in ["1e308", "1e-320"] {
        let err = assert_one_line_bad_input(&check_data_value(value));
        assert!(err.contains("rows.csv:2:16"), "{value}: {err}");
    }
    let fine = check_data_value("0.02");
    assert!(fine.status.success(), "{}", stderr(&fine));
    assert!(!stdout(&fine).contains("NaN"));
}

#[test]
fn a_missing_catalog_directory_is_refused() {
    let out = infercal(&["--catalog", "/no/such/catalog", "list", "gpus"]);
    assert!(assert_one_line_bad_input(&out).contains("/no/such/catalog"));
}

fn genai_json() -> String {
    std::fs::read_to_string(format!("{FIXTURES}/genai-perf/llama3-8b-concurrency1.json")).unwrap()
}

fn import_json(name: &str, text: &str, extra: &[&str]) -> std::process::Output {
    let dir = scratch_dir();
    let path = write(&dir, name, text);
    let mut args = vec![
        "import",
        "genai-perf",
        path.as_str(),
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
    ];
    args.extend_from_slice(extra);
    infercal(&args)
}

#[test]
fn an_unparseable_value_stops_the_import_unless_skipped_and_counted() {
    let text = genai_json().replacen("\"avg\": 24.49146105660377", "\"avg\": \"fast\"", 1);
    let err = assert_one_line_bad_input(&import_json("run.json", &text, &[]));
    assert!(
        err.contains("time_to_first_token.avg") && err.contains("run.json:"),
        "{err}"
    );
    let negative = genai_json().replacen("\"avg\": 24.49146105660377", "\"avg\": -24.4", 1);
    let err = assert_one_line_bad_input(&import_json("run.json", &negative, &[]));
    assert!(err.contains("ttft_s (mean)"), "{err}");
    let skipped = import_json("run.json", &negative, &["--skip-bad"]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(
        stderr(&skipped).contains("skipped: "),
        "{}",
        stderr(&skipped)
    );
    assert!(!stdout(&skipped).contains("ttft_s,mean"));
}

#[test]
fn impossible_token_counts_are_refused_not_clamped() {
    for bad in ["1e12", "-200"] {
        let text = genai_json().replace("\"avg\": 200.0188679245283", &format!("\"avg\": {bad}"));
        let err = assert_one_line_bad_input(&import_json("run.json", &text, &[]));
        assert!(err.contains("Input Sequence Length"), "{bad}: {err}");
    }
}

#[test]
fn a_concurrency_of_zero_or_less_is_refused() {
    let text = genai_json();
    let err = assert_one_line_bad_input(&import_json("run.json", &text, &["--concurrency", "0"]));
    assert!(err.contains("--concurrency"), "{err}");
    let in_name =
        std::fs::read_to_string(format!("{FIXTURES}/genai-perf/llama3-8b-concurrency1.csv"))
            .unwrap();
    let dir = scratch_dir();
    let path = write(&dir, "llama3-8b-concurrency0.csv", &in_name);
    let out = infercal(&[
        "import",
        "genai-perf",
        &path,
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
    ]);
    assert!(assert_one_line_bad_input(&out).contains("concurrency"));
}

#[test]
fn an_import_never_overwrites_its_input() {
    let dir = scratch_dir();
    let path = write(&dir, "run.json", &genai_json());
    let out = infercal(&[
        "import",
        "genai-perf",
        &path,
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
        "-o",
        &path,
    ]);
    assert!(assert_one_line_bad_input(&out).contains("is one of the inputs"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), genai_json());
}

#[test]
fn an_out_directory_that_cannot_be_written_fails_before_the_fit() {
    let dir = scratch_dir();
    let file = write(&dir, "a-file", "x");
    let started = std::time::Instant::now();
    let out = infercal(&["calibrate", "--quiet", "--out", &format!("{file}/out")]);
    assert!(assert_one_line_bad_input(&out).contains("--out"));
    assert!(
        started.elapsed().as_secs() < 5,
        "refused before fitting, not after"
    );
}

#[test]
fn an_out_directory_of_other_files_is_not_replaced() {
    let dir = scratch_dir();
    write(&dir, "notes.txt", "mine");
    let d = dir.display().to_string();
    let out = infercal(&["calibrate", "serving-global", "--quiet", "--out", &d]);
    assert!(assert_one_line_bad_input(&out).contains("notes.txt"));
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
#[cfg(unix)]
fn ctrl_c_writes_beside_the_last_complete_set_and_exits_130() {
    let dir = scratch_dir();
    let out: PathBuf = dir.join("res");
    let o = out.display().to_string();
    let first = infercal(&["calibrate", "serving-global", "--quiet", "--out", &o]);
    assert!(first.status.success(), "{}", stderr(&first));
    let complete = std::fs::read_to_string(out.join("fitted.json")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_infercal"))
        .args(["calibrate", "--quiet", "--out", &o])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The default calibration's data takes a moment to load; the signal lands in the fit.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a child's pid and SIGINT touches no memory of this process.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT delivered");
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(130), "{}", stderr(&run));
    assert!(stdout(&run).contains("INTERRUPTED"), "{}", stdout(&run));
    assert_eq!(
        std::fs::read_to_string(out.join("fitted.json")).unwrap(),
        complete,
        "the complete set is untouched"
    );
    let beside = dir.join("res.interrupted");
    let manifest = std::fs::read_to_string(beside.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"interrupted\": true"), "{manifest}");
    let fitted = std::fs::read_to_string(beside.join("fitted.json")).unwrap();
    let fitted: serde_json::Value = serde_json::from_str(&fitted).unwrap();
    let loss = fitted["loss"].as_f64().unwrap();
    assert!(loss < 1e11, "no sentinel loss: {loss}");
}

#[test]
fn binary_input_fails_fast() {
    let dir = scratch_dir();
    let mut bytes = b"source,model\n".to_vec();
    bytes.extend([0u8, 159, 146, 150, 0, 1, 2]);
    let path = dir.join("binary.csv");
    std::fs::write(&path, bytes).unwrap();
    let p = path.display().to_string();
    let err = assert_one_line_bad_input(&infercal(&["check-data", &p]));
    assert!(err.contains("not a text file"), "{err}");
    // An endless stream of random bytes is refused as soon as it shows it is not text.
    let started = std::time::Instant::now();
    let urandom = infercal(&["check-data", "/dev/urandom"]);
    assert_eq!(urandom.status.code(), Some(2));
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn evaluate_prints_summaries_unless_asked_for_rows() {
    let out = infercal(&["evaluate"]);
    let text = stdout(&out);
    assert!(text.contains("| overall |"), "{text}");
    assert!(!text.contains("file:line"), "{text}");
    assert!(text.contains("shipped calibration"), "{text}");
    let rows = stdout(&infercal(&["evaluate", "--rows"]));
    assert!(rows.contains("file:line"), "{rows}");
}

#[test]
fn flags_a_format_records_itself_are_refused_not_ignored() {
    let table = format!("{FIXTURES}/trtllm-0.9.0-static-batch.csv");
    let out = infercal(&[
        "import",
        "trtllm-bench-dli",
        &table,
        "--gpu",
        "a100-sxm-80gb",
    ]);
    assert!(assert_one_line_bad_input(&out).contains("--gpu does not apply to trtllm-bench-dli"));
    let cv = infercal(&["cv", "serving-global", "--compare", "serving-per-gpu"]);
    assert_eq!(cv.status.code(), Some(2), "{}", stderr(&cv));
}

#[test]
fn an_unknown_key_names_the_closest_valid_ones() {
    let dir = scratch_dir();
    let p = write(&dir, "p.json", r#"{"decode_efficency": 0.5}"#);
    let err = assert_one_line_bad_input(&predict_with_params(&p));
    assert!(
        err.contains("unknown field `decode_efficency`; closest: decode_efficiency"),
        "{err}"
    );
    let out = calibrate_experiment(&experiment("[search]\npionts = 5\n"));
    assert!(assert_one_line_bad_input(&out).contains("closest: points"));
}
