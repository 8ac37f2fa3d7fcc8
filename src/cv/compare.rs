//! Model comparison: cross-validate several experiments under one scheme and rank them by
//! held-out error, beside their free-parameter count, in-sample error, information
//! criteria from the in-sample log residuals, and wall time.
//!
//! ## References
//! - AIC and BIC for least squares, `m·ln(SSE/m) + 2k` and `m·ln(SSE/m) + k·ln m`:
//!   Burnham & Anderson, *Model Selection and Multimodel Inference* (2002), §2.2.

use serde::Serialize;

use super::{CrossValidation, Scheme, cross_validate};
use crate::bench::{BenchRow, Metric};
use crate::catalog::Catalog;
use crate::evaluate::{Summary, summarize, summarize_by_metric};
use crate::experiment::ValidExperiment;
use crate::fit::{FitError, Options};

/// One experiment in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Experiment name.
    pub experiment: String,
    /// Its performance model.
    pub perf_model: String,
    /// Free parameters (copies per group counted).
    pub free_parameters: usize,
    /// Held-out summary over all rows.
    pub held_out: Summary,
    /// In-sample summary over all rows.
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

/// Summarises one cross-validation as a comparison entry.
pub fn entry(e: &ValidExperiment, cv: &CrossValidation) -> Entry {
    let k = cv.full.estimates.iter().filter(|x| x.free).count();
    let (aic, bic) = information_criteria(cv, k);
    Entry {
        experiment: e.name.clone(),
        perf_model: e.perf_model.to_string(),
        free_parameters: k,
        held_out: summarize(&cv.held_out),
        in_sample: summarize(&cv.in_sample),
        held_out_rate_median_ape: summarize_by_metric(&cv.held_out)
            .get(&Metric::ReqPerSPerGpu)
            .and_then(|s| s.median_ape),
        aic,
        bic,
        wall_time_s: cv.wall_time_s,
    }
}

/// Cross-validates every experiment (with its rows) and ranks them, best held-out median
/// APE first (ties by name).
pub fn compare(
    experiments: &[(ValidExperiment, Vec<BenchRow>)],
    catalog: &Catalog,
    scheme: Scheme,
    options: &Options<'_>,
) -> Result<Vec<Entry>, FitError> {
    let mut entries = experiments
        .iter()
        .map(|(e, rows)| cross_validate(e, rows, catalog, scheme, options).map(|cv| entry(e, &cv)))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by(|a, b| {
        let key = |x: &Entry| x.held_out.median_ape.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then(a.experiment.cmp(&b.experiment))
    });
    Ok(entries)
}
