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

use std::collections::HashMap;

use rayon::prelude::*;

use super::space::ParamSpace;
use crate::bench::{BenchRow, Observed};
use crate::catalog::{Catalog, CatalogError};
use crate::evaluate::{Assumptions, scenario_for};
use crate::experiment::{Loss, LossKind, NaPolicy};
use crate::perf::params::{Placement, ServingParams, gpu_precision_key};
use crate::perf::physics::{Deployed, PlacedParams, placement};
use crate::perf::registry::Tie;
use crate::perf::{Infeasible, Outcome, PerfModel, PerfModelKind};
use crate::scenario::{Deployment, Scenario};

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

/// Whether placement `at` reads the override of `group` under `tie`.
fn reads(at: &Placement<'_>, tie: Tie, group: &str) -> bool {
    match tie {
        Tie::Global => true,
        Tie::Gpu => at.gpu == group,
        Tie::GpuPrecision => gpu_precision_key(at.gpu, at.precision) == group,
        Tie::Model => at.model == group,
        Tie::Engine => at.engine.is_some_and(|e| e.as_str() == group),
        Tie::Precision => at.precision.as_str() == group,
    }
}

/// A row's contribution: a log residual with a slope, a fixed feasibility residual (a
/// step: flat except where the prediction's feasibility flips), or nothing.
#[derive(Clone, Copy)]
enum Term {
    Skipped,
    Slope(f64),
    Step(f64),
}

impl Term {
    #[inline(always)]
    fn residual(self) -> Option<f64> {
        match self {
            Term::Skipped => None,
            Term::Slope(r) | Term::Step(r) => Some(r),
        }
    }
}

/// One row's root residual (see [`Objective::root_residuals`]).
#[derive(Debug, Clone, Copy)]
pub struct Root {
    /// `sign(r)·√(2·w·ρ(r))`.
    pub z: f64,
    /// Whether the row's term is a step (no slope).
    pub step: bool,
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

/// A row compiled under one hypothesis: its scenario and the indices of its deployment
/// and its placement in [`Objective`]'s tables. Rows share both (a million rows hold a
/// few thousand deployments), so a row costs its scenario and two indices.
struct CompiledRow<'c> {
    scenario: Scenario<'c>,
    deployed: u32,
    placement: u32,
}

/// What a deployment depends on: model, GPU, deployment, ISL, OSL.
type DeploymentKey<'c> = (&'c str, &'c str, Deployment, u32, u32);

/// Index of `key` in `table`, adding it (built by `make`) when new.
fn intern<K: std::hash::Hash + Eq + Copy, V>(
    index: &mut HashMap<K, u32>,
    table: &mut Vec<V>,
    key: K,
    make: impl FnOnce() -> V,
) -> u32 {
    *index.entry(key).or_insert_with(|| {
        table.push(make());
        (table.len() - 1) as u32
    })
}

/// Rows compiled under each hypothesis, weights, loss and space. What does not depend on
/// the free parameters is resolved once here; an evaluation looks up each placement's
/// parameters once and then runs the arithmetic of every row.
pub struct Objective<'c> {
    kind: PerfModelKind,
    rows: Vec<&'c BenchRow>,
    compiled: Vec<Vec<CompiledRow<'c>>>,
    deployments: Vec<Result<Deployed, Infeasible>>,
    placements: Vec<Placement<'c>>,
    log_measured: Vec<Option<f64>>,
    weights: Vec<f64>,
    loss: Loss,
    /// The parameter space.
    pub space: ParamSpace,
    /// The deployment hypotheses, in enumeration order.
    pub hypotheses: Vec<Assumptions>,
}

/// Every row compiled under every hypothesis, with the deployment and placement tables
/// the rows index.
struct Tables<'c> {
    compiled: Vec<Vec<CompiledRow<'c>>>,
    deployments: Vec<Result<Deployed, Infeasible>>,
    placements: Vec<Placement<'c>>,
}

impl<'c> Tables<'c> {
    fn compile(
        rows: &[&'c BenchRow],
        catalog: &'c Catalog,
        hypotheses: &[Assumptions],
    ) -> Result<Tables<'c>, CatalogError> {
        let (mut placements, mut placement_index) = (Vec::new(), HashMap::new());
        let (mut deployments, mut deployment_index) = (Vec::new(), HashMap::new());
        let mut compiled = Vec::with_capacity(hypotheses.len());
        for h in hypotheses {
            let mut rows_h = Vec::with_capacity(rows.len());
            for r in rows {
                let scenario = scenario_for(r, catalog, h)?;
                let at = placement(&scenario);
                let place = intern(&mut placement_index, &mut placements, at, || at);
                let deployment: DeploymentKey<'c> = (
                    &scenario.model.slug,
                    &scenario.gpu.slug,
                    scenario.deployment,
                    scenario.isl,
                    scenario.osl,
                );
                let deployed = intern(&mut deployment_index, &mut deployments, deployment, || {
                    Deployed::new(&scenario)
                });
                rows_h.push(CompiledRow {
                    scenario,
                    deployed,
                    placement: place,
                });
            }
            compiled.push(rows_h);
        }
        Ok(Tables {
            compiled,
            deployments,
            placements,
        })
    }
}

