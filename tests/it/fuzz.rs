//! The fuzz harness: every loader (benchmark CSV, experiment TOML, parameter JSON, catalog
//! TOML and each importer) fed mutated copies of real inputs (bytes changed, inserted,
//! deleted, lines truncated) and arbitrary text. Each input must give `Ok` or a typed
//! error: no panic, no input taking 10 s, and rows that load must evaluate to finite
//! numbers. `FUZZ_CASES` sets the inputs per loader (default 1,000 in the fast suite) and
//! `FUZZ_SEED` the draw (default 0, so the suite's verdict is reproducible);
//! `FUZZ_CASES=10000 cargo test --release --test it fuzz` is the full run.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use infercal::bench::import::{Format, Overrides, import};
use infercal::bench::load_csv;
use infercal::catalog::Catalog;
use infercal::evaluate::{evaluate_rows, summarize};
use infercal::experiment::{content_hash, parse, validate};
use infercal::fitted::params_file::{SHIPPED_CALIBRATION, parse_params};
use infercal::perf::PerfModelKind;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The longest any one input may take.
const HANG: Duration = Duration::from_secs(10);

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().unwrap())
}

/// Characters that matter to the formats: separators, quotes, signs, exponents, NA,
/// brackets, NUL, multi-byte text.
const PIECES: &[&str] = &[
    ",",
    "\n",
    "\r\n",
    "\"",
    "#",
    "-",
    "e",
    "E",
    ".",
    "0",
    "1",
    "9",
    "NA",
    " ",
    "{",
    "}",
    "[",
    "]",
    ":",
    "=",
    "\0",
    "é",
    "1e308",
    "1e-320",
    "-1",
    "nan",
    "inf",
    "4294967296",
    "fp8",
    "h100-sxm",
    "llama-3.1-8b",
    "\t",
    "'",
];

/// An edit: at a position (a fraction of the length), delete a few characters, insert a
/// piece, replace a character with a piece (three in ten each), or cut the text there
/// (one in ten: a cut ends most formats' validity, and the loaders' deeper checks need
/// inputs that still parse).
fn edits() -> impl Strategy<Value = Vec<(u8, f64, usize)>> {
    prop::collection::vec((0u8..10, 0.0f64..1.0, 0..PIECES.len()), 1..8)
}

fn apply(base: &str, edits: &[(u8, f64, usize)]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for &(kind, at, piece) in edits {
        let i = ((chars.len() as f64) * at) as usize;
        let i = i.min(chars.len());
        let piece: Vec<char> = PIECES[piece].chars().collect();
        match kind {
            0..=2 => {
                let end = (i + 3).min(chars.len());
                chars.drain(i..end);
            }
            3..=5 => {
                chars.splice(i..i, piece);
            }
            6..=8 if i < chars.len() => {
                chars.splice(i..=i, piece);
            }
            _ => chars.truncate(i),
        }
    }
    chars.into_iter().collect()
}

/// Numbers that probe the range checks: zero, negatives, huge, subnormal, fractions,
/// integers past `u32`.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "-0.5",
    "1e308",
    "1e-320",
    "0.5",
    "2",
    "1.5",
    "4294967296",
    "1e12",
    "3",
    "0.001",
    "65",
    "2048",
];

/// `base` with the number at `at` (a fraction of the numbers in it) replaced by
/// `NUMBERS[value]`: a mutation that keeps most formats parseable, so the inputs reach the
/// loaders' range checks rather than their syntax errors.
fn swap_number(base: &str, at: f64, value: usize) -> String {
    let bytes = base.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            spans.push(start..i);
        } else {
            i += 1;
        }
    }
    if spans.is_empty() {
        return base.to_string();
    }
    let span = spans[((spans.len() as f64) * at) as usize % spans.len()].clone();
    format!(
        "{}{}{}",
        &base[..span.start],
        NUMBERS[value],
        &base[span.end..]
    )
}

/// Mutated copies of `bases` (edits of any character, or a number swapped), and now and
/// then arbitrary text.
fn inputs(bases: Vec<String>) -> impl Strategy<Value = String> {
    let n = bases.len();
    let swapped = bases.clone();
    prop_oneof![
        6 => (0..n, edits()).prop_map(move |(b, e)| apply(&bases[b], &e)),
        3 => (0..n, 0.0f64..1.0, 0..NUMBERS.len())
            .prop_map(move |(b, at, v)| swap_number(&swapped[b], at, v)),
        1 => ".{0,200}",
    ]
}

