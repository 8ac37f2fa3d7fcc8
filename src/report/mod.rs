//! Rendering: tables as Markdown, CSV and JSON strings. Reports compute summaries from
//! predictions they are handed; they never run a model, read a file or print.

pub mod calibration;
pub mod compare;
pub mod cv;
pub mod evaluation;
pub mod findings;
pub mod intervals;
pub mod plots;
pub mod prediction;
pub mod sizing;

pub use crate::format::{csv_table, exact_or_na, markdown_table, sig};
use crate::scenario::Condition;

/// A short human description of a load condition.
pub fn condition_text(c: &Condition) -> String {
    match c {
        Condition::StaticBatch { batch_size } => format!("batch {batch_size}"),
        Condition::Concurrency { clients } => format!("concurrency {clients}"),
        Condition::ArrivalRate { rps } => format!("rate {rps} req/s"),
        Condition::TtftBudget {
            budget_s,
            target_rps,
            itl_budget_s,
        } => {
            let mut text = format!("TTFT ≤ {budget_s} s");
            if let Some(itl_s) = itl_budget_s {
                text.push_str(&format!(", ITL ≤ {itl_s} s"));
            }
            if let Some(r) = target_rps {
                text.push_str(&format!(", {r} req/s"));
            }
            text
        }
        Condition::Saturated => "saturated".to_string(),
    }
}