impl<'c> Objective<'c> {
    /// Maps every row to its scenario under every hypothesis.
    pub fn new(
        kind: PerfModelKind,
        rows: Vec<&'c BenchRow>,
        catalog: &'c Catalog,
        loss: Loss,
        space: ParamSpace,
        hypotheses: Vec<Assumptions>,
    ) -> Result<Objective<'c>, CatalogError> {
        let tables = Tables::compile(&rows, catalog, &hypotheses)?;
        let log_measured = rows.iter().map(|r| r.value.value().map(f64::ln)).collect();
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
            compiled: tables.compiled,
            deployments: tables.deployments,
            placements: tables.placements,
            log_measured,
            weights,
            loss,
            space,
            hypotheses,
        })
    }

    /// The rows.
    pub fn rows(&self) -> &[&'c BenchRow] {
        &self.rows
    }

    /// Each row's weight.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Each placement's parameters under `params`, indexed as the compiled rows are.
    fn placed(&self, params: &ServingParams) -> Vec<PlacedParams> {
        self.placements
            .iter()
            .map(|at| PlacedParams::of(params, at))
            .collect()
    }

    /// Row `i` under hypothesis `h` with `model`.
    fn outcome(
        &self,
        model: &dyn PerfModel,
        placed: &[PlacedParams],
        h: usize,
        i: usize,
    ) -> Outcome {
        let row = &self.compiled[h][i];
        match &self.deployments[row.deployed as usize] {
            Ok(deployed) => {
                model.predict_deployed(&row.scenario, deployed, &placed[row.placement as usize])
            }
            Err(why) => Err(why.clone()),
        }
    }

    /// Residual of row `i` under hypothesis `h` with `model` (`None` = skipped).
    #[inline(always)]
    fn residual(
        &self,
        model: &dyn PerfModel,
        placed: &[PlacedParams],
        h: usize,
        i: usize,
    ) -> Option<f64> {
        self.term(model, placed, h, i).residual()
    }

    /// Row `i`'s term under hypothesis `h` with `model`: a slope, a step or nothing.
    #[inline(always)]
    fn term(&self, model: &dyn PerfModel, placed: &[PlacedParams], h: usize, i: usize) -> Term {
        let row = &self.rows[i];
        let compiled = &self.compiled[h][i];
        let predicted = match &self.deployments[compiled.deployed as usize] {
            Ok(deployed) => model
                .predict_deployed(
                    &compiled.scenario,
                    deployed,
                    &placed[compiled.placement as usize],
                )
                .ok()
                .and_then(|p| p.metric(row.metric)),
            Err(_) => None,
        };
        let miss = self.loss.infeasible_residual;
        match (row.value, predicted) {
            (Observed::Value(_), Some(p)) if p.is_finite() && p > 0.0 => {
                self.log_measured[i].map_or(Term::Skipped, |m| Term::Slope(p.ln() - m))
            }
            (Observed::Value(_), _) => Term::Step(miss),
            (Observed::NotAchievable, _) if self.loss.na == NaPolicy::Skip => Term::Skipped,
            (Observed::NotAchievable, None) => Term::Step(0.0),
            (Observed::NotAchievable, Some(_)) => Term::Step(miss),
        }
    }

    /// Every row's residual under hypothesis `h` at coordinates `u`, in row order.
    pub fn residuals(&self, h: usize, u: &[f64]) -> Vec<Option<f64>> {
        self.per_row(u, None, |model, placed, i| {
            self.residual(model, placed, h, i)
        })
    }

    /// `each(model, placements, i)` for every row `i` of `rows` (`None`: all rows), in
    /// order, with the model and the placements' parameters at `u` built once; in
    /// parallel from [`PARALLEL_ROWS`] rows on.
    fn per_row<T: Send>(
        &self,
        u: &[f64],
        rows: Option<&[u32]>,
        each: impl Fn(&dyn PerfModel, &[PlacedParams], usize) -> T + Sync,
    ) -> Vec<T> {
        let params = self.space.params_at(u);
        let placed = self.placed(&params.serving);
        let model = self.kind.with_params(&params);
        let one = |i: usize| each(model.as_ref(), &placed, i);
        match rows {
            Some(rows) if rows.len() >= PARALLEL_ROWS => {
                rows.par_iter().map(|&i| one(i as usize)).collect()
            }
            Some(rows) => rows.iter().map(|&i| one(i as usize)).collect(),
            None if self.rows.len() >= PARALLEL_ROWS => {
                (0..self.rows.len()).into_par_iter().map(one).collect()
            }
            None => (0..self.rows.len()).map(one).collect(),
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

    /// The loss as a sum of squares, for Levenberg-Marquardt: each row's
    /// `sign(r)·√(2·w·ρ(r))` (0 for a skipped row), so that with the priors' residuals
    /// ([`ParamSpace::prior_residuals`]) `½·‖z‖²` is [`Objective::cost`] wherever that is
    /// finite. The sign keeps each term smooth through `r = 0`, where `√(2ρ)` behaves like
    /// `|r|`. The flag marks a step term (a feasibility penalty, or its absence for a row
    /// measured not achievable): flat almost everywhere, so it has no slope for a
    /// Jacobian. `rows` picks the rows (`None`: all of them, in order).
    pub fn root_residuals(&self, h: usize, u: &[f64], rows: Option<&[u32]>) -> Vec<Root> {
        let (kind, scale) = (self.loss.kind, self.loss.scale);
        self.per_row(u, rows, |model, placed, i| {
            let term = self.term(model, placed, h, i);
            let z = term.residual().map_or(0.0, |r| {
                (2.0 * self.weights[i] * robust(kind, scale, r))
                    .sqrt()
                    .copysign(r)
            });
            Root {
                z,
                step: matches!(term, Term::Step(_)),
            }
        })
    }

    /// The rows under hypothesis `h` that free parameter `j` can move, in order, or `None`
    /// for all of them. A copy tied to a group (a GPU, an engine, a precision, …) reaches
    /// the model only through the overrides of the placements of that group, so it moves
    /// exactly their rows (or none of them where a more specific override shadows it); a
    /// global one moves every row. Decided by the keys, not by probing values: a clamp
    /// (an efficiency times its factors is at most 1) can hide a parameter at one point
    /// and not at the next.
    pub fn rows_moved_by(&self, h: usize, j: usize) -> Option<Vec<u32>> {
        let free = &self.space.free[j];
        if free.group.is_empty() {
            return None;
        }
        let moved: Vec<bool> = self
            .placements
            .iter()
            .map(|at| reads(at, free.tie, &free.group))
            .collect();
        let rows = self.compiled[h]
            .iter()
            .enumerate()
            .filter(|(_, row)| moved[row.placement as usize])
            .map(|(i, _)| i as u32)
            .collect();
        Some(rows)
    }

    /// Each row's loss term at `u` (for shares of the loss in reports).
    pub fn row_losses(&self, h: usize, u: &[f64]) -> Vec<f64> {
        self.residuals(h, u)
            .iter()
            .zip(&self.weights)
            .map(|(r, w)| r.map_or(0.0, |r| w * robust(self.loss.kind, self.loss.scale, r)))
            .collect()
    }

    /// Each row's predicted value of its metric at `u` (`None` = infeasible): what
    /// [`Objective::row_fits`] says without the reasons, a tenth of its memory.
    pub fn predictions(&self, h: usize, u: &[f64]) -> Vec<Option<f64>> {
        self.per_row(u, None, |model, placed, i| {
            let outcome = self.outcome(model, placed, h, i);
            outcome.ok().and_then(|p| p.metric(self.rows[i].metric))
        })
    }

    /// The prediction of each row of `rows` (indices, in order) under hypothesis `h`:
    /// the model's value of the row's metric, `None` where infeasible.
    pub fn predictions_of(&self, h: usize, u: &[f64], rows: &[u32]) -> Vec<Option<f64>> {
        self.per_row(u, Some(rows), |model, placed, i| {
            let outcome = self.outcome(model, placed, h, i);
            outcome.ok().and_then(|p| p.metric(self.rows[i].metric))
        })
    }

    /// Predictions, residuals and reasons for every row (for reports; slower than `cost`).
    pub fn row_fits(&self, h: usize, u: &[f64]) -> Vec<RowFit> {
        let params = self.space.params_at(u);
        let placed = self.placed(&params.serving);
        let model = self.kind.with_params(&params);
        let residuals = self.residuals(h, u);
        self.rows
            .iter()
            .enumerate()
            .zip(residuals)
            .map(|((i, row), residual)| {
                let outcome = self.outcome(model.as_ref(), &placed, h, i);
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
