//! The bias table: the median predicted/measured ratio of evaluated rows grouped along the
//! dimensions where a systematic error hides when it is averaged away (TP degree, weight
//! precision, concurrency, static batch size, GPU architecture, engine family), each
//! group split by metric — a latency predicted too low and a throughput predicted too high
//! are the same error with opposite ratios, and a median over both hides it — and which
//! groups of enough rows fall outside a tolerance band. Owns the grouping and the
//! medians; rendering belongs to `report`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::RowEvaluation;
use crate::scenario::{Condition, Metric};
use crate::stats::median;

/// The band a group's median ratio should fall in (the public-data issue's bar).
pub const BAND: (f64, f64) = (0.85, 1.18);

/// Groups smaller than this are listed but not judged against the band.
pub const MIN_ROWS: usize = 100;

/// One group of rows: the rows of one metric in one group of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BiasGroup {
    /// The dimension (`all` for every row, `tp`, `precision`, `concurrency`, `batch`,
    /// `architecture`, `engine`).
    pub dimension: &'static str,
    /// The group's value (`tp 8`, `batch 17–64`, …; `every row` in `all`).
    pub group: String,
    /// The metric of its rows.
    pub metric: Metric,
    /// Rows with a numeric prediction and measurement.
    pub rows: usize,
    /// Median predicted / measured.
    pub median_ratio: f64,
}

impl BiasGroup {
    /// Whether the group has enough rows and its median lies outside [`BAND`].
    pub fn out_of_band(&self) -> bool {
        self.rows >= MIN_ROWS && !(BAND.0..=BAND.1).contains(&self.median_ratio)
    }
}

