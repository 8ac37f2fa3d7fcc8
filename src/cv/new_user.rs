//! The new-user emulation: what fine-tuning on a handful of one's own runs buys. For a
//! (GPU, engine) pair of the data, everything else is the base calibration's training
//! set; a few of the pair's rows (drawn with a seed) play the user's runs and the rest are
//! held out, several draws pooled. Three answers are compared on the held-out rows: the
//! base alone, the base fine-tuned on the runs, and the same fine-tune experiment fitted
//! from scratch on the runs alone. It owns choosing the pairs, the draws and the
//! comparison; the fits are [`crate::fit`]'s.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::{RowEvaluation, evaluate_rows, summarize};
use crate::experiment::ValidExperiment;
use crate::fit::finetune::{self, Prior};
use crate::fit::space::Start;
use crate::fit::{Calibration, FitError, Options, calibrate, calibrate_owned, fine_tune};
use crate::perf::PerfModelKind;
use crate::perf::registry::{Param, ParamSet, Tie};

/// A pair needs this many rows to give a handful of runs and a held-out rest worth a median.
pub const MIN_PAIR_ROWS: usize = 50;

/// One held-out pair's comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairResult {
    /// The GPU.
    pub gpu: String,
    /// The engine family.
    pub engine: Engine,
    /// The runs fine-tuned on.
    pub runs: usize,
    /// How many draws of runs the medians pool.
    pub draws: usize,
    /// In how many draws, alone, the fine-tune beat both.
    pub draws_won: usize,
    /// The pair's other rows, predicted by each answer in each draw.
    pub held_out: usize,
    /// Median APE (%) of the base calibration alone, over every draw's held-out rows.
    pub base_ape: Option<f64>,
    /// Median APE (%) of the base fine-tuned on the runs.
    pub tuned_ape: Option<f64>,
    /// Median APE (%) of the fine-tune experiment fitted on the runs alone.
    pub scratch_ape: Option<f64>,
}

impl PairResult {
    /// Whether the fine-tune beat both the base and the from-scratch fit.
    pub fn tuned_wins(&self) -> bool {
        wins(self.tuned_ape, self.base_ape, self.scratch_ape)
    }
}

/// Whether the fine-tune's error `tuned` is below both the base's and from scratch.
fn wins(tuned: Option<f64>, base: Option<f64>, scratch: Option<f64>) -> bool {
    match (tuned, base, scratch) {
        (Some(t), Some(b), Some(s)) => t < b && t < s,
        _ => false,
    }
}

/// The pairs to emulate: the largest (GPU, engine family) pair of each family with at
/// least [`MIN_PAIR_ROWS`] rows whose GPU keeps as many rows of other engines (so the base
/// still fits the GPU), largest first.
pub fn pairs(rows: &[BenchRow]) -> Vec<(String, Engine)> {
    let mut counts: std::collections::BTreeMap<(String, Engine), usize> = Default::default();
    let mut per_gpu: std::collections::BTreeMap<String, usize> = Default::default();
    for r in rows {
        *per_gpu.entry(r.gpu.to_string()).or_default() += 1;
        if let Some(e) = Engine::family_of(&r.engine) {
            *counts.entry((r.gpu.to_string(), e)).or_default() += 1;
        }
    }
    let mut eligible: Vec<((String, Engine), usize)> = counts
        .into_iter()
        .filter(|((gpu, _), n)| *n >= MIN_PAIR_ROWS && per_gpu[gpu] - n >= MIN_PAIR_ROWS)
        .collect();
    eligible.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(String, Engine)> = Vec::new();
    for ((gpu, engine), _) in eligible {
        if !chosen.iter().any(|(_, e)| *e == engine) {
            chosen.push((gpu, engine));
        }
    }
    chosen
}

