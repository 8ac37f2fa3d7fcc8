use super::*;
use crate::bench::import::tests::{catalog, flags, value};
use crate::bench::{import::to_csv, load_csv};

// Real summaries committed to ray-project/llmperf (commit 85db0905, a pull request's
// merge): Yi 1.5 34B Chat on 4× A10G under vLLM and TGI, 1 and 16 clients.
const VLLM_1: &str =
    include_str!("../../../tests/fixtures/llmperf/vllm-yi-1.5-34b-chat-4xa10g-c1-summary.json");
const VLLM_16: &str =
    include_str!("../../../tests/fixtures/llmperf/vllm-yi-1.5-34b-chat-4xa10g-c16-summary.json");
const TGI_16: &str =
    include_str!("../../../tests/fixtures/llmperf/tgi-yi-1.5-34b-chat-4xa10g-c16-summary.json");

/// What the files do not record: 4 A10Gs at 16-bit weights, and the engine.
fn a10g_flags(engine: &str) -> Overrides {
    Overrides {
        model: None,
        gpu: Some("a10g".into()),
        tp: Some(4),
        engine: Some(engine.into()),
        ..flags()
    }
}

fn imported(text: &str) -> Result<Vec<BenchRow>, DataError> {
    import("summary.json", text, &catalog(), &a10g_flags("vllm"), None)
}

#[test]
fn golden_real_summary() {
    let rows = imported(VLLM_16).unwrap();
    // TTFT and E2E at mean, p50, p90, p95, p99; output tok/s and req/s.
    assert_eq!(rows.len(), 12);
    let first = &rows[0];
    assert_eq!(
        (
            first.source.as_str(),
            first.model.as_str(),
            first.gpu.as_str()
        ),
        ("llmperf", "yi-1.5-34b", "a10g")
    );
    // 550 prompt tokens; 159.28 output tokens on average (the requested 150 overshot).
    assert_eq!((first.isl, first.osl, first.tp), (550, 159, Some(4)));
    assert_eq!(first.engine.as_str(), "vllm");
    assert_eq!(first.condition, Condition::Concurrency { clients: 16.0 });
    assert!((value(&rows, Metric::TtftS, Stat::Mean) - 5.367653323758857).abs() < 1e-15);
    assert!((value(&rows, Metric::E2eS, Stat::P99) - 18.989224514590898).abs() < 1e-15);
    assert!((value(&rows, Metric::OutputTokS, Stat::Mean) - 124.29275563556878).abs() < 1e-12);
    assert!((value(&rows, Metric::ReqPerS, Stat::Mean) - 46.821420363866935 / 60.0).abs() < 1e-15);
    assert!(
        !rows.iter().any(|r| r.metric == Metric::ItlS),
        "LLMPerf's inter-token latency includes the first token: not imported"
    );
}

#[test]
fn every_real_summary_imports_at_its_concurrency() {
    for (text, clients) in [(VLLM_1, 1.0), (VLLM_16, 16.0), (TGI_16, 16.0)] {
        let rows = imported(text).unwrap();
        assert!(
            rows.iter()
                .all(|r| r.condition == Condition::Concurrency { clients })
        );
    }
}

#[test]
fn the_skipped_itl_really_is_latency_per_output_token() {
    // Why ITL is not imported: mean E2E over mean output tokens is the file's "ITL".
    let doc: Value = serde_json::from_str(VLLM_16).unwrap();
    let per_token = doc["results_end_to_end_latency_s_mean"].as_f64().unwrap()
        / doc["results_number_output_tokens_mean"].as_f64().unwrap();
    let itl = doc["results_inter_token_latency_s_mean"].as_f64().unwrap();
    assert!((per_token - itl).abs() < 0.01 * itl, "{per_token} vs {itl}");
}

#[test]
fn imported_runs_round_trip_through_the_schema() {
    let rows = imported(TGI_16).unwrap();
    let back = load_csv("back.csv", &to_csv(&rows), &catalog()).unwrap();
    assert_eq!(back.len(), rows.len());
    assert!(back.iter().zip(&rows).all(|(a, b)| a.value == b.value));
}

#[test]
fn malformed_copies_are_one_line_errors_naming_file_line_and_field() {
    let cases = [
        (
            VLLM_16.replacen(
                "\"results_ttft_s_mean\": 5.367653323758857",
                "\"results_ttft_s_mean\": \"fast\"",
                1,
            ),
            "summary.json:26:5: results_ttft_s_mean: expected a number",
        ),
        (
            VLLM_16.replacen(
                "\"num_concurrent_requests\": 16",
                "\"num_concurrent_requests\": 1.5",
                1,
            ),
            "summary.json:9:5: num_concurrent_requests: expected a whole number",
        ),
        (
            VLLM_16.replacen("\"results_num_completed_requests\"", "\"completed\"", 1),
            "results_num_completed_requests: missing",
        ),
        (
            VLLM_16.replacen("01-ai/Yi-1.5-34B-Chat", "01-ai/Yi-1.5-35B-Chat", 1),
            "summary.json:4:5: model: unknown model",
        ),
        (VLLM_16[..VLLM_16.len() / 2].to_string(), "not valid JSON"),
        ("[1]".to_string(), "expected a JSON object"),
    ];
    for (text, expected) in cases {
        let err = imported(&text).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn facts_the_file_does_not_record_need_their_flags() {
    let no_tp = Overrides {
        tp: None,
        ..a10g_flags("vllm")
    };
    let err = import("summary.json", VLLM_1, &catalog(), &no_tp, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--tp is required"), "{err}");
}
