//! Golden and malformed-input tests of the two public-data importers: LLM-Inference-Bench
//! tables and TensorRT-LLM's perf-overview page.

use super::tests::{catalog, located};
use super::*;
use crate::bench::{Metric, Observed};
use crate::scenario::Condition;

const SWEEP: &str =
    "Hardware,Num of Hardware,Framework,Model,Input Output Length,Batch Size,Latency,Throughput
Nvidia H100 GPU,2,vLLM,meta-llama/Meta-Llama-3-8B,128,16,1.5,2730.6
AMD MI250 GPU,1,vLLM,Qwen/Qwen2-7B,256,32,4.0,4096
Nvidia A100 GPU,4,llama.cpp,meta-llama/Llama-2-7b-hf,512,64,30.0,34.1
Nvidia A100 GPU,4,llama.cpp,meta-llama/Llama-2-7b-hf,512,16,40.0,25.6
Habana Gaudi2,1,Deepspeed,meta-llama/Llama-2-7b-hf,128,1,1.0,256
";

fn argonne(text: &str) -> Result<Vec<BenchRow>, DataError> {
    import(
        Format::ArgonneBench,
        "sweep.csv",
        text,
        &catalog(),
        &Overrides::default(),
    )
}

#[test]
fn golden_argonne_sweep_with_the_unmodelled_runs_skipped() {
    let imported = import_skipping_bad(
        Format::ArgonneBench,
        "sweep.csv",
        SWEEP,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    let rows = &imported.rows;
    assert_eq!(rows.len(), 3, "{rows:?}");
    let vllm = &rows[0];
    assert_eq!(
        (vllm.gpu.as_str(), vllm.tp, vllm.pp, vllm.engine.as_str()),
        ("h100-sxm", Some(2), Some(1), "vllm")
    );
    assert_eq!(vllm.condition, Condition::StaticBatch { batch_size: 16 });
    assert_eq!(
        (vllm.metric, vllm.value),
        (Metric::E2eS, Observed::Value(1.5))
    );
    assert_eq!(
        (
            rows[1].gpu.as_str(),
            rows[1].engine.as_str(),
            rows[1].isl,
            rows[1].osl
        ),
        ("mi250", "vllm-0.6.1", 256, 256)
    );
    // llama.cpp: one sequence, layers split over the GPUs.
    let llama = &rows[2];
    assert_eq!((llama.tp, llama.pp), (Some(1), Some(4)));
    assert_eq!(llama.condition, Condition::StaticBatch { batch_size: 1 });
    assert_eq!(llama.gpu.as_str(), "a100-sxm-40gb");
    let reasons: Vec<String> = imported.skipped.iter().map(|e| e.to_string()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("sweep.csv:5:6") && reasons[0].contains("n_batch=16"));
    assert!(reasons[1].contains("sweep.csv:6:1") && reasons[1].contains("--bf16"));
}

#[test]
fn argonne_quantisation_cell_with_its_unquoted_comma() {
    let text = "Hardware,Num of Hardware,Framework,Model,Input Output Length,Batch Size,kv_cache_dtype,latency,throughput
Nvidia H100 GPU,1,vLLM,meta-llama/Meta-Llama-3-8B,128,1,Weight = fp8, KV Cache = fp8,0.77,332.4
Nvidia H100 GPU,1,vLLM,meta-llama/Meta-Llama-3-8B,128,1,\"Weight = fp16, KV Cache = fp8\",0.8,320
";
    let imported = import_skipping_bad(
        Format::ArgonneBench,
        "q.csv",
        text,
        &catalog(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(imported.rows.len(), 1);
    assert_eq!(imported.rows[0].precision, Some(Precision::Fp8));
    let why = imported.skipped[0].to_string();
    assert!(
        why.contains("q.csv:3:7") && why.contains("KV cache"),
        "{why}"
    );
}

#[test]
fn argonne_first_token_table_gives_ttft_rows() {
    let text = "Hardware,Num of Hardware,Framework,Model,Input Length,Output Length,Batch Size,TTFT Latency,end_latency 

Nvidia H100 GPU,1,vLLM,mistralai/Mistral-7B-v0.1,1024,1,16,0.425,11.29
Nvidia GH200 GPU,1,TensorRT-LLM,meta-llama/Llama-2-7b-hf,1024,1,16,0.328
";
    let rows = argonne(text).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.metric == Metric::TtftS && r.osl == 1));
    assert_eq!(rows[1].engine.as_str(), "trtllm");
}

#[test]
fn argonne_malformed_copies_are_located() {
    let (line, column, message) = located(argonne("Hardware,Model\nx,y\n"));
    assert_eq!((line, column), (1, 1));
    assert!(
        message.contains("not an LLM-Inference-Bench table"),
        "{message}"
    );
    let truncated =
        SWEEP.lines().take(2).collect::<Vec<_>>().join("\n") + "\nNvidia H100 GPU,2,vLLM\n";
    let (line, column, message) = located(argonne(&truncated));
    assert_eq!((line, column), (3, 4));
    assert!(message.contains("expected 8 fields, found 3"), "{message}");
    let bad = SWEEP.replace("1.5,2730.6", "fast,2730.6");
    let (line, column, message) = located(argonne(&bad));
    assert_eq!((line, column), (2, 7));
    assert!(message.starts_with("Latency:"), "{message}");
}

const DOC: &str = "**All data in the table below was generated using version 0.17 and presents token throughput in tokens/second.**

| Throughput (tokens / sec) | | GPU | H200 141GB HBM3 | A100-SXM4-80GB |
|:--|:--|:--|:--|:--|
| | Precision | | FP8 | FP16 |
| Model | Tensor Model Parallel Size | Runtime Input/Output Lengths | | |
| LLaMA v3.1 8B | 1 | 128, 128 | 29526.04 | 6627.27 |
| | | 2048, 128 | 3794.14 | |

## Online Serving Measurements

**All data in the table below was generated using version 0.14.0, with 500 requests and BF16 precision.**

| **Model** | **GPU** | **TP** | **Input Length** | **Output Length** | **QPS** | **Tput(req/s)** | **Mean TTFT(ms)** | **Mean ITL(ms)** | **Total Token Tput (tok/s)** | **Output Tput (tok/s)** |
|LLaMA 3.1 8B|H100 80GB HBM3|1|467|256|2|2|62|21|1406|498||
||||||INF|16|9123|85|11593|4103|
";

const DOC_V10: &str = "#### Llama 3.3 70B

| Sequence Length (ISL/OSL) | B200<br/>TP1 (FP4) | H100<br/>TP2 (FP8) |
|---|---|---|
| 128/128 | 11,147 | 6,378 |
";

fn doc(text: &str, engine: Option<&str>) -> Result<Vec<BenchRow>, DataError> {
    let flags = Overrides {
        engine: engine.map(str::to_string),
        ..Overrides::default()
    };
    import(Format::TrtllmPerfDoc, "perf.md", text, &catalog(), &flags)
}

#[test]
fn golden_perf_doc_tables() {
    let rows = doc(DOC, None).unwrap();
    // 3 max-throughput cells, 4 metrics at QPS 2, 2 throughputs at QPS INF.
    assert_eq!(rows.len(), 9, "{rows:?}");
    assert_eq!(
        (
            rows[0].gpu.as_str(),
            rows[0].precision,
            rows[0].engine.as_str()
        ),
        ("h200-sxm", Some(Precision::Fp8), "trtllm-0.17")
    );
    assert_eq!(rows[0].condition, Condition::Saturated);
    assert_eq!(rows[1].precision, Some(Precision::Fp16));
    let online = &rows[3..7];
    assert!(
        online
            .iter()
            .all(|r| r.condition == Condition::ArrivalRate { rps: 2.0 })
    );
    assert!(
        online
            .iter()
            .all(|r| r.engine.as_str() == "trtllm-0.14" && r.precision == Some(Precision::Bf16))
    );
    let ttft = online.iter().find(|r| r.metric == Metric::TtftS).unwrap();
    assert!(matches!(ttft.value, Observed::Value(v) if (v - 0.062).abs() < 1e-12));
    let saturated = &rows[7..];
    assert!(
        saturated
            .iter()
            .all(|r| r.condition == Condition::Saturated)
    );
    assert!(
        saturated
            .iter()
            .all(|r| matches!(r.metric, Metric::ReqPerS | Metric::OutputTokS))
    );
}

#[test]
fn perf_doc_v10_table_needs_the_engine_flag() {
    let (line, _, message) = located(doc(DOC_V10, None));
    assert_eq!(line, 5);
    assert!(message.contains("pass --engine"), "{message}");
    let rows = doc(DOC_V10, Some("trtllm-1.0")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1].tp, rows[1].gpu.as_str()), (Some(2), "h100-sxm"));
    assert!(matches!(rows[0].value, Observed::Value(v) if (v - 11147.0).abs() < 1e-9));
    assert_eq!(rows[0].precision, Some(Precision::Fp4));
}

#[test]
fn perf_doc_malformed_copies_are_located() {
    let (line, column, message) = located(doc("# nothing here\n", None));
    assert_eq!((line, column), (1, 1));
    assert!(message.contains("no perf-overview table"), "{message}");
    let bad = DOC.replace("29526.04", "lots");
    let (line, column, message) = located(doc(&bad, None));
    assert_eq!((line, column), (7, 4));
    assert!(message.contains("`lots`"), "{message}");
    let bad = DOC_V10.replace("TP1 (FP4)", "TP1");
    let (line, column, message) = located(doc(&bad, Some("trtllm-1.0")));
    assert_eq!((line, column), (3, 2));
    assert!(message.contains("GPU<br/>TPn"), "{message}");
}