/// The bucket `value` falls in: its position (for ordering) and label.
fn bucket(value: f64, edges: &[(f64, &'static str)]) -> (u32, String) {
    let position = edges
        .iter()
        .position(|(upper, _)| value <= *upper)
        .unwrap_or(edges.len() - 1);
    (position as u32, edges[position].1.to_string())
}

const CONCURRENCY: [(f64, &str); 5] = [
    (2.0, "1–2"),
    (10.0, "3–10"),
    (50.0, "11–50"),
    (100.0, "51–100"),
    (f64::INFINITY, "over 100"),
];

const BATCH: [(f64, &str); 6] = [
    (1.0, "1"),
    (16.0, "2–16"),
    (64.0, "17–64"),
    (256.0, "65–256"),
    (1024.0, "257–1024"),
    (f64::INFINITY, "over 1024"),
];

/// The groups `r` belongs to, as (dimension, position within it, group): numeric groups
/// in numeric order, the rest by name.
fn groups_of(r: &RowEvaluation, catalog: &Catalog) -> Vec<(&'static str, u32, String)> {
    let row = &r.row;
    let mut out = vec![("all", 0, "every row".to_string())];
    if let Some(tp) = row.tp {
        out.push(("tp", tp, format!("tp {tp}")));
    }
    if let Some(p) = row.precision {
        out.push(("precision", 0, p.to_string()));
    }
    match row.condition {
        Condition::Concurrency { clients } => {
            let (position, label) = bucket(clients, &CONCURRENCY);
            out.push(("concurrency", position, label));
        }
        Condition::StaticBatch { batch_size } => {
            let (position, label) = bucket(f64::from(batch_size), &BATCH);
            out.push(("batch", position, label));
        }
        _ => {}
    }
    if let Ok(gpu) = catalog.gpu(&row.gpu) {
        out.push(("architecture", 0, gpu.architecture.clone()));
    }
    let engine = Engine::label_of(&row.engine);
    out.push(("engine", 0, engine.to_string()));
    out
}

/// The bias table of `rows`: every group and metric with at least one numeric ratio, by
/// dimension, group, then metric.
pub fn bias_table(rows: &[RowEvaluation], catalog: &Catalog) -> Vec<BiasGroup> {
    let mut ratios: BTreeMap<(&'static str, u32, String, Metric), Vec<f64>> = BTreeMap::new();
    for r in rows {
        let Some(ratio) = r.ratio.filter(|x| x.is_finite() && *x > 0.0) else {
            continue;
        };
        for (dimension, position, group) in groups_of(r, catalog) {
            let key = (dimension, position, group, r.row.metric);
            ratios.entry(key).or_default().push(ratio);
        }
    }
    ratios
        .into_iter()
        .filter_map(|((dimension, _, group, metric), values)| {
            Some(BiasGroup {
                dimension,
                group,
                metric,
                rows: values.len(),
                median_ratio: median(&values)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{BenchRow, Metric, Observed, Origin};
    use crate::precision::Precision;
    use crate::scenario::Stat;

    fn evaluated(tp: u32, batch: u32, ratio: f64) -> RowEvaluation {
        of_metric(Metric::E2eS, tp, batch, ratio)
    }

    fn of_metric(metric: Metric, tp: u32, batch: u32, ratio: f64) -> RowEvaluation {
        RowEvaluation {
            row: BenchRow {
                source: "t".to_string().into(),
                model: "llama-3.1-8b".to_string().into(),
                gpu: "h100-sxm".to_string().into(),
                tp: Some(tp),
                pp: Some(1),
                precision: Some(Precision::Fp8),
                engine: "vllm-0.6.1".to_string().into(),
                isl: 128,
                osl: 128,
                condition: Condition::StaticBatch { batch_size: batch },
                metric,
                stat: Stat::Mean,
                value: Observed::Value(1.0),
                note: String::new().into(),
                synthetic_weights: false,
                origin: Origin {
                    file: "t.csv".to_string().into(),
                    line: 2,
                },
            },
            predicted: Some(ratio),
            infeasible_reason: None,
            ratio: Some(ratio),
        }
    }

    #[test]
    fn a_biased_dimension_shows_where_the_average_hides_it() {
        let catalog = Catalog::embedded().unwrap();
        // TP 8 runs 30 % fast, TP 1 runs 30 % slow: the median over all is right.
        let rows: Vec<RowEvaluation> = (0..MIN_ROWS)
            .flat_map(|_| [evaluated(1, 32, 1.3), evaluated(8, 32, 0.7)])
            .collect();
        let table = bias_table(&rows, &catalog);
        let find = |dimension: &str, group: &str| find_in(&table, dimension, group, Metric::E2eS);
        assert!((find("tp", "tp 1").median_ratio - 1.3).abs() < 1e-12);
        assert!(find("tp", "tp 8").out_of_band());
        assert_eq!(find("batch", "17–64").rows, 2 * MIN_ROWS);
        assert_eq!(find("engine", "vllm").rows, 2 * MIN_ROWS);
        assert_eq!(find("architecture", "hopper").rows, 2 * MIN_ROWS);
        let all = find("all", "every row");
        assert!((all.median_ratio - 1.0).abs() < 1e-12 && !all.out_of_band());
    }

    fn find_in(table: &[BiasGroup], dimension: &str, group: &str, metric: Metric) -> BiasGroup {
        table
            .iter()
            .find(|g| g.dimension == dimension && g.group == group && g.metric == metric)
            .unwrap()
            .clone()
    }

    #[test]
    fn a_latency_too_low_and_a_throughput_too_high_do_not_cancel() {
        let catalog = Catalog::embedded().unwrap();
        // TP 8 is predicted 30 % too fast: its latency 0.7x, its throughput 1.3x.
        let rows: Vec<RowEvaluation> = (0..MIN_ROWS)
            .flat_map(|_| {
                [
                    of_metric(Metric::ItlS, 8, 32, 0.7),
                    of_metric(Metric::OutputTokS, 8, 32, 1.3),
                ]
            })
            .collect();
        let table = bias_table(&rows, &catalog);
        assert!(find_in(&table, "tp", "tp 8", Metric::ItlS).out_of_band());
        assert!(find_in(&table, "tp", "tp 8", Metric::OutputTokS).out_of_band());
        assert!(table.iter().all(|g| g.rows == MIN_ROWS));
    }

    #[test]
    fn small_groups_are_not_judged() {
        let group = BiasGroup {
            dimension: "tp",
            group: "tp 2".into(),
            metric: Metric::ItlS,
            rows: MIN_ROWS - 1,
            median_ratio: 3.0,
        };
        assert!(!group.out_of_band());
    }
}
