//! `infercal list` and `infercal show` over the whole catalog.

use crate::{assert_one_line_bad_input, infercal, stdout};

fn slugs(kind: &str) -> Vec<String> {
    let out = infercal(&["list", kind, "--format", "csv"]);
    assert!(out.status.success());
    stdout(&out)
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn show_works_for_every_gpu_and_model() {
    let gpus = slugs("gpus");
    let models = slugs("models");
    assert!(
        gpus.len() >= 22 && models.len() >= 22,
        "{gpus:?} {models:?}"
    );
    for (kind, list) in [("gpu", &gpus), ("model", &models)] {
        for slug in list {
            let out = infercal(&["show", kind, slug]);
            assert!(out.status.success(), "show {kind} {slug}");
            let text = stdout(&out);
            assert!(
                text.contains(slug.as_str()) && text.contains("sources"),
                "{text}"
            );
            let json = infercal(&["show", kind, slug, "--format", "json"]);
            serde_json::from_slice::<serde_json::Value>(&json.stdout).expect("valid JSON");
        }
    }
}

#[test]
fn show_model_reports_derived_counts_and_bytes() {
    let text = stdout(&infercal(&["show", "model", "LLaMA v2 70B"]));
    assert!(text.contains("llama-2-70b"), "{text}");
    assert!(text.contains("parameters (derived)"), "{text}");
    assert!(text.contains("KV KiB/token"), "{text}");
}

#[test]
fn unknown_gpu_is_one_line_with_suggestions() {
    let out = infercal(&["show", "gpu", "H100 SXM6"]);
    let err = assert_one_line_bad_input(&out);
    assert!(err.contains("closest: h100-sxm"), "{err}");
}

#[test]
fn list_json_is_one_document() {
    let out = infercal(&["list", "models", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(value.as_array().unwrap().len() >= 22);
}

#[test]
fn a_catalog_directory_overrides_the_embedded_one() {
    let dir = crate::scratch_dir();
    std::fs::write(dir.join("gpus.toml"), "[[gpu]]\nslug = \"toy\"\nname = \"Toy\"\narchitecture = \"x\"\nmemory_gb = 1\nmemory_bw_gbps = 1\ntflops = { fp16 = 1 }\nlink = { kind = \"pcie\", gbps_per_dir = 1 }\nsources = [\"test\"]\n").unwrap();
    let dir = dir.display().to_string();
    let out = infercal(&["--catalog", &dir, "list", "gpus", "--format", "csv"]);
    assert_eq!(stdout(&out).lines().count(), 2);
    // One file missing falls back to the embedded one (models.toml here: show a model).
    let model = infercal(&["--catalog", &dir, "show", "model", "llama-3.1-8b"]);
    assert!(model.status.success(), "{}", crate::stderr(&model));
}

#[test]
fn a_catalog_directory_that_is_missing_or_empty_is_refused() {
    let missing = infercal(&["--catalog", "/no/such/dir", "show", "gpu", "h100-sxm"]);
    assert!(crate::assert_one_line_bad_input(&missing).contains("/no/such/dir"));
    let empty = crate::scratch_dir();
    let empty = empty.display().to_string();
    let out = infercal(&["--catalog", &empty, "list", "gpus"]);
    assert!(crate::assert_one_line_bad_input(&out).contains("neither gpus.toml nor models.toml"));
}

#[test]
fn a_broken_catalog_file_names_its_line() {
    let dir = crate::scratch_dir();
    std::fs::write(
        dir.join("models.toml"),
        "[[model]]\nslug = \"m\"\nhidden = \"big\"\n",
    )
    .unwrap();
    let dir = dir.display().to_string();
    let out = infercal(&["--catalog", &dir, "list", "models"]);
    let err = assert_one_line_bad_input(&out);
    assert!(err.contains("models.toml:"), "{err}");
}