/// Runs `loader` on `FUZZ_CASES` inputs; fails on a panic (proptest reports the input)
/// or an input that takes longer than [`HANG`]. `loader` says whether the input loaded;
/// some must, or the mutations never reach past the first check.
fn fuzz(bases: Vec<String>, loader: impl Fn(&str) -> bool) {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the suite's verdict does not depend on the draw (`FUZZ_SEED` draws
    // other inputs).
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let loaded = std::sync::atomic::AtomicU32::new(0);
    runner
        .run(&inputs(bases), |text| {
            let started = Instant::now();
            if loader(&text) {
                loaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            prop_assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
            Ok(())
        })
        .unwrap();
    let loaded = loaded.into_inner();
    eprintln!("{loaded} of {} inputs loaded", cases());
    assert!(
        loaded * 50 >= cases(),
        "only {loaded} of {} inputs loaded: the mutations are too destructive to test the loader past its first check",
        cases()
    );
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

/// The first `n` lines of `text` (large fixtures mutate faster when short).
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n") + "\n"
}

/// Rows that load are predicted; every figure of their summary is finite.
fn assert_finite_evaluation(rows: &[infercal::bench::BenchRow]) {
    let model = PerfModelKind::Serving.with_params(&Default::default());
    let Ok(evaluated) = evaluate_rows(rows, catalog(), model.as_ref(), &Default::default()) else {
        return;
    };
    for r in &evaluated {
        assert!(r.predicted.is_none_or(f64::is_finite), "{r:?}");
        assert!(r.ratio.is_none_or(f64::is_finite), "{r:?}");
    }
    let summary = summarize(&evaluated);
    let json = serde_json::to_string(&summary).unwrap();
    // A NaN serialises as null: a null median is only right when no row could be
    // compared (every prediction infeasible, as at an overloaded rate).
    let comparable = evaluated.iter().any(|r| r.ratio.is_some());
    assert!(!json.contains("NaN"), "{json}");
    assert!(
        !comparable || !json.contains("null,\"p90"),
        "a median hidden as null: {json}"
    );
    for v in [
        summary.median_ape,
        summary.p90_ape,
        summary.median_abs_log_ratio,
    ]
    .into_iter()
    .flatten()
    {
        assert!(v.is_finite(), "{json}");
    }
}

#[test]
fn benchmark_csv() {
    let chart = infercal::bench::EMBEDDED_FILES[0].1.to_string();
    let overview = infercal::bench::EMBEDDED_FILES[2].1.to_string();
    fuzz(vec![chart, overview], |text| {
        let loaded = load_csv("fuzz.csv", text, catalog());
        if let Ok(rows) = &loaded {
            assert_finite_evaluation(rows);
        }
        loaded.is_ok()
    });
}

#[test]
fn experiment_toml() {
    let bases = infercal::experiment::EMBEDDED
        .iter()
        .map(|(_, text)| text.to_string())
        .collect();
    fuzz(bases, |text| {
        parse("fuzz.toml", text).is_ok_and(|raw| {
            validate(
                raw,
                "fuzz.toml",
                content_hash(text.as_bytes()),
                catalog(),
                &|f| f.ends_with(".csv"),
            )
            .is_ok()
        })
    });
}

#[test]
fn params_json() {
    let bases = [
        SHIPPED_CALIBRATION.1,
        r#"{"prefill_efficiency": 0.45, "per_gpu": {"l40s": {"decode_efficiency": 0.7}}, "budget_load": "poisson"}"#,
        r#"{"decode_efficiency": 0.7}"#,
        r#"{"step_overhead_s": 0.002, "burst_factor": 0.9, "reserve_gb": 2}"#,
        r#"{"per_gpu_precision": {"h100-sxm:fp8": {"prefill_efficiency": 0.5}}}"#,
    ]
    .map(String::from)
    .to_vec();
    fuzz(bases, |text| {
        let Ok(loaded) = parse_params("fuzz.json", text) else {
            return false;
        };
        assert!(loaded.params().validate().is_ok());
        assert!(loaded.params().serving.step_overhead_s.is_finite());
        loaded.check_names("fuzz.json", catalog()).is_ok()
    });
}

#[test]
fn catalog_toml() {
    let gpus = include_str!("../../data/gpus.toml");
    let models = include_str!("../../data/models.toml");
    fuzz(vec![gpus.to_string(), models.to_string()], |text| {
        let a = Catalog::from_sources("gpus.toml", text, "data/models.toml", models).is_ok();
        let b = Catalog::from_sources("data/gpus.toml", gpus, "models.toml", text).is_ok();
        a || b
    });
}

fn fuzz_import(format: Format, bases: Vec<String>, overrides: Overrides) {
    fuzz(bases, |text| {
        let Ok(rows) = import(
            format,
            "fuzz-concurrency4.json",
            text,
            catalog(),
            &overrides,
        ) else {
            return false;
        };
        let csv = infercal::bench::import::to_csv(&rows);
        // What an import accepts, the loader reads back (the CLI refuses the rest with
        // the input's place before writing).
        if let Ok(back) = load_csv("imported.csv", &csv, catalog()) {
            assert_finite_evaluation(&back);
        }
        true
    });
}

#[test]
fn import_trtllm_bench_dli() {
    let table = head(&fixture("trtllm-0.9.0-static-batch.csv"), 40);
    fuzz_import(Format::TrtllmBenchDli, vec![table], Overrides::default());
}

#[test]
fn import_trtllm_perf_overview() {
    let source = include_str!("../fixtures/trtllm-perf-overview.source.csv");
    fuzz_import(
        Format::TrtllmPerfOverview,
        vec![head(source, 30)],
        Overrides::default(),
    );
}

#[test]
fn import_argonne_llm_inference_bench() {
    let sweep = include_str!("../../data/benchmarks/sources/argonne/All_results.csv");
    let quant = include_str!("../../data/benchmarks/sources/argonne/quant_all_results.csv");
    let ttft = include_str!("../../data/benchmarks/sources/argonne/all_results_TTFT_ITL.csv");
    fuzz_import(
        Format::ArgonneBench,
        vec![head(sweep, 30), head(quant, 30), head(ttft, 30)],
        Overrides::default(),
    );
}

#[test]
fn import_trtllm_perf_doc() {
    let old =
        include_str!("../../data/benchmarks/sources/trtllm-perf-doc/perf-overview_258c7540.md");
    let new =
        include_str!("../../data/benchmarks/sources/trtllm-perf-doc/perf-overview_00f37686.md");
    fuzz_import(
        Format::TrtllmPerfDoc,
        vec![head(old, 40), head(new, 40)],
        Overrides {
            engine: Some("trtllm-1.0".into()),
            ..Overrides::default()
        },
    );
}

#[test]
fn import_genai_perf() {
    let bases = vec![
        fixture("genai-perf/llama3-8b-concurrency10.json"),
        fixture("genai-perf/llama3-8b-concurrency10.csv"),
    ];
    let overrides = Overrides {
        model: Some("llama-3.1-8b".into()),
        gpu: Some("h100-sxm".into()),
        tp: Some(1),
        precision: Some(infercal::precision::Precision::Fp8),
        ..Overrides::default()
    };
    fuzz_import(Format::GenaiPerf, bases, overrides);
}

#[test]
fn import_vllm_bench() {
    let bases = vec![
        fixture("vllm-bench/vllm-llama-3.1-8b-concurrency16.json"),
        fixture("vllm-bench/vllm-llama-3.1-8b-append.json"),
        fixture("vllm-bench/vllm-llama-3.1-8b-burst.json"),
    ];
    let overrides = Overrides {
        gpu: Some("h100-sxm".into()),
        tp: Some(1),
        precision: Some(infercal::precision::Precision::Fp8),
        ..Overrides::default()
    };
    fuzz_import(Format::VllmBench, bases, overrides);
}

#[test]
fn import_sglang_bench() {
    let bases = vec![
        fixture("sglang-bench/sglang-llama-3.1-8b-concurrency.jsonl"),
        fixture("sglang-bench/sglang-llama-3.1-8b-rate4.jsonl"),
        fixture("sglang-bench/sglang-old-layout-burst.jsonl"),
    ];
    let overrides = Overrides {
        model: Some("llama-3.1-8b".into()),
        gpu: Some("h100-sxm".into()),
        tp: Some(1),
        precision: Some(infercal::precision::Precision::Fp8),
        ..Overrides::default()
    };
    fuzz_import(Format::SglangBench, bases, overrides);
}

#[test]
fn import_llmperf() {
    let bases = vec![
        fixture("llmperf/vllm-yi-1.5-34b-chat-4xa10g-c16-summary.json"),
        fixture("llmperf/tgi-yi-1.5-34b-chat-4xa10g-c1-summary.json"),
    ];
    let overrides = Overrides {
        gpu: Some("a10g".into()),
        tp: Some(4),
        precision: Some(infercal::precision::Precision::Fp16),
        ..Overrides::default()
    };
    fuzz_import(Format::Llmperf, bases, overrides);
}
