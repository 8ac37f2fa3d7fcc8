//! `infercal check-data`: the embedded chart, and every kind of malformed CSV.

use crate::{assert_one_line_bad_input, infercal, scratch_dir, stdout};

const HEADER: &str = "source,model,gpu,tp,pp,precision,engine,isl,osl,batch_size,concurrency,ttft_budget_s,target_rps,metric,stat,value,note";
const GOOD: &str = "me,llama-3.1-8b,h100-sxm,1,,fp8,trtllm,5000,500,,,3,,req_per_s_per_gpu,,5.4,";

fn check_file(body: &str) -> (String, std::process::Output) {
    let path = scratch_dir().join("rows.csv");
    std::fs::write(&path, format!("{HEADER}\n{GOOD}\n{body}\n")).unwrap();
    let path = path.display().to_string();
    let out = infercal(&["check-data", &path]);
    (path, out)
}

/// The error names file:line:column with the line of the bad row (line 3).
fn assert_located(body: &str, column: usize, expected: &str) {
    let (path, out) = check_file(body);
    let err = assert_one_line_bad_input(&out);
    assert!(err.contains(&format!("{path}:3:{column}:")), "{err}");
    assert!(err.contains(expected), "{err}");
}

#[test]
fn the_embedded_chart_checks_with_the_a10g_row_flagged() {
    let out = infercal(&["check-data", "data/benchmarks/nim-sizing-rag-5000-500.csv"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("32 rows (10 NA)"), "{text}");
    assert!(text.contains("10/35.45 = 0.282"), "{text}");
    assert!(text.contains("1 flagged"), "{text}");
}

#[test]
fn strict_mode_fails_on_findings() {
    let out = infercal(&["check-data", "--strict", "nim-sizing-rag-5000-500.csv"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn wrong_column_count() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1",
        5,
        "expected 17 fields, found 4",
    );
}

#[test]
fn non_numeric_value() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1,,fp8,,5000,500,,,3,,req_per_s_per_gpu,,lots,",
        16,
        "value: expected a positive number",
    );
}

#[test]
fn unknown_metric() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1,,fp8,,5000,500,,,3,,req_s,,1,",
        14,
        "unknown metric `req_s`",
    );
}

#[test]
fn unknown_gpu_lists_the_closest_slugs() {
    assert_located(
        "me,llama-3.1-8b,H100 SMX,1,,fp8,,5000,500,,,3,,req_per_s_per_gpu,,1,",
        3,
        "closest: h100-sxm",
    );
}

#[test]
fn unknown_model_lists_the_closest_slugs() {
    assert_located(
        "me,llama-3.1-9b,h100-sxm,1,,fp8,,5000,500,,,3,,req_per_s_per_gpu,,1,",
        2,
        "llama-3.1-8b",
    );
}

#[test]
fn negative_isl() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1,,fp8,,-5000,500,,,3,,req_per_s_per_gpu,,1,",
        8,
        "isl: expected a positive integer, found `-5000`",
    );
}

#[test]
fn condition_contradicting_the_metric() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1,,fp8,,5000,500,8,,,10,gpus_for_target,,2,",
        12,
        "gpus_for_target needs ttft_budget_s",
    );
}

#[test]
fn unknown_precision() {
    assert_located(
        "me,llama-3.1-8b,h100-sxm,1,,fp32,,5000,500,,,3,,req_per_s_per_gpu,,1,",
        6,
        "precision: expected",
    );
}

#[test]
fn missing_file_is_bad_input() {
    let out = infercal(&["check-data", "no/such/file.csv"]);
    let err = assert_one_line_bad_input(&out);
    assert!(err.contains("no/such/file.csv"), "{err}");
}

