//! Model comparison: cross-validate several experiments under one scheme on one
//! evaluation set, and rank them by held-out error beside their free-parameter count,
//! in-sample error, information criteria from the in-sample log residuals, and wall time.
//!
//! Experiments that fit different data are judged on the same rows: the evaluation set is
//! the union of their rows, split into folds once, and each experiment predicts every
//! held-out row from a fit on its own rows outside that fold — rows of a source it never
//! fits included, as a user would use it. The ranking score is the mean over sources of
//! the held-out median APE, so a source with ten thousand rows counts as much as one with
//! thirty-two. With a single source it is the plain held-out median APE.
//!
//! ## References
//! - AIC and BIC for least squares, `m·ln(SSE/m) + 2k` and `m·ln(SSE/m) + k·ln m`:
//!   Burnham & Anderson, *Model Selection and Multimodel Inference* (2002), §2.2.

use serde::Serialize;

use std::collections::{BTreeMap, HashMap};

use super::{CrossValidation, Scheme, Split, cross_validate_split, folds};
use crate::bench::{BenchRow, Metric};
use crate::catalog::Catalog;
use crate::evaluate::{RowEvaluation, Summary, summarize, summarize_by_metric};
use crate::experiment::ValidExperiment;
use crate::fit::{FitError, Options, filter_rows};

/// One experiment in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Experiment name.
    pub experiment: String,
    /// Its performance model.
    pub perf_model: String,
    /// Free parameters (copies per group counted).
    pub free_parameters: usize,
    /// Mean over sources of the held-out median APE, over all draws pooled: the ranking key.
    pub score: Option<f64>,
    /// The score of each fold draw on its own (one entry unless the comparison repeats a
    /// k-fold split).
    pub draw_scores: Vec<Option<f64>>,
    /// Held-out summary over all rows.
    pub held_out: Summary,
    /// Held-out summary per source.
    pub held_out_by_source: BTreeMap<String, Summary>,
    /// In-sample summary over the rows the experiment fits.
    pub in_sample: Summary,
    /// Held-out median APE on req/s/GPU rows, if there are any.
    pub held_out_rate_median_ape: Option<f64>,
    /// Akaike information criterion of the full fit.
    pub aic: f64,
    /// Bayesian information criterion of the full fit.
    pub bic: f64,
    /// Wall time of the cross-validation, seconds.
    pub wall_time_s: f64,
}

/// AIC and BIC from the full fit's counted residuals.
fn information_criteria(cv: &CrossValidation, k: usize) -> (f64, f64) {
    let residuals: Vec<f64> = cv.full.fits.iter().filter_map(|f| f.residual).collect();
    let m = residuals.len().max(1) as f64;
    let sse: f64 = residuals.iter().map(|r| r * r).sum::<f64>().max(1e-300);
    let base = m * (sse / m).ln();
    (base + 2.0 * k as f64, base + k as f64 * m.ln())
}

/// Held-out summaries per source, and their mean median APE (`None` when a source has no
/// scored row).
fn by_source(held_out: &[RowEvaluation]) -> (BTreeMap<String, Summary>, Option<f64>) {
    let mut groups: BTreeMap<String, Vec<&RowEvaluation>> = BTreeMap::new();
    for r in held_out {
        groups.entry(r.row.source.to_string()).or_default().push(r);
    }
    let summaries: BTreeMap<String, Summary> = groups
        .into_iter()
        .map(|(source, rows)| (source, summarize(rows)))
        .collect();
    let medians: Option<Vec<f64>> = summaries.values().map(|s| s.median_ape).collect();
    let score = medians
        .filter(|m| !m.is_empty())
        .map(|m| m.iter().sum::<f64>() / m.len() as f64);
    (summaries, score)
}

/// Summarises one cross-validation as a comparison entry.
pub fn entry(e: &ValidExperiment, cv: &CrossValidation) -> Entry {
    let k = cv.full.estimates.iter().filter(|x| x.free).count();
    let (aic, bic) = information_criteria(cv, k);
    let (held_out_by_source, score) = by_source(&cv.held_out);
    let own = cv
        .in_sample
        .iter()
        .zip(&cv.trainable)
        .filter_map(|(r, &t)| t.then_some(r));
    Entry {
        experiment: e.name.clone(),
        perf_model: e.perf_model.to_string(),
        free_parameters: k,
        score,
        draw_scores: vec![score],
        held_out: summarize(&cv.held_out),
        held_out_by_source,
        in_sample: summarize(own),
        held_out_rate_median_ape: summarize_by_metric(&cv.held_out)
            .get(&Metric::ReqPerSPerGpu)
            .and_then(|s| s.median_ape),
        aic,
        bic,
        wall_time_s: cv.wall_time_s,
    }
}

