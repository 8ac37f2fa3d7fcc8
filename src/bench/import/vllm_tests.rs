use super::*;
use crate::bench::import::tests::{catalog, flags, value};
use crate::bench::{import::to_csv, load_csv};

const CLOSED: &str =
    include_str!("../../../tests/fixtures/vllm-bench/vllm-llama-3.1-8b-concurrency16.json");
const APPENDED: &str =
    include_str!("../../../tests/fixtures/vllm-bench/vllm-llama-3.1-8b-append.json");
const BURST: &str = include_str!("../../../tests/fixtures/vllm-bench/vllm-llama-3.1-8b-burst.json");
const RATE: &str = include_str!("../../../tests/fixtures/vllm-bench/vllm-llama-3.1-8b-rate4.json");

fn imported(text: &str) -> Result<Vec<BenchRow>, DataError> {
    import("run.json", text, &catalog(), &flags(), None)
}

#[test]
fn golden_closed_loop_run() {
    let rows = imported(CLOSED).unwrap();
    // TTFT and ITL at mean, median and p99 (the default percentiles), two throughputs;
    // TPOT and the client queue are not imported, E2EL was not recorded.
    assert_eq!(rows.len(), 8);
    let first = &rows[0];
    assert_eq!(
        (first.model.as_str(), first.gpu.as_str()),
        ("llama-3.1-8b", "h100-sxm")
    );
    assert_eq!((first.isl, first.osl, first.tp), (1024, 256, Some(1)));
    assert_eq!(first.engine.as_str(), "vllm");
    assert!(
        matches!(first.condition, Condition::Concurrency { clients } if (clients - 16.0).abs() < 1e-12)
    );
    assert!((value(&rows, Metric::TtftS, Stat::Mean) - 0.0617).abs() < 1e-12);
    assert!((value(&rows, Metric::ItlS, Stat::P99) - 11.8 * 1.2475 / 1000.0).abs() < 1e-12);
    assert!((value(&rows, Metric::OutputTokS, Stat::Mean) - 40960.0 / 52.41).abs() < 1e-9);
    assert!(!rows.iter().any(|r| r.metric == Metric::E2eS));
}

#[test]
fn appended_results_are_one_run_per_line() {
    let rows = imported(APPENDED).unwrap();
    assert_eq!(rows.len(), 16);
    let clients: Vec<(f64, u64)> = rows
        .iter()
        .filter(|r| r.metric == Metric::TtftS && r.stat == Stat::Mean)
        .map(|r| match r.condition {
            Condition::Concurrency { clients } => (clients, r.origin.line),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(clients, vec![(1.0, 1), (4.0, 2)]);
}

#[test]
fn a_burst_of_every_prompt_keeps_its_throughputs_only() {
    let rows = imported(BURST).unwrap();
    let metrics: Vec<Metric> = rows.iter().map(|r| r.metric).collect();
    assert_eq!(metrics, vec![Metric::OutputTokS, Metric::ReqPerS]);
    assert!(
        rows.iter()
            .all(|r| matches!(r.condition, Condition::Saturated))
    );
}

#[test]
fn a_poisson_rate_run_is_an_open_loop_run_and_gamma_or_capped_ones_are_refused() {
    let rows = imported(RATE).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.condition == Condition::ArrivalRate { rps: 4.0 })
    );
    assert!(rows.iter().any(|r| r.metric == Metric::TtftS));
    let gamma = RATE.replace("\"burstiness\": 1.0", "\"burstiness\": 0.5");
    let err = imported(&gamma).unwrap_err().to_string();
    assert!(err.starts_with("run.json:1:1: burstiness: 0.5"), "{err}");
    let capped = RATE.replace("\"max_concurrency\": null", "\"max_concurrency\": 8");
    let err = imported(&capped).unwrap_err().to_string();
    assert!(
        err.starts_with("run.json:1:1: request_rate: 4 req/s under a cap of 8"),
        "{err}"
    );
}

#[test]
fn imported_runs_round_trip_through_the_schema() {
    let rows = imported(CLOSED).unwrap();
    let back = load_csv("back.csv", &to_csv(&rows), &catalog()).unwrap();
    assert_eq!(back.len(), rows.len());
    assert!(
        back.iter()
            .zip(&rows)
            .all(|(a, b)| a.value == b.value && a.metric == b.metric)
    );
}

#[test]
fn malformed_copies_are_one_line_errors_naming_the_field() {
    let cases = [
        (
            CLOSED.replacen("\"mean_ttft_ms\": 61.7", "\"mean_ttft_ms\": \"61.7\"", 1),
            "mean_ttft_ms: expected a number",
        ),
        (
            CLOSED.replacen("\"total_input_tokens\"", "\"total_prompt_tokens\"", 1),
            "total_input_tokens: missing",
        ),
        (
            CLOSED.replacen("\"completed\": 160", "\"completed\": 0", 1),
            "completed: expected at least one",
        ),
        (
            CLOSED.replacen("\"max_concurrency\": 16", "\"max_concurrency\": 2.5", 1),
            "max_concurrency: expected a whole number",
        ),
        (
            CLOSED.replacen("\"mean_ttft_ms\": 61.7", "\"mean_ttft_ms\": -61.7", 1),
            "mean_ttft_ms: expected a positive number",
        ),
        (CLOSED[..CLOSED.len() / 2].to_string(), "not valid JSON"),
        ("[1, 2]".to_string(), "expected a JSON object"),
        (String::new(), "no run"),
    ];
    for (text, expected) in cases {
        let err = imported(&text).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(err.starts_with("run.json:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn the_model_flag_names_the_catalog_model_for_a_path() {
    let text = CLOSED.replace("meta-llama/Llama-3.1-8B-Instruct", "/models/my-finetune");
    let err = imported(&text).unwrap_err().to_string();
    assert!(err.contains("model_id") && err.contains("--model"), "{err}");
    let o = Overrides {
        model: Some("llama-3.1-8b".into()),
        ..flags()
    };
    let rows = import("run.json", &text, &catalog(), &o, None).unwrap();
    assert_eq!(rows[0].model.as_str(), "llama-3.1-8b");
}