/// Emulates a new user of `(gpu, engine)` with `runs` runs, `draws` times: the base
/// fitted by `experiment` on every other row (once: it never sees the pair), then for
/// each draw (seeds S, S+1, …) `runs` of the pair's rows as the user's, and the three
/// answers on the pair's other rows, pooled over the draws. One draw of five runs is
/// noisy: on the shipped data single draws disagree on the winner of a pair.
pub fn emulate(
    experiment: &ValidExperiment,
    rows: &[BenchRow],
    catalog: &Catalog,
    options: &Options<'_>,
    (gpu, engine): (&str, Engine),
    (runs, draws): (usize, usize),
) -> Result<PairResult, FitError> {
    let in_pair =
        |r: &BenchRow| r.gpu.as_str() == gpu && Engine::family_of(&r.engine) == Some(engine);
    let (pair, rest): (Vec<BenchRow>, Vec<BenchRow>) =
        rows.iter().cloned().partition(|r| in_pair(r));
    let seed = options.seed.unwrap_or(experiment.search.seed);
    let base = calibrate_owned(experiment, rest, catalog, options)?;
    let scratch_experiment = finetune_experiment(Prior::Scratch, catalog)?;
    let mut pooled = Pooled::default();
    for draw in 0..draws as u64 {
        let (drawn, held_out) = split(&pair, runs, seed.wrapping_add(draw));
        let tuned = tune(&base.params, &drawn, catalog, options)?;
        let scratch = calibrate(&scratch_experiment, &drawn, catalog, options)?;
        let this = [&base, &tuned, &scratch].map(|c| evaluations(c, &held_out, catalog));
        let [b, t, s] = this.each_ref().map(|e| summarize(e).median_ape);
        pooled.draws_won += usize::from(wins(t, b, s));
        let [b, t, s] = this;
        pooled.base.extend(b);
        pooled.tuned.extend(t);
        pooled.scratch.extend(s);
    }
    let runs = runs.min(pair.len());
    Ok(PairResult {
        gpu: gpu.to_string(),
        engine,
        runs,
        draws,
        draws_won: pooled.draws_won,
        held_out: pair.len() - runs,
        base_ape: summarize(&pooled.base).median_ape,
        tuned_ape: summarize(&pooled.tuned).median_ape,
        scratch_ape: summarize(&pooled.scratch).median_ape,
    })
}

/// `runs` of the pair's rows drawn with `seed` as the user's, and the rest.
fn split(pair: &[BenchRow], runs: usize, seed: u64) -> (Vec<BenchRow>, Vec<BenchRow>) {
    let mut drawn = pair.to_vec();
    drawn.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let held_out = drawn.split_off(runs.min(drawn.len()));
    (drawn, held_out)
}

/// Each answer's held-out evaluations, over every draw.
#[derive(Default)]
struct Pooled {
    base: Vec<RowEvaluation>,
    tuned: Vec<RowEvaluation>,
    scratch: Vec<RowEvaluation>,
    draws_won: usize,
}

/// The fine-tune experiment on in-memory rows.
fn finetune_experiment(prior: Prior, catalog: &Catalog) -> Result<ValidExperiment, FitError> {
    finetune::experiment(&["new-user-runs".to_string()], prior, catalog, &|_| true)
        .map_err(|e| FitError::Experiment(e.to_string()))
}

