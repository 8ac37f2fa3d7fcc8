//! How rows are split into folds: the schemes, the chart cells (rows that differ only in
//! metric) and budget groups they leave out together, and the seeded assignment of rows
//! to folds.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::engine::Engine;
use crate::format::UnknownChoice;
use crate::scenario::Condition;

/// How rows are split into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Leave one cell out when there are at most [`LOO_MAX_CELLS`] cells, else ten folds.
    Auto,
    /// Leave one cell out (its rows of every metric together).
    Loo,
    /// K folds of cells, shuffled with the experiment's seed.
    KFold(usize),
    /// Leave one GPU out.
    Gpu,
    /// Leave one model out.
    Model,
    /// Leave one source out.
    Source,
    /// Leave one engine family out (rows of no known engine form one fold).
    Engine,
    /// Leave one TTFT budget (or other condition) out.
    Budget,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Auto => f.write_str("auto"),
            Scheme::Loo => f.write_str("loo"),
            Scheme::KFold(k) => write!(f, "kfold:{k}"),
            Scheme::Gpu => f.write_str("gpu"),
            Scheme::Model => f.write_str("model"),
            Scheme::Source => f.write_str("source"),
            Scheme::Engine => f.write_str("engine"),
            Scheme::Budget => f.write_str("budget"),
        }
    }
}

impl FromStr for Scheme {
    type Err = UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = "expected auto, loo, kfold:K (K ≥ 2), gpu, model, source, engine or budget";
        match s.trim() {
            "auto" => Ok(Scheme::Auto),
            "loo" => Ok(Scheme::Loo),
            "gpu" => Ok(Scheme::Gpu),
            "model" => Ok(Scheme::Model),
            "source" => Ok(Scheme::Source),
            "engine" => Ok(Scheme::Engine),
            "budget" => Ok(Scheme::Budget),
            other => match other.strip_prefix("kfold:").map(str::parse::<usize>) {
                Some(Ok(k)) if k >= 2 => Ok(Scheme::KFold(k)),
                _ => Err(UnknownChoice {
                    what: "scheme",
                    given: other.to_string(),
                    expected: expected.to_string(),
                }),
            },
        }
    }
}

/// Leave-one-out refits once per cell: past this many cells `auto` uses ten folds instead
/// (the 16-cell chart stays leave-one-out; 3,500 static-batch cells would take hours).
pub const LOO_MAX_CELLS: usize = 100;

impl Scheme {
    /// The scheme whose held-out residuals set a calibration's prediction intervals: one
    /// source left out at a time when the rows come from several (a user's deployment is a
    /// new source to the calibration), else five folds.
    pub fn for_intervals(rows: &[BenchRow]) -> Scheme {
        let first = rows.first().map(|r| &r.source);
        if rows.iter().any(|r| Some(&r.source) != first) {
            Scheme::Source
        } else {
            Scheme::KFold(5)
        }
    }

    /// The concrete scheme for `rows`: `auto` resolved, everything else as is.
    pub fn resolve(self, rows: &[BenchRow]) -> Scheme {
        if self != Scheme::Auto {
            return self;
        }
        let cells: HashSet<CellKey<'_>> = rows.iter().map(CellKey::of).collect();
        if cells.len() <= LOO_MAX_CELLS {
            Scheme::Loo
        } else {
            Scheme::KFold(10)
        }
    }
}

/// The cell a row belongs to: everything but the metric, statistic, value and target
/// rate. Rows of one cell (a chart cell's rate and GPU count, a run's TTFT, ITL and
/// throughput) are held out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CellKey<'r> {
    source: &'r str,
    model: &'r str,
    gpu: &'r str,
    tp: Option<u32>,
    pp: Option<u32>,
    precision: Option<crate::precision::Precision>,
    isl: u32,
    osl: u32,
    /// [`Condition::cell_key`].
    condition: (u8, u64),
}

impl<'r> CellKey<'r> {
    fn of(row: &'r BenchRow) -> CellKey<'r> {
        CellKey {
            source: &row.source,
            model: &row.model,
            gpu: &row.gpu,
            tp: row.tp,
            pp: row.pp,
            precision: row.precision,
            isl: row.isl,
            osl: row.osl,
            condition: row.condition.cell_key(),
        }
    }
}

/// A leave-one-out fold's label: the cell of `row`, without its source.
fn cell_label(row: &BenchRow) -> String {
    let condition = match row.condition {
        Condition::TtftBudget { budget_s, .. } => format!("ttft<={budget_s}"),
        other => format!("{other:?}"),
    };
    format!(
        "{} {} {:?} {:?} {:?} {} {} {condition}",
        row.model, row.gpu, row.tp, row.pp, row.precision, row.isl, row.osl
    )
}

/// Each row's group (numbered in order of first appearance) and the first row of each
/// group.
fn groups_of<'r, K: Eq + std::hash::Hash>(
    rows: &'r [BenchRow],
    key: impl Fn(&'r BenchRow) -> K,
) -> (Vec<usize>, Vec<usize>) {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut first_rows = Vec::new();
    let group_of = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            *index.entry(key(r)).or_insert_with(|| {
                first_rows.push(i);
                first_rows.len() - 1
            })
        })
        .collect();
    (group_of, first_rows)
}

/// A row's engine family, or `no engine` when the data do not name a known one.
fn engine(row: &BenchRow) -> String {
    Engine::label_of(&row.engine).to_string()
}

fn budget(row: &BenchRow) -> String {
    match row.condition {
        Condition::TtftBudget { budget_s, .. } => format!("TTFT ≤ {budget_s} s"),
        Condition::StaticBatch { .. } => "static batch".into(),
        Condition::Concurrency { .. } => "concurrency".into(),
        Condition::ArrivalRate { .. } => "arrival rate".into(),
        Condition::Saturated => "saturated".into(),
    }
}

/// Each row's fold index and each fold's label.
pub fn folds(rows: &[BenchRow], scheme: Scheme, seed: u64) -> (Vec<usize>, Vec<String>) {
    let scheme = scheme.resolve(rows);
    let (group_of, first_rows) = match scheme {
        Scheme::Auto | Scheme::Loo | Scheme::KFold(_) => groups_of(rows, CellKey::of),
        Scheme::Gpu => groups_of(rows, |r| r.gpu.clone()),
        Scheme::Model => groups_of(rows, |r| r.model.clone()),
        Scheme::Source => groups_of(rows, |r| r.source.clone()),
        Scheme::Engine => groups_of(rows, engine),
        Scheme::Budget => groups_of(rows, budget),
    };
    let label = |g: usize| -> String {
        let row = &rows[first_rows[g]];
        match scheme {
            Scheme::Gpu => row.gpu.to_string(),
            Scheme::Model => row.model.to_string(),
            Scheme::Source => row.source.to_string(),
            Scheme::Engine => engine(row),
            Scheme::Budget => budget(row),
            Scheme::Auto | Scheme::Loo | Scheme::KFold(_) => cell_label(row),
        }
    };
    let groups = first_rows.len();
    match scheme {
        Scheme::KFold(k) => {
            let mut order: Vec<usize> = (0..groups).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let mut fold_of_group = vec![0; groups];
            for (position, g) in order.into_iter().enumerate() {
                fold_of_group[g] = position % k;
            }
            let labels = (0..k.min(groups))
                .map(|f| format!("fold {}", f + 1))
                .collect();
            (group_of.iter().map(|g| fold_of_group[*g]).collect(), labels)
        }
        _ => (group_of, (0..groups).map(label).collect()),
    }
}