#[test]
fn import_converts_the_real_tables() {
    let dli = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/trtllm-0.9.0-static-batch.csv"
    );
    let out = infercal(&["import", "trtllm-bench-dli", dli]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out).lines().count(), 1 + 3 * 3449);
    let json = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/genai-perf/llama3-8b-concurrency10.json"
    );
    let target = scratch_dir().join("gp.csv");
    let t = target.display().to_string();
    let out = infercal(&[
        "import",
        "genai-perf",
        json,
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
        "-o",
        &t,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = infercal(&["check-data", &t]);
    assert!(
        check.status.success() && stdout(&check).contains("17 rows"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn vllm_results_import_to_rows_check_data_accepts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vllm-bench");
    let target = scratch_dir().join("vllm.csv");
    let t = target.display().to_string();
    let closed = format!("{dir}/vllm-llama-3.1-8b-concurrency16.json");
    let appended = format!("{dir}/vllm-llama-3.1-8b-append.json");
    let out = infercal(&[
        "import",
        "vllm-bench",
        &closed,
        &appended,
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
        "-o",
        &t,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = infercal(&["check-data", &t]);
    assert!(
        check.status.success() && stdout(&check).contains("24 rows"),
        "{}",
        stdout(&check)
    );
    let rate = infercal(&[
        "import",
        "vllm-bench",
        &format!("{dir}/vllm-llama-3.1-8b-rate4.json"),
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--precision",
        "fp8",
    ]);
    let text = stdout(&rate);
    // An open-loop run: its rate is in target_rps, with no other condition.
    assert!(
        rate.status.success() && text.lines().skip(1).all(|l| l.contains(",,,,4,")),
        "{text}"
    );
}

#[test]
fn sglang_results_import_to_rows_check_data_accepts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sglang-bench");
    let target = scratch_dir().join("sglang.csv");
    let t = target.display().to_string();
    let closed = format!("{dir}/sglang-llama-3.1-8b-concurrency.jsonl");
    let out = infercal(&[
        "import",
        "sglang-bench",
        &closed,
        "--gpu",
        "h100-sxm",
        "--precision",
        "fp16",
        "-o",
        &t,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = infercal(&["check-data", &t]);
    assert!(
        check.status.success() && stdout(&check).contains("24 rows"),
        "{}",
        stdout(&check)
    );
    let rate = format!("{dir}/sglang-llama-3.1-8b-rate4.jsonl");
    let err = assert_one_line_bad_input(&infercal(&[
        "import",
        "sglang-bench",
        &rate,
        "--gpu",
        "h100-sxm",
        "--precision",
        "fp16",
    ]));
    assert!(
        err.contains("server_info.model_path") && err.contains("--model"),
        "{err}"
    );
}

#[test]
fn llmperf_summaries_import_to_rows_check_data_accepts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/llmperf");
    let target = scratch_dir().join("llmperf.csv");
    let t = target.display().to_string();
    let vllm = format!("{dir}/vllm-yi-1.5-34b-chat-4xa10g-c16-summary.json");
    let tgi = format!("{dir}/tgi-yi-1.5-34b-chat-4xa10g-c16-summary.json");
    let out = infercal(&[
        "import",
        "llmperf",
        &vllm,
        &tgi,
        "--gpu",
        "a10g",
        "--tp",
        "4",
        "--precision",
        "fp16",
        "-o",
        &t,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = infercal(&["check-data", &t]);
    assert!(
        check.status.success() && stdout(&check).contains("24 rows"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn import_names_the_missing_flag_and_bad_formats() {
    let json = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/genai-perf/llama3-8b-concurrency10.json"
    );
    let err = assert_one_line_bad_input(&infercal(&[
        "import",
        "genai-perf",
        json,
        "--tp",
        "1",
        "--precision",
        "fp8",
    ]));
    assert!(err.contains("--gpu is required"), "{err}");
    let err = assert_one_line_bad_input(&infercal(&["import", "tgi-benchmark", json]));
    assert!(err.contains("trtllm-bench-dli"), "{err}");
}

#[test]
fn import_reads_every_genai_perf_export_shipped_as_a_fixture() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/genai-perf");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 14, "seven concurrencies × CSV and JSON");
    for file in &files {
        let out = infercal(&[
            "import",
            "genai-perf",
            file,
            "--model",
            "llama-3-8b",
            "--gpu",
            "h100-sxm",
            "--tp",
            "1",
            "--precision",
            "fp8",
        ]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = stdout(&out);
        let concurrency = file
            .split("concurrency")
            .nth(1)
            .unwrap()
            .split('.')
            .next()
            .unwrap();
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.contains(&format!(",,{concurrency},,,"))),
            "{file}: every row at concurrency {concurrency}"
        );
        assert_eq!(
            text.lines().count(),
            1 + 17,
            "{file}: 3 latencies × 5 statistics + 2 throughputs"
        );
    }
}

#[test]
fn the_shipped_tables_are_what_the_importers_write() {
    let root = env!("CARGO_MANIFEST_DIR");
    let argonne = "data/benchmarks/sources/argonne";
    let doc = "data/benchmarks/sources/trtllm-perf-doc";
    let imports: [(&str, Vec<String>, &[&str], &str); 3] = [
        (
            "trtllm-bench-dli",
            vec!["tests/fixtures/trtllm-0.9.0-static-batch.csv".into()],
            &[],
            "data/benchmarks/trtllm-0.9.0-static-batch.csv",
        ),
        (
            "trtllm-perf-doc",
            ["perf-overview_258c7540.md", "perf-overview_00f37686.md"]
                .map(|f| format!("{doc}/{f}"))
                .to_vec(),
            &["--engine", "trtllm-1.0", "--skip-bad"],
            "data/benchmarks/trtllm-perf-overview.csv",
        ),
        (
            "argonne-llm-inference-bench",
            [
                "All_results.csv",
                "TP_PP_Results.csv",
                "quant_all_results.csv",
                "all_results_TTFT_ITL.csv",
            ]
            .map(|f| format!("{argonne}/{f}"))
            .to_vec(),
            &["--skip-bad"],
            "data/benchmarks/argonne-llm-inference-bench.csv",
        ),
    ];
    for (format, originals, flags, shipped) in imports {
        let paths: Vec<String> = originals.iter().map(|o| format!("{root}/{o}")).collect();
        let mut args = vec!["import", format];
        args.extend(paths.iter().map(String::as_str));
        args.extend(flags);
        let out = infercal(&args);
        assert!(out.status.success(), "{}", crate::stderr(&out));
        let shipped_text = std::fs::read_to_string(format!("{root}/{shipped}")).unwrap();
        // The shipped file's comment lines carry its provenance; the rows are the import's.
        let rows: Vec<&str> = shipped_text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect();
        let fresh = stdout(&out);
        let fresh: Vec<&str> = fresh.lines().collect();
        assert_eq!(rows.len(), fresh.len(), "{shipped}: row count");
        for (i, (a, b)) in rows.iter().zip(&fresh).enumerate() {
            assert_eq!(a, b, "{shipped}: row {} differs from a fresh import", i + 1);
        }
    }
}