/// `base` fine-tuned on `runs`.
fn tune(
    base: &ParamSet,
    runs: &[BenchRow],
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<Calibration, FitError> {
    let experiment = finetune_experiment(Prior::Base, catalog)?;
    let centre = |p: Param, t: Tie, g: &str| finetune::centre(base, catalog, p, t, g);
    let start = Start {
        base,
        centre: &centre,
    };
    fine_tune(&experiment, runs.to_vec(), catalog, options, &start)
}

/// `c`'s answers on `rows`, each read under its own engine (none when a row's GPU or
/// model is unknown to the catalog, which the loaded rows rule out).
fn evaluations(c: &Calibration, rows: &[BenchRow], catalog: &Catalog) -> Vec<RowEvaluation> {
    let model = PerfModelKind::Serving.with_params(&c.params);
    evaluate_rows(rows, catalog, model.as_ref(), &c.assumptions).unwrap_or_default()
}

/// The comparison as a Markdown table, with how many pairs the fine-tune won.
pub fn to_markdown(results: &[PairResult]) -> String {
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
    let mut text = String::from(
        "| held-out pair | runs tuned on | rows predicted per draw | base alone: median APE % | from scratch on the runs | base fine-tuned on the runs | draws won alone |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        text.push_str(&format!(
            "| {} / {} | {} | {} | {} | {} | {}{} | {} of {} |\n",
            r.gpu,
            r.engine,
            r.runs,
            r.held_out,
            fmt(r.base_ape),
            fmt(r.scratch_ape),
            fmt(r.tuned_ape),
            if r.tuned_wins() { " ✓" } else { "" },
            r.draws_won,
            r.draws
        ));
    }
    let won = results.iter().filter(|r| r.tuned_wins()).count();
    text.push_str(&format!(
        "\nMedians pool the held-out rows of {} draws of runs (seeds S, S+1, …; --draws). The fine-tune beat both the base alone and the from-scratch fit on {won} of {} held-out pairs (✓).\n",
        results.first().map_or(0, |r| r.draws),
        results.len()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Name, Observed, Origin};
    use crate::scenario::{Condition, Stat};

    fn rows(spec: &[(&str, &str, usize)]) -> Vec<BenchRow> {
        let mut out = Vec::new();
        for &(gpu, engine, n) in spec {
            for _ in 0..n {
                out.push(BenchRow {
                    source: "s".into(),
                    model: "llama-3.1-8b".into(),
                    gpu: gpu.into(),
                    tp: Some(1),
                    pp: Some(1),
                    precision: None,
                    engine: engine.into(),
                    isl: 128,
                    osl: 128,
                    condition: Condition::StaticBatch { batch_size: 1 },
                    metric: crate::bench::Metric::E2eS,
                    stat: Stat::Mean,
                    value: Observed::Value(1.0),
                    note: Name::default(),
                    synthetic_weights: false,
                    origin: Origin {
                        file: "f".into(),
                        line: 1,
                    },
                });
            }
        }
        out
    }

    #[test]
    fn one_pair_per_engine_family_whose_gpu_keeps_rows_of_others() {
        let data = rows(&[
            ("h100-sxm", "trtllm", 300),
            ("h100-sxm", "vllm-0.6.1", 80),
            ("a100-sxm-80gb", "vllm", 200),
            ("l40s", "vllm", 500),
            ("a100-sxm-80gb", "trtllm", 60),
        ]);
        // l40s/vllm is the largest vLLM pair but its GPU has no other rows: the base could
        // not fit the GPU. a100/vllm is next; one pair per family.
        assert_eq!(
            pairs(&data),
            vec![
                ("h100-sxm".to_string(), Engine::Trtllm),
                ("a100-sxm-80gb".to_string(), Engine::Vllm),
            ]
        );
    }

    #[test]
    fn the_fine_tune_wins_only_when_it_beats_both() {
        let result = |t, b, s| PairResult {
            gpu: "g".into(),
            engine: Engine::Vllm,
            runs: 5,
            draws: 1,
            draws_won: 0,
            held_out: 10,
            base_ape: b,
            tuned_ape: t,
            scratch_ape: s,
        };
        assert!(result(Some(10.0), Some(20.0), Some(15.0)).tuned_wins());
        assert!(!result(Some(16.0), Some(20.0), Some(15.0)).tuned_wins());
        assert!(!result(None, Some(20.0), Some(15.0)).tuned_wins());
        let table = to_markdown(&[result(Some(10.0), Some(20.0), Some(15.0))]);
        assert!(
            table.contains("| g / vllm | 5 | 10 | 20.0 | 15.0 | 10.0 ✓ | 0 of 1 |"),
            "{table}"
        );
        assert!(table.contains("on 1 of 1 held-out pairs"), "{table}");
    }

    /// Rows drawn from a known truth: the H100 and L40S under TensorRT-LLM, and the
    /// H100 under vLLM (the pair a new user brings), 12 rows each.
    fn synthetic() -> Vec<BenchRow> {
        let truth = ParamSet::default();
        let shapes = [
            (128, 1),
            (256, 8),
            (512, 16),
            (1024, 32),
            (2048, 4),
            (256, 64),
        ];
        let mut out = Vec::new();
        for (gpu, engine) in [
            ("h100-sxm", "trtllm"),
            ("l40s", "trtllm"),
            ("h100-sxm", "vllm"),
        ] {
            let mut rows = crate::fit::tests::synthetic_rows(&truth, &[gpu], &shapes);
            for r in &mut rows {
                r.engine = engine.into();
            }
            out.extend(rows);
        }
        out
    }

    #[test]
    fn the_draws_pool_their_held_out_rows() {
        let catalog = Catalog::embedded().unwrap();
        let experiment = finetune_experiment(Prior::Scratch, &catalog).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let options = Options {
            seed: None,
            cancel: &cancel,
            progress: &crate::fit::Silent,
        };
        let rows = synthetic();
        let pair = ("h100-sxm", Engine::Vllm);
        let run =
            |runs_draws| emulate(&experiment, &rows, &catalog, &options, pair, runs_draws).unwrap();
        let pooled = run((4, 3));
        assert_eq!((pooled.runs, pooled.draws, pooled.held_out), (4, 3, 8));
        assert!(pooled.draws_won <= 3);
        assert_eq!(pooled, run((4, 3)), "the same seed draws the same runs");
    }

    #[test]
    fn each_draw_takes_other_runs_and_holds_out_the_rest() {
        let pair: Vec<BenchRow> = synthetic()
            .into_iter()
            .filter(|r| r.engine.as_str() == "vllm")
            .collect();
        let (first, rest) = split(&pair, 4, 1);
        assert_eq!((first.len(), rest.len()), (4, pair.len() - 4));
        assert!(
            first.iter().all(|r| !rest.contains(r)),
            "runs are not held out"
        );
        let (second, _) = split(&pair, 4, 2);
        assert_ne!(first, second, "seeds S and S+1 draw other runs");
        assert_eq!(split(&pair, 4, 1).0, first);
        assert_eq!(
            split(&pair, 100, 1).1.len(),
            0,
            "more runs than rows: all are runs"
        );
    }
}