/// One entry from several fold draws of the same experiment: the held-out figures pool
/// every draw's predictions (each row is predicted once per draw); the in-sample figures
/// and the information criteria come from the full fit, which every draw shares.
fn pooled_entry(e: &ValidExperiment, draws: &[CrossValidation]) -> Option<Entry> {
    let mut pooled_entry = entry(e, draws.first()?);
    let pooled: Vec<RowEvaluation> = draws
        .iter()
        .flat_map(|cv| cv.held_out.iter().cloned())
        .collect();
    let (held_out_by_source, score) = by_source(&pooled);
    pooled_entry.score = score;
    pooled_entry.draw_scores = draws.iter().map(|cv| by_source(&cv.held_out).1).collect();
    pooled_entry.held_out = summarize(&pooled);
    pooled_entry.held_out_by_source = held_out_by_source;
    pooled_entry.held_out_rate_median_ape = summarize_by_metric(&pooled)
        .get(&Metric::ReqPerSPerGpu)
        .and_then(|s| s.median_ape);
    pooled_entry.wall_time_s = draws.iter().map(|cv| cv.wall_time_s).sum();
    Some(pooled_entry)
}

/// The evaluation set: every experiment's rows after its filter, each row once (rows are
/// identified by file and line), and which experiment fits which row.
fn evaluation_set(
    experiments: &[(ValidExperiment, Vec<BenchRow>)],
) -> (Vec<BenchRow>, Vec<Vec<bool>>) {
    let mut union: Vec<BenchRow> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (e, rows) in experiments {
        let own = filter_rows(rows, &e.filter)
            .into_iter()
            .map(|row| {
                *index.entry(row.origin.to_string()).or_insert_with(|| {
                    union.push(row);
                    union.len() - 1
                })
            })
            .collect();
        members.push(own);
    }
    let trainable = members
        .iter()
        .map(|own| {
            let mut mask = vec![false; union.len()];
            own.iter().for_each(|&i| mask[i] = true);
            mask
        })
        .collect();
    (union, trainable)
}

/// The scheme a comparison of `experiments` runs: `auto` resolved on the union of their
/// rows, as [`compare`] resolves it.
pub fn resolved_scheme(experiments: &[(ValidExperiment, Vec<BenchRow>)], scheme: Scheme) -> Scheme {
    scheme.resolve(&evaluation_set(experiments).0)
}

/// How many k-fold draws a comparison pools unless told otherwise: on the shipped data a
/// single draw's winner depends on the draw.
pub const DEFAULT_DRAWS: u32 = 5;

/// A ranking of experiments.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The scheme the folds followed (`auto` resolved).
    pub scheme: Scheme,
    /// Best score first.
    pub entries: Vec<Entry>,
}

/// Cross-validates every experiment on the union of their rows (see the module doc) and
/// ranks them, best score first (ties by name). A k-fold split is drawn `draws` times
/// (seeds S, S+1, …, where S is `options.seed` or the first experiment's seed) and the
/// draws pooled, because a small source's few cells make one draw's median noisy; the
/// other schemes have one fixed split. Every draw's fits use the same grid seed (the
/// experiment's, or `options.seed`), so draws differ only in their folds.
pub fn compare(
    experiments: &[(ValidExperiment, Vec<BenchRow>)],
    catalog: &Catalog,
    scheme: Scheme,
    draws: usize,
    options: &Options<'_>,
) -> Result<Comparison, FitError> {
    let (rows, trainable) = evaluation_set(experiments);
    if rows.is_empty() {
        return Err(FitError::NoRows);
    }
    let seed = options
        .seed
        .or_else(|| experiments.first().map(|(e, _)| e.search.seed))
        .unwrap_or(1);
    let scheme = scheme.resolve(&rows);
    let draws = if matches!(scheme, Scheme::KFold(_)) {
        draws.max(1)
    } else {
        1
    };
    let splits: Vec<(Vec<usize>, Vec<String>)> = (0..draws as u64)
        .map(|r| folds(&rows, scheme, seed.wrapping_add(r)))
        .collect();
    let mut entries = Vec::with_capacity(experiments.len());
    for ((e, _), trainable) in experiments.iter().zip(trainable) {
        let mut runs: Vec<CrossValidation> = Vec::with_capacity(splits.len());
        for (fold_of_row, labels) in &splits {
            let split = Split {
                rows: rows.clone(),
                trainable: trainable.clone(),
                fold_of_row: fold_of_row.clone(),
                labels: labels.clone(),
            };
            // Every draw trains on the same rows in full: fit them once.
            let full = runs.first().map(|cv| cv.full.clone());
            runs.push(cross_validate_split(
                e, split, full, catalog, scheme, options,
            )?);
        }
        entries.extend(pooled_entry(e, &runs));
    }
    entries.sort_by(|a, b| {
        let key = |x: &Entry| x.score.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then(a.experiment.cmp(&b.experiment))
    });
    Ok(Comparison { scheme, entries })
}

#[cfg(test)]
mod tests;
