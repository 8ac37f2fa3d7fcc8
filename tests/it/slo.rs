//! Sizing for service-level objectives and a budget: TTFT and ITL budgets at a percentile
//! checked together with the binding one named per row, prices ranking by cost, `--top`,
//! `--arrivals`, and a price file's mistakes refused in one line.

use crate::{assert_one_line_bad_input, infercal, scratch_dir, stdout};

/// The question of the README's walk-through: 50 req/s within p99 TTFT 1 s and p99 ITL
/// 50 ms, priced with the shipped example.
const SLO: [&str; 18] = [
    "size",
    "--model",
    "llama-3.1-8b",
    "--isl",
    "1000",
    "--osl",
    "250",
    "--ttft-budget",
    "1",
    "--itl-budget",
    "0.05",
    "--stat",
    "p99",
    "--target-rps",
    "50",
    "--prices",
    "data/prices-example.toml",
    "--all",
];

fn run_json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = infercal(&all);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    serde_json::from_str(&stdout(&run)).unwrap()
}

#[test]
fn both_budgets_hold_on_every_row_and_the_binding_one_is_named() {
    let doc = run_json(&SLO);
    let rows = doc["deployable"].as_array().unwrap();
    assert!(rows.len() > 10);
    let mut bindings = std::collections::BTreeSet::new();
    // The engine's largest running batch: a deployment running it binds on capacity.
    let cap = rows
        .iter()
        .map(|r| r["running_batch"].as_f64().unwrap())
        .fold(0.0, f64::max);
    for row in rows {
        let (ttft, itl) = (
            row["ttft_s"].as_f64().unwrap(),
            row["itl_s"].as_f64().unwrap(),
        );
        assert!(ttft <= 1.0 + 1e-9 && itl <= 0.05 + 1e-9, "{row}");
        let binding = row["binding"].as_str().unwrap();
        let at_edge = match binding {
            "ttft" => ttft,
            "itl" => itl / 0.05,
            "capacity" => row["running_batch"].as_f64().unwrap() / cap,
            other => panic!("binding {other}"),
        };
        assert!(
            at_edge > 0.99,
            "the binding budget is met with no slack: {row}"
        );
        bindings.insert(binding.to_string());
    }
    assert!(
        bindings.contains("ttft") && bindings.contains("itl"),
        "some rows bound by each budget: {bindings:?}"
    );
}

#[test]
fn prices_rank_by_cost_with_unpriced_gpus_last() {
    let doc = run_json(&SLO);
    assert_eq!(doc["ranked_by"], "cost");
    let rows = doc["deployable"].as_array().unwrap();
    let costs: Vec<Option<f64>> = rows.iter().map(|r| r["usd_per_hour"].as_f64()).collect();
    let priced = costs.iter().take_while(|c| c.is_some()).count();
    assert!(
        priced > 5 && costs[priced..].iter().all(Option::is_none),
        "{costs:?}"
    );
    let priced: Vec<f64> = costs.iter().flatten().copied().collect();
    assert!(priced.windows(2).all(|w| w[0] <= w[1]), "{priced:?}");
    for row in &rows[..priced.len()] {
        let per_hour = row["usd_per_hour"].as_f64().unwrap();
        let per_m = row["usd_per_million_tokens"].as_f64().unwrap();
        // 50 req/s × 250 tokens × 3,600 s = 45 M tokens an hour.
        assert!((per_m * 45.0 - per_hour).abs() < 1e-9 * per_hour, "{row}");
    }
}

#[test]
fn top_keeps_the_first_rows_and_csv_carries_the_new_columns() {
    let mut args = SLO.to_vec();
    args.extend(["--top", "3", "--format", "csv"]);
    let run = infercal(&args);
    assert!(run.status.success(), "{}", crate::stderr(&run));
    let text = stdout(&run);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for column in ["binding", "usd_per_hour", "usd_per_m_tokens"] {
        assert!(lines[0].split(',').any(|c| c == column), "{column}: {text}");
    }
}

#[test]
fn poisson_arrivals_answer_a_different_question_than_closed_clients() {
    let base = [
        "size",
        "--model",
        "llama-3.1-8b",
        "--isl",
        "1000",
        "--osl",
        "250",
        "--ttft-budget",
        "1",
        "--target-rps",
        "50",
        "--gpus",
        "h100-sxm",
    ];
    let rate = |arrivals: &str| {
        let mut args = base.to_vec();
        args.extend(["--arrivals", arrivals]);
        run_json(&args)["deployable"][0]["req_per_s_per_gpu"]
            .as_f64()
            .unwrap()
    };
    let (closed, poisson) = (rate("closed"), rate("poisson"));
    assert!(
        (closed - poisson).abs() > 0.01 * closed,
        "{closed} vs {poisson}"
    );
    let default = run_json(&base)["deployable"][0]["req_per_s_per_gpu"]
        .as_f64()
        .unwrap();
    assert!(
        (default - closed).abs() < 1e-12 * closed,
        "the shipped default is closed"
    );
}

#[test]
fn predict_holds_both_budgets_too() {
    let doc = run_json(&[
        "predict",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "l40s",
        "--isl",
        "1000",
        "--osl",
        "250",
        "--ttft-budget",
        "1",
        "--itl-budget",
        "0.03",
        "--stat",
        "p99",
    ]);
    let itl = doc["itl_s"].as_f64().unwrap();
    assert!(itl <= 0.03 + 1e-9 && itl > 0.029, "{itl}");
}

#[test]
fn a_bad_price_file_is_refused_in_one_line_with_its_position() {
    let dir = scratch_dir();
    let cases = [
        (
            "[usd_per_gpu_hour]\nh100-sxn = 2.0\n",
            "prices.toml:2:",
            "h100-sxm",
        ),
        (
            "[usd_per_gpu_hour]\nl40s = -1\n",
            "prices.toml:2:",
            "above 0",
        ),
        ("usd_per_gpu_hour = 3\n", "prices.toml:1:", ""),
    ];
    for (text, at, hint) in cases {
        let path = dir.join("prices.toml");
        std::fs::write(&path, text).unwrap();
        let mut args = SLO[..15].to_vec();
        let shown = path.display().to_string();
        args.extend(["--prices", shown.as_str()]);
        let err = assert_one_line_bad_input(&infercal(&args));
        let expected_at = format!("{}:", path.display()) + &at["prices.toml:".len()..];
        assert!(
            err.contains(&expected_at) && err.contains(hint),
            "{text}: {err}"
        );
    }
}

#[test]
fn a_smaller_running_batch_cap_serves_less_per_gpu() {
    let base = [
        "size",
        "--model",
        "llama-3.1-8b",
        "--isl",
        "1000",
        "--osl",
        "250",
        "--ttft-budget",
        "5",
        "--target-rps",
        "50",
        "--gpus",
        "h100-sxm",
    ];
    let rate = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run_json(&args)["deployable"][0]["req_per_s_per_gpu"]
            .as_f64()
            .unwrap()
    };
    let (fitted, capped) = (rate(&[]), rate(&["--max-running-batch", "8"]));
    assert!(capped < 0.5 * fitted, "{capped} vs {fitted}");
}
