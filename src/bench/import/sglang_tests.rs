use super::*;
use crate::bench::import::tests::{catalog, flags};
use crate::bench::import::vllm_bench::python_json;
use crate::bench::{Metric, import::to_csv, load_csv};
use crate::scenario::{Condition, Stat};

const CLOSED: &str =
    include_str!("../../../tests/fixtures/sglang-bench/sglang-llama-3.1-8b-concurrency.jsonl");
const RATE: &str =
    include_str!("../../../tests/fixtures/sglang-bench/sglang-llama-3.1-8b-rate4.jsonl");
const OLD: &str =
    include_str!("../../../tests/fixtures/sglang-bench/sglang-old-layout-burst.jsonl");

/// GPU and precision only: SGLang's `server_info` names the model and TP.
fn gpu_flags() -> Overrides {
    Overrides {
        tp: None,
        model: None,
        ..flags()
    }
}

/// Every fact from flags, for runs whose server did not report itself.
fn all_flags() -> Overrides {
    Overrides {
        model: Some("llama-3.1-8b".into()),
        ..flags()
    }
}

fn imported(text: &str, o: &Overrides) -> Result<Vec<BenchRow>, DataError> {
    import("runs.jsonl", text, &catalog(), o, None)
}

fn value(rows: &[BenchRow], line: u64, metric: Metric, stat: Stat) -> f64 {
    rows.iter()
        .find(|r| r.origin.line == line && r.metric == metric && r.stat == stat)
        .and_then(|r| r.value.value())
        .unwrap_or_else(|| panic!("no {metric} {stat} on line {line}"))
}

#[test]
fn golden_closed_loop_runs_read_model_and_tp_from_server_info() {
    let rows = imported(CLOSED, &gpu_flags()).unwrap();
    // Per run: TTFT at mean/median/p99, ITL at mean/median/p95/p99, E2E at
    // mean/median/p99, two throughputs.
    assert_eq!(rows.len(), 2 * 12);
    let first = &rows[0];
    assert_eq!(
        (
            first.source.as_str(),
            first.model.as_str(),
            first.gpu.as_str()
        ),
        ("sglang-bench", "llama-3.1-8b", "h100-sxm")
    );
    assert_eq!((first.isl, first.osl, first.tp), (1024, 256, Some(1)));
    assert_eq!(first.engine.as_str(), "sglang");
    let clients: Vec<f64> = rows
        .iter()
        .filter(|r| r.metric == Metric::TtftS && r.stat == Stat::Mean)
        .map(|r| match r.condition {
            Condition::Concurrency { clients } => clients,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(clients, vec![8.0, 32.0]);
    assert!((value(&rows, 1, Metric::TtftS, Stat::Mean) - 0.048).abs() < 1e-12);
    assert!((value(&rows, 2, Metric::ItlS, Stat::P95) - 9.8 * 1.4 / 1000.0).abs() < 1e-12);
    assert!((value(&rows, 1, Metric::E2eS, Stat::P50) - 1.858 * 0.98).abs() < 1e-12);
    assert!((value(&rows, 2, Metric::ReqPerS, Stat::Mean) - 12.3).abs() < 1e-12);
    assert!(
        !rows.iter().any(|r| r.stat == Stat::P90),
        "p90 is not in this layout"
    );
}

#[test]
fn a_rate_run_without_server_info_takes_model_and_tp_from_flags() {
    let err = imported(RATE, &gpu_flags()).unwrap_err().to_string();
    assert!(
        err.contains("server_info.model_path") && err.contains("--model"),
        "{err}"
    );
    let with_model = Overrides {
        model: Some("llama-3.1-8b".into()),
        ..gpu_flags()
    };
    let err = imported(RATE, &with_model).unwrap_err().to_string();
    assert!(err.contains("--tp"), "{err}");
    let rows = imported(RATE, &all_flags()).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.condition == Condition::ArrivalRate { rps: 4.0 })
    );
}

#[test]
fn the_older_layout_burst_keeps_its_throughput() {
    let rows = imported(OLD, &all_flags()).unwrap();
    let metrics: Vec<Metric> = rows.iter().map(|r| r.metric).collect();
    assert_eq!(metrics, vec![Metric::OutputTokS]);
    assert!(matches!(rows[0].condition, Condition::Saturated));
    assert_eq!((rows[0].isl, rows[0].osl), (512, 128));
}

#[test]
fn backends_name_their_engine_family() {
    assert_eq!(engine_of_backend("sglang-oai-chat"), "sglang");
    assert_eq!(engine_of_backend("vllm-chat"), "vllm");
    assert_eq!(engine_of_backend("trt"), "trtllm");
    assert_eq!(engine_of_backend("truss"), "truss");
    let text = CLOSED.replace("\"backend\": \"sglang\"", "\"backend\": \"vllm\"");
    assert_eq!(
        imported(&text, &gpu_flags()).unwrap()[0].engine.as_str(),
        "vllm"
    );
}

#[test]
fn python_literals_become_json_outside_strings_only() {
    let text = r#"{"a": Infinity, "b": -Infinity, "c": NaN, "d": "Infinity NaN \" Infinity"}"#;
    let json = python_json(text);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["a"], "inf");
    assert_eq!(doc["b"], "-inf");
    assert!(doc["c"].is_null());
    assert_eq!(doc["d"], "Infinity NaN \" Infinity");
    assert_eq!(
        json.find("\"b\""),
        text.find("\"b\""),
        "the infinities keep their width"
    );
}

#[test]
fn imported_runs_round_trip_through_the_schema() {
    let rows = imported(CLOSED, &gpu_flags()).unwrap();
    let back = load_csv("back.csv", &to_csv(&rows), &catalog()).unwrap();
    assert_eq!(back.len(), rows.len());
    assert!(back.iter().zip(&rows).all(|(a, b)| a.value == b.value));
}

#[test]
fn malformed_copies_are_one_line_errors_naming_the_field() {
    let first = CLOSED.lines().next().unwrap();
    let cases = [
        (
            first.replacen("\"mean_ttft_ms\": 48.0", "\"mean_ttft_ms\": \"48\"", 1),
            "mean_ttft_ms: expected a number",
        ),
        (
            first.replacen(
                "\"request_rate\": Infinity",
                "\"request_rate\": \"trace\"",
                1,
            ),
            "request_rate: expected a positive number",
        ),
        (
            first.replacen("\"total_output_tokens\"", "\"output_tokens\"", 1),
            "total_output_tokens: missing",
        ),
        (
            first.replacen("\"max_concurrency\": 8", "\"max_concurrency\": -8", 1),
            "max_concurrency: expected a whole number",
        ),
        (first[..first.len() / 3].to_string(), "not valid JSON"),
        (String::new(), "no run"),
    ];
    for (text, expected) in cases {
        let err = imported(&text, &gpu_flags()).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(err.starts_with("runs.jsonl:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
