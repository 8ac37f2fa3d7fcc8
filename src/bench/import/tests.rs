use super::*;
use crate::bench::{Metric, Observed, load_csv};
use crate::scenario::{Condition, Stat};

const DLI: &str = include_str!("../../../tests/fixtures/trtllm-0.9.0-static-batch.csv");
const GP_CSV: &str = include_str!("../../../tests/fixtures/genai-perf/llama3-8b-concurrency10.csv");
const GP_CSV_250: &str =
    include_str!("../../../tests/fixtures/genai-perf/llama3-8b-concurrency250.csv");
const GP_JSON: &str =
    include_str!("../../../tests/fixtures/genai-perf/llama3-8b-concurrency10.json");
const OVERVIEW: &str = include_str!("../../../tests/fixtures/trtllm-perf-overview.source.csv");

pub(super) fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

/// The value of the first of `rows` with `metric` at `stat` (panics when there is none).
pub(super) fn value(rows: &[BenchRow], metric: Metric, stat: Stat) -> f64 {
    rows.iter()
        .find(|r| r.metric == metric && r.stat == stat)
        .and_then(|r| r.value.value())
        .unwrap_or_else(|| panic!("no {metric} {stat}"))
}

pub(super) fn flags() -> Overrides {
    Overrides {
        gpu: Some("h100-sxm".into()),
        tp: Some(1),
        precision: Some(Precision::Fp8),
        ..Overrides::default()
    }
}

