//! The objective the search minimises: for each benchmark row, the log residual
//! `ln predicted − ln measured` under a robust loss, weighted per metric and source; a
//! fixed residual for every feasibility the model gets wrong (a number predicted
//! infeasible, or an `NA` predicted feasible); plus the priors. It always returns a finite
//! number — argmin's Nelder-Mead panics on an error during init and mis-sorts NaNs — and
//! sums rows in a fixed order so the result does not depend on the thread count.
//!
//! ## References
//! - Huber, "Robust Estimation of a Location Parameter" (1964); the Cauchy (Lorentzian)
//!   loss: Black & Anandan (1996). Log residuals because the data span three decades.

use rayon::prelude::*;

use super::space::ParamSpace;
use crate::bench::{BenchRow, Observed};
use crate::catalog::{Catalog, CatalogError};
use crate::evaluate::{Assumptions, scenario_for};
use crate::experiment::{Loss, LossKind, NaPolicy};
use crate::perf::{PerfModel, PerfModelKind};
use crate::scenario::Scenario;

/// The cost of a point the model cannot evaluate (never reached with valid parameters).
pub const PENALTY: f64 = 1e12;

/// Rows per objective evaluation above which rows are predicted in parallel.
const PARALLEL_ROWS: usize = 256;

/// The loss of residual `r` under `kind` with scale `s`.
pub fn robust(kind: LossKind, s: f64, r: f64) -> f64 {
    match kind {
        LossKind::Squared => 0.5 * r * r,
        LossKind::Huber if r.abs() <= s => 0.5 * r * r,
        LossKind::Huber => s * (r.abs() - 0.5 * s),
        LossKind::Cauchy => 0.5 * s * s * (1.0 + (r / s).powi(2)).ln(),
    }
}

/// One row under one parameter set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowFit {
    /// The model's value of the row's metric (`None` = infeasible).
    pub predicted: Option<f64>,
    /// Residual counted in the loss (`None` = skipped).
    pub residual: Option<f64>,
    /// Why the model calls the row infeasible.
    pub reason: Option<String>,
}

/// Rows, their scenarios under each hypothesis, weights, loss and space.
pub struct Objective<'c> {
    kind: PerfModelKind,
    rows: &'c [BenchRow],
    scenarios: Vec<Vec<Scenario<'c>>>,
    weights: Vec<f64>,
    loss: Loss,
    /// The parameter space.
    pub space: ParamSpace,
    /// The deployment hypotheses, in enumeration order.
    pub hypotheses: Vec<Assumptions>,
}

impl<'c> Objective<'c> {
    /// Maps every row to its scenario under every hypothesis.
    pub fn new(
        kind: PerfModelKind,
        rows: &'c [BenchRow],
        catalog: &'c Catalog,
        loss: Loss,
        space: ParamSpace,
        hypotheses: Vec<Assumptions>,
    ) -> Result<Objective<'c>, CatalogError> {
        let scenarios = hypotheses
            .iter()
            .map(|h| {
                rows.iter()
                    .map(|r| scenario_for(r, catalog, h))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let weights = rows
            .iter()
            .map(|r| {
                let metric = loss.metric_weights.get(&r.metric).copied().unwrap_or(1.0);
                metric
                    * loss
                        .source_weights
                        .get(r.source.as_str())
                        .copied()
                        .unwrap_or(1.0)
            })
            .collect();
        Ok(Objective {
            kind,
            rows,
            scenarios,
            weights,
            loss,
            space,
            hypotheses,
        })
    }

    /// The rows.
    pub fn rows(&self) -> &[BenchRow] {
        self.rows
    }

    /// Each row's weight.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Residual of row `i` under hypothesis `h` with `model` (`None` = skipped).
    fn residual(&self, model: &dyn PerfModel, h: usize, i: usize) -> Option<f64> {
        let row = &self.rows[i];
        let predicted = model
            .predict(&self.scenarios[h][i])
            .ok()
            .and_then(|p| p.metric(row.metric));
        let miss = self.loss.infeasible_residual;
        match (row.value, predicted) {
            (Observed::Value(m), Some(p)) if p.is_finite() && p > 0.0 => Some(p.ln() - m.ln()),
            (Observed::Value(_), _) => Some(miss),
            (Observed::NotAchievable, _) if self.loss.na == NaPolicy::Skip => None,
            (Observed::NotAchievable, None) => Some(0.0),
            (Observed::NotAchievable, Some(_)) => Some(miss),
        }
    }

    /// Every row's residual under hypothesis `h` at coordinates `u`, in row order.
    pub fn residuals(&self, h: usize, u: &[f64]) -> Vec<Option<f64>> {
        let model = self.kind.with_params(&self.space.params_at(u));
        let model = model.as_ref();
        if self.rows.len() >= PARALLEL_ROWS {
            (0..self.rows.len())
                .into_par_iter()
                .map(|i| self.residual(model, h, i))
                .collect()
        } else {
            (0..self.rows.len())
                .map(|i| self.residual(model, h, i))
                .collect()
        }
    }

    /// The loss at `u` under hypothesis `h`: weighted robust loss plus priors; finite.
    pub fn cost(&self, h: usize, u: &[f64]) -> f64 {
        let data: f64 = self
            .residuals(h, u)
            .iter()
            .zip(&self.weights)
            .filter_map(|(r, w)| r.map(|r| w * robust(self.loss.kind, self.loss.scale, r)))
            .sum();
        let total = data + self.space.prior_penalty(u);
        if total.is_finite() { total } else { PENALTY }
    }

    /// Each row's loss term at `u` (for shares of the loss in reports).
    pub fn row_losses(&self, h: usize, u: &[f64]) -> Vec<f64> {
        self.residuals(h, u)
            .iter()
            .zip(&self.weights)
            .map(|(r, w)| r.map_or(0.0, |r| w * robust(self.loss.kind, self.loss.scale, r)))
            .collect()
    }

    /// Predictions, residuals and reasons for every row (for reports; slower than `cost`).
    pub fn row_fits(&self, h: usize, u: &[f64]) -> Vec<RowFit> {
        let model = self.kind.with_params(&self.space.params_at(u));
        let residuals = self.residuals(h, u);
        self.rows
            .iter()
            .enumerate()
            .zip(residuals)
            .map(|((i, row), residual)| {
                let outcome = model.predict(&self.scenarios[h][i]);
                let (predicted, reason) = match outcome {
                    Ok(p) => (p.metric(row.metric), None),
                    Err(why) => (None, Some(why.to_string())),
                };
                RowFit {
                    predicted,
                    residual,
                    reason,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_losses_agree_near_zero_and_differ_in_the_tails() {
        for kind in [LossKind::Squared, LossKind::Huber, LossKind::Cauchy] {
            assert!((robust(kind, 1.0, 0.01) - 0.5e-4).abs() < 1e-8, "{kind:?}");
        }
        assert!((robust(LossKind::Huber, 0.3, 3.0) - 0.3 * (3.0 - 0.15)).abs() < 1e-12);
        assert!(robust(LossKind::Cauchy, 0.3, 3.0) < robust(LossKind::Huber, 0.3, 3.0));
        assert!(robust(LossKind::Huber, 0.3, 3.0) < robust(LossKind::Squared, 0.3, 3.0));
    }

    #[test]
    fn huber_is_continuous_at_its_scale() {
        let s = 0.3;
        let below = robust(LossKind::Huber, s, s - 1e-9);
        let above = robust(LossKind::Huber, s, s + 1e-9);
        assert!((below - above).abs() < 1e-8);
    }
}
