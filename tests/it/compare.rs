//! `infercal compare`: the reference calculator against the embedded chart.

use crate::{infercal, stdout};

/// The calculator's published outputs (model, gpu, TTFT s, req/s/GPU) at ISL 5000 / OSL 500.
const PUBLISHED: [(&str, &str, f64, f64); 7] = [
    ("llama-3.1-8b", "h100-sxm", 0.083381, 11.0357),
    ("llama-3.1-8b", "a100-sxm-80gb", 0.264441, 3.47966),
    ("llama-3.1-8b", "l40s", 0.225425, 4.08191),
    ("llama-3.1-8b", "a10g", 0.660044, 1.39409),
    ("llama-3.1-70b", "h100-sxm", 0.778617, 1.17514),
    ("llama-3.1-70b", "a100-sxm-80gb", 2.469363, 0.370535),
    ("llama-3.1-70b", "l40s", 2.105031, 0.434666),
];

fn compare_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["compare", "--format", "json"];
    args.extend_from_slice(extra);
    let out = infercal(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn json_reproduces_the_published_calculator() {
    let doc = compare_json(&[]);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    for (model, gpu, ttft, rate) in PUBLISHED {
        let row = rows
            .iter()
            .find(|r| r["model"] == model && r["gpu"] == gpu)
            .unwrap_or_else(|| panic!("{model}/{gpu} missing"));
        let got_ttft = row["predicted_ttft_s"].as_f64().unwrap();
        let got_rate = row["predicted_req_per_s_per_gpu"].as_f64().unwrap();
        assert!(
            (got_ttft - ttft).abs() / ttft < 1e-3,
            "{model}/{gpu}: {got_ttft}"
        );
        assert!(
            (got_rate - rate).abs() / rate < 1e-3,
            "{model}/{gpu}: {got_rate}"
        );
    }
}

#[test]
fn summary_reports_the_median_miss() {
    let summary = &compare_json(&[])["summary"];
    let median = summary["median_ratio"].as_f64().unwrap();
    assert!((5.5..6.5).contains(&median), "median ratio {median}");
    assert!(summary["max_ratio"].as_f64().unwrap() > 70.0);
    assert!(summary["min_ratio"].as_f64().unwrap() > 2.0);
    assert_eq!(summary["compared_cells"], 11);
}

#[test]
fn efficiency_scales_the_rate() {
    let half = compare_json(&["--efficiency", "0.15"]);
    let row = &half["rows"][0];
    let rate = row["predicted_req_per_s_per_gpu"].as_f64().unwrap();
    assert!((rate - 11.0357 / 2.0).abs() / rate < 1e-3, "{rate}");
}

#[test]
fn markdown_and_csv_are_offered() {
    let md = stdout(&infercal(&["compare"]));
    assert!(
        md.starts_with("| model |") && md.contains("median 6.09×"),
        "{md}"
    );
    let csv = stdout(&infercal(&["compare", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 17);
}

#[test]
fn bad_efficiency_is_bad_input() {
    let out = infercal(&["compare", "--efficiency", "0"]);
    crate::assert_one_line_bad_input(&out);
}

#[test]
fn broken_pipe_exits_quietly() {
    use std::process::{Command, Stdio};
    // The read end is closed before the child starts, so its first write gets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_infercal"))
        .args(["list", "models", "--format", "json"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.is_empty(), "a broken pipe is not an error: {err}");
}
