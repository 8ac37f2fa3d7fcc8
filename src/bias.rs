//! The bias table: the median predicted/measured ratio of evaluated rows grouped along the
//! dimensions where a systematic error hides when it is averaged away (TP degree, weight
//! precision, concurrency, static batch size, GPU architecture, engine family, metric),
//! and which groups of enough rows fall outside a tolerance band. Owns the grouping and
//! the medians; rendering belongs to `report`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::RowEvaluation;
use crate::scenario::Condition;
use crate::stats::median;

/// The band a group's median ratio should fall in (the public-data issue's bar).
pub const BAND: (f64, f64) = (0.85, 1.18);

/// Groups smaller than this are listed but not judged against the band.
pub const MIN_ROWS: usize = 100;

/// One group of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BiasGroup {
    /// The dimension (`tp`, `precision`, `concurrency`, `batch`, `architecture`,
    /// `engine`, `metric`).
    pub dimension: &'static str,
    /// The group's value (`tp 8`, `batch 17–64`, …).
    pub group: String,
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
    let mut out = vec![("metric", 0, row.metric.to_string())];
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

/// The bias table of `rows`: every group with at least one numeric ratio, by dimension
/// then group.
pub fn bias_table(rows: &[RowEvaluation], catalog: &Catalog) -> Vec<BiasGroup> {
    let mut ratios: BTreeMap<(&'static str, u32, String), Vec<f64>> = BTreeMap::new();
    for r in rows {
        let Some(ratio) = r.ratio.filter(|x| x.is_finite() && *x > 0.0) else {
            continue;
        };
        for key in groups_of(r, catalog) {
            ratios.entry(key).or_default().push(ratio);
        }
    }
    ratios
        .into_iter()
        .filter_map(|((dimension, _, group), values)| {
            Some(BiasGroup {
                dimension,
                group,
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
                metric: Metric::E2eS,
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
        let find = |dimension: &str, group: &str| {
            table
                .iter()
                .find(|g| g.dimension == dimension && g.group == group)
                .unwrap()
                .clone()
        };
        assert!((find("tp", "tp 1").median_ratio - 1.3).abs() < 1e-12);
        assert!(find("tp", "tp 8").out_of_band());
        assert_eq!(find("batch", "17–64").rows, 2 * MIN_ROWS);
        assert_eq!(find("engine", "vllm").rows, 2 * MIN_ROWS);
        assert_eq!(find("architecture", "hopper").rows, 2 * MIN_ROWS);
        let all = find("metric", "e2e_s");
        assert!((all.median_ratio - 1.0).abs() < 1e-12 && !all.out_of_band());
    }

    #[test]
    fn small_groups_are_not_judged() {
        let group = BiasGroup {
            dimension: "tp",
            group: "tp 2".into(),
            rows: MIN_ROWS - 1,
            median_ratio: 3.0,
        };
        assert!(!group.out_of_band());
    }
}
