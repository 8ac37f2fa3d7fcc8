use super::*;
use crate::catalog::Catalog;

const HEADER: &str = "source,model,gpu,tp,pp,precision,engine,isl,osl,batch_size,concurrency,ttft_budget_s,target_rps,metric,stat,value,note";

fn load(body: &str) -> Result<Vec<BenchRow>, DataError> {
    let catalog = Catalog::embedded().unwrap();
    load_csv("t.csv", &format!("{HEADER}\n{body}\n"), &catalog)
}

fn error_at(body: &str) -> (u64, usize, String) {
    match load(body) {
        Err(DataError::At { at, message }) => (at.line, at.column, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn the_embedded_chart_loads() {
    let catalog = Catalog::embedded().unwrap();
    let (name, text) = EMBEDDED_FILES[0];
    let rows = load_csv(name, text, &catalog).unwrap();
    assert_eq!(rows.len(), 32);
    assert_eq!(
        rows.iter()
            .filter(|r| r.value == Observed::NotAchievable)
            .count(),
        10
    );
    assert!(rows.iter().all(|r| r.isl == 5000 && r.osl == 500));
    assert_eq!(
        rows[0].origin.line, 7,
        "comment lines count in line numbers"
    );
}

#[test]
fn embedded_files_are_found_by_path_or_name() {
    assert!(embedded_file("data/benchmarks/nim-sizing-rag-5000-500.csv").is_some());
    assert!(embedded_file("nim-sizing-rag-5000-500.csv").is_some());
    assert!(embedded_file("other.csv").is_none());
}

#[test]
fn a_valid_row_parses_with_its_condition() {
    let rows =
        load("me,llama-3.1-8b,h100-sxm,1,,fp8,trtllm,128,128,,8,,,ttft_s,p90,0.05,").unwrap();
    assert_eq!(
        rows[0].condition,
        crate::scenario::Condition::Concurrency { clients: 8.0 }
    );
    assert_eq!(rows[0].stat, crate::scenario::Stat::P90);
    assert_eq!(rows[0].precision, Some(crate::precision::Precision::Fp8));
}

#[test]
fn wrong_column_count_names_the_column() {
    let (line, column, message) = error_at("me,llama-3.1-8b,h100-sxm");
    assert_eq!((line, column), (2, 4));
    assert!(message.contains("expected 17 fields, found 3"), "{message}");
}

#[test]
fn non_numeric_value_is_located() {
    let (line, column, message) =
        error_at("me,llama-3.1-8b,h100-sxm,,,,,5000,500,,,,,output_tok_s,,fast,");
    assert_eq!((line, column), (2, 16));
    assert!(message.contains("expected a positive number"), "{message}");
}

#[test]
fn unknown_metric_lists_the_valid_ones() {
    let (_, column, message) = error_at("me,llama-3.1-8b,h100-sxm,,,,,5000,500,,,,,tokens,,1,");
    assert_eq!(column, 14);
    assert!(message.contains("req_per_s_per_gpu"), "{message}");
}

#[test]
fn unknown_gpu_suggests_slugs() {
    let (_, column, message) =
        error_at("me,llama-3.1-8b,H100 SXM9,,,,,5000,500,,,,,output_tok_s,,1,");
    assert_eq!(column, 3);
    assert!(message.contains("h100-sxm"), "{message}");
}

#[test]
fn negative_isl_is_refused() {
    let (_, column, message) = error_at("me,llama-3.1-8b,h100-sxm,,,,,-5,500,,,,,output_tok_s,,1,");
    assert_eq!(column, 8);
    assert!(message.contains("positive integer"), "{message}");
}

#[test]
fn two_conditions_are_refused() {
    let (_, column, message) =
        error_at("me,llama-3.1-8b,h100-sxm,,,,,5000,500,4,8,,,output_tok_s,,1,");
    assert_eq!(column, 11);
    assert!(message.contains("at most one condition"), "{message}");
}

#[test]
fn gpus_for_target_needs_a_budget() {
    let (_, column, message) =
        error_at("me,llama-3.1-8b,h100-sxm,,,,,5000,500,4,,,10,gpus_for_target,,1,");
    assert_eq!(column, 12);
    assert!(message.contains("needs ttft_budget_s"), "{message}");
}

#[test]
fn target_rps_beside_a_budget_for_another_metric_is_refused() {
    let (_, column, _) =
        error_at("me,llama-3.1-8b,h100-sxm,,,,,5000,500,,,1,10,req_per_s_per_gpu,,1,");
    assert_eq!(column, 13);
}

#[test]
fn target_rps_alone_is_an_open_loop_arrival_rate_and_round_trips() {
    let catalog = Catalog::embedded().unwrap();
    let text =
        format!("{HEADER}\nme,llama-3.1-8b,h100-sxm,1,1,fp16,,500,200,,,,4,ttft_s,mean,0.06,\n");
    let rows = load_csv("t.csv", &text, &catalog).unwrap();
    assert_eq!(rows[0].condition, Condition::ArrivalRate { rps: 4.0 });
    let again = load_csv("t.csv", &crate::bench::import::to_csv(&rows), &catalog).unwrap();
    assert_eq!(again[0].condition, rows[0].condition);
}

#[test]
fn missing_column_is_named() {
    let catalog = Catalog::embedded().unwrap();
    let header = HEADER.replace(",note", "");
    let err = load_csv("t.csv", &format!("{header}\n"), &catalog).unwrap_err();
    assert!(err.to_string().contains("missing column `note`"), "{err}");
}

#[test]
fn the_weights_column_is_optional_and_says_synthetic_or_real() {
    let catalog = Catalog::embedded().unwrap();
    let row = "me,mixtral-8x7b,h100-sxm,2,1,fp16,trtllm,128,128,8,,,,itl_s,mean,0.007,";
    let with = |cell: &str| {
        load_csv(
            "t.csv",
            &format!("{HEADER},weights\n{row},{cell}\n"),
            &catalog,
        )
    };
    assert!(with("synthetic").unwrap()[0].synthetic_weights);
    assert!(!with("real").unwrap()[0].synthetic_weights);
    assert!(!with("").unwrap()[0].synthetic_weights);
    assert!(!load(row).unwrap()[0].synthetic_weights, "absent: real");
    match with("fake") {
        Err(DataError::At { at, message }) => {
            assert_eq!((at.line, at.column), (2, 18));
            assert!(
                message.contains("weights: expected `synthetic`"),
                "{message}"
            );
        }
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn an_unknown_column_names_the_optional_ones_too() {
    let (line, column, message) = {
        let catalog = Catalog::embedded().unwrap();
        match load_csv("t.csv", &format!("{HEADER},wieghts\n"), &catalog) {
            Err(DataError::At { at, message }) => (at.line, at.column, message),
            other => panic!("expected a located error, got {other:?}"),
        }
    };
    assert_eq!((line, column), (1, 18));
    assert!(message.contains("(optional: weights)"), "{message}");
}

#[test]
fn header_only_is_empty() {
    let catalog = Catalog::embedded().unwrap();
    let err = load_csv("t.csv", &format!("{HEADER}\n"), &catalog).unwrap_err();
    assert_eq!(
        err,
        DataError::Empty {
            file: "t.csv".into()
        }
    );
}

#[test]
fn the_chart_a10g_row_is_flagged_and_nothing_else() {
    let catalog = Catalog::embedded().unwrap();
    let (name, text) = EMBEDDED_FILES[0];
    let findings = check_rows(&load_csv(name, text, &catalog).unwrap());
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].message.contains("0.282"),
        "{}",
        findings[0].message
    );
}

#[test]
fn feasibility_disagreement_is_flagged() {
    let rows = load(
        "c,llama-3.1-8b,a10g,,,,,5000,500,,,3,,req_per_s_per_gpu,,0.3,\n\
         c,llama-3.1-8b,a10g,,,,,5000,500,,,3,10,gpus_for_target,,NA,",
    )
    .unwrap();
    assert!(check_rows(&rows)[0].message.contains("feasibility"));
}

#[test]
fn percentiles_out_of_order_are_flagged() {
    let rows = load(
        "c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,ttft_s,p50,0.2,\n\
         c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,ttft_s,p90,0.1,",
    )
    .unwrap();
    assert!(check_rows(&rows)[0].message.contains("below p50"));
}

#[test]
fn e2e_below_ttft_is_flagged() {
    let rows = load(
        "c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,ttft_s,,0.2,\n\
         c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,e2e_s,,0.1,",
    )
    .unwrap();
    assert!(check_rows(&rows)[0].message.contains("below ttft_s"));
}

#[test]
fn duplicates_are_flagged() {
    let rows = load(
        "c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,ttft_s,,0.2,\n\
         c,llama-3-8b,h100-sxm,1,,fp8,,200,50,,10,,,ttft_s,,0.3,",
    )
    .unwrap();
    assert!(check_rows(&rows)[0].message.contains("duplicate"));
}