pub(super) fn located(result: Result<Vec<BenchRow>, DataError>) -> (u64, usize, String) {
    match result {
        Err(DataError::At { at, message }) => (at.line, at.column, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn golden_trtllm_dli_table() {
    let rows = import(
        Format::TrtllmBenchDli,
        "dli.csv",
        DLI,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(rows.len(), 3 * 3449);
    assert_eq!(
        rows.iter()
            .filter(|r| r.metric == Metric::TtftS && r.value == Observed::NotAchievable)
            .count(),
        571
    );
    assert!(
        rows.iter()
            .filter(|r| r.value == Observed::NotAchievable)
            .all(|r| r.note == "did not complete")
    );
    // Line 2: LLaMA v2 7B, FP8, H100, batch 1, 128/128: TTFT 6.36 ms, ITL 4.0976 ms, and
    // 243.0 tok/s over the whole 526.76 ms run (its generation-only 245.99 is not read).
    let first: Vec<&BenchRow> = rows.iter().filter(|r| r.origin.line == 2).collect();
    assert_eq!(
        (first[0].model.as_str(), first[0].gpu.as_str()),
        ("llama-2-7b", "h100-sxm")
    );
    assert_eq!(first[0].precision, Some(Precision::Fp8));
    assert_eq!(first[0].condition, Condition::StaticBatch { batch_size: 1 });
    assert!((first[0].value.value().unwrap() - 0.00636).abs() < 1e-12);
    assert!((first[2].value.value().unwrap() - 243.0).abs() < 1e-9);
    let mixed = rows.iter().find(|r| r.origin.line == 4).unwrap();
    assert_eq!(mixed.precision, Some(Precision::Fp16), "`Mixed` is fp16");
    assert!(
        rows.iter().all(|r| r.synthetic_weights),
        "every run says `Use Fake Weight` = Yes"
    );
}

#[test]
fn a_fake_weight_cell_other_than_yes_or_no_is_located() {
    let mut lines: Vec<String> = DLI.lines().take(2).map(str::to_string).collect();
    let column = lines[0]
        .split(',')
        .position(|h| h == "Use Fake Weight")
        .unwrap();
    // Line 2 has one quoted comma ("128,128") before that column.
    lines[1] = lines[1].replacen(",Yes,5814946,", ",Maybe,5814946,", 1);
    let table = lines.join("\n");
    let (line, at, message) = located(import(
        Format::TrtllmBenchDli,
        "dli.csv",
        &table,
        &catalog(),
        &Overrides::default(),
    ));
    assert_eq!((line, at), (2, column + 1));
    assert!(
        message.contains("expected Yes or No, found `Maybe`"),
        "{message}"
    );
}

#[test]
fn imported_rows_round_trip_through_the_schema() {
    let rows = import(
        Format::TrtllmBenchDli,
        "dli.csv",
        DLI,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    let back = load_csv("back.csv", &to_csv(&rows), &catalog()).unwrap();
    assert_eq!(back.len(), rows.len());
    for (a, b) in rows.iter().zip(&back) {
        assert_eq!(
            (a.metric, a.condition, a.value, a.tp, a.precision),
            (b.metric, b.condition, b.value, b.tp, b.precision)
        );
        assert_eq!(a.synthetic_weights, b.synthetic_weights);
    }
}

#[test]
fn golden_genai_perf_csv_with_thousands_separators() {
    let mut o = flags();
    o.model = Some("meta/llama3-8b-instruct".into());
    let rows = import(
        Format::GenaiPerf,
        "llama3-8b-concurrency250.csv",
        GP_CSV_250,
        &catalog(),
        &o,
    )
    .unwrap();
    let ttft = rows
        .iter()
        .find(|r| r.metric == Metric::TtftS && r.stat == Stat::Mean)
        .unwrap();
    assert!(
        (ttft.value.value().unwrap() - 2.01696).abs() < 1e-12,
        "\"2,016.96\" ms"
    );
    assert_eq!(
        ttft.condition,
        Condition::Concurrency { clients: 250.0 },
        "concurrency from the file name"
    );
    assert_eq!((ttft.isl, ttft.osl), (200, 58));
    let rps = rows.iter().find(|r| r.metric == Metric::ReqPerS).unwrap();
    assert!((rps.value.value().unwrap() - 34.46).abs() < 1e-12);
    assert_eq!(rows.len(), 3 * 5 + 2);
}

#[test]
fn golden_genai_perf_json_brings_model_and_concurrency() {
    let rows = import(
        Format::GenaiPerf,
        "export.json",
        GP_JSON,
        &catalog(),
        &flags(),
    )
    .unwrap();
    let itl = rows
        .iter()
        .find(|r| r.metric == Metric::ItlS && r.stat == Stat::P99)
        .unwrap();
    assert_eq!(itl.model, "llama-3-8b");
    assert_eq!(itl.condition, Condition::Concurrency { clients: 10.0 });
    assert!((itl.value.value().unwrap() - 0.015815284809999998).abs() < 1e-15);
    let csv_rows = import(
        Format::GenaiPerf,
        "llama3-8b-concurrency10.csv",
        GP_CSV,
        &catalog(),
        &Overrides {
            model: Some("llama-3-8b".into()),
            ..flags()
        },
    )
    .unwrap();
    let mean = |rows: &[BenchRow], m| {
        rows.iter()
            .find(|r| r.metric == m && r.stat == Stat::Mean)
            .unwrap()
            .value
            .value()
            .unwrap()
    };
    assert!(
        (mean(&rows, Metric::TtftS) - mean(&csv_rows, Metric::TtftS)).abs() < 1e-5,
        "CSV and JSON agree"
    );
}

#[test]
fn genai_perf_names_the_missing_flag() {
    for (drop, flag) in [
        ("gpu", "--gpu"),
        ("tp", "--tp"),
        ("precision", "--precision"),
    ] {
        let mut o = flags();
        match drop {
            "gpu" => o.gpu = None,
            "tp" => o.tp = None,
            _ => o.precision = None,
        }
        let err = import(Format::GenaiPerf, "x.json", GP_JSON, &catalog(), &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains(flag), "{err}");
    }
    let err = import(Format::GenaiPerf, "x.csv", GP_CSV, &catalog(), &flags())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--model"), "{err}");
}

#[test]
fn golden_perf_overview() {
    let rows = import(
        Format::TrtllmPerfOverview,
        "overview.csv",
        OVERVIEW,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(rows.len(), 40);
    let h100_70b = rows
        .iter()
        .find(|r| r.model == "llama-3.3-70b" && r.gpu == "h100-sxm" && r.isl == 5000)
        .unwrap();
    assert_eq!(h100_70b.tp, Some(2));
    assert!((h100_70b.value.value().unwrap() - 898.0).abs() < 1e-9);
    assert!(
        rows.iter()
            .all(|r| r.condition == Condition::Saturated && r.metric == Metric::OutputTokS)
    );
}

#[test]
fn a_missing_column_is_named() {
    let truncated = DLI.replacen("Batch Size,", "", 1);
    let err = import(
        Format::TrtllmBenchDli,
        "t.csv",
        &truncated,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("missing column `Batch Size`"),
        "{err}"
    );
}

#[test]
fn reordered_columns_are_read_by_name() {
    let mut lines = DLI.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut text = String::new();
    let reversed: Vec<&str> = header.iter().rev().copied().collect();
    text.push_str(&reversed.join(","));
    text.push('\n');
    for line in DLI.lines().skip(1).take(20) {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        let fields: Vec<String> = record
            .iter()
            .rev()
            .map(|f| {
                if f.contains(',') {
                    format!("\"{f}\"")
                } else {
                    f.to_string()
                }
            })
            .collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let reordered = import(
        Format::TrtllmBenchDli,
        "r.csv",
        &text,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    let original = import(
        Format::TrtllmBenchDli,
        "o.csv",
        &DLI.lines().take(21).collect::<Vec<_>>().join("\n"),
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(reordered.len(), original.len());
    assert!(
        reordered
            .iter()
            .zip(&original)
            .all(|(a, b)| a.value == b.value && a.model == b.model)
    );
}

#[test]
fn a_bad_number_names_file_line_and_column() {
    let bad = DLI.replacen(",526.76,128.0,243.0,", ",526.76,128.0,fast,", 1);
    let (line, column, message) = located(import(
        Format::TrtllmBenchDli,
        "b.csv",
        &bad,
        &catalog(),
        &Overrides::default(),
    ));
    assert_eq!(line, 2);
    assert_eq!(column, 32, "Throughput is the 32nd column");
    assert!(
        message.contains("Throughput (tokens / sec)") && message.contains("`fast`"),
        "{message}"
    );
}

#[test]
fn a_truncated_line_is_located() {
    let cut: String =
        DLI.lines().take(3).collect::<Vec<_>>().join("\n") + "\n1,Yes,1,LLaMA v2 7B\n";
    let (line, _, message) = located(import(
        Format::TrtllmBenchDli,
        "c.csv",
        &cut,
        &catalog(),
        &Overrides::default(),
    ));
    assert_eq!(line, 4);
    assert!(message.contains("expected 34 fields"), "{message}");
}

#[test]
fn a_bad_genai_perf_number_is_located() {
    let bad = GP_CSV.replacen("135.87", "lots", 1);
    let (line, column, message) = located(import(
        Format::GenaiPerf,
        "llama3-8b-concurrency10.csv",
        &bad,
        &catalog(),
        &Overrides {
            model: Some("llama-3-8b".into()),
            ..flags()
        },
    ));
    assert_eq!((line, column), (2, 2));
    assert!(message.contains("Time To First Token"), "{message}");
}

#[test]
fn an_unknown_gpu_in_a_table_suggests_slugs() {
    let bad = DLI.replacen("H100 80GB HBM3", "H100 90GB HBM3", 1);
    let (_, column, message) = located(import(
        Format::TrtllmBenchDli,
        "g.csv",
        &bad,
        &catalog(),
        &Overrides::default(),
    ));
    assert_eq!(column, 23);
    assert!(message.contains("h100"), "{message}");
}

#[test]
fn formats_parse() {
    assert_eq!("genai-perf".parse::<Format>(), Ok(Format::GenaiPerf));
    assert!(
        "vllm"
            .parse::<Format>()
            .unwrap_err()
            .to_string()
            .contains("trtllm-bench-dli")
    );
}
