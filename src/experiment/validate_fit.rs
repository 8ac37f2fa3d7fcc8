//! The rules of an experiment's `[loss]` and `[search]` sections (see `validate.rs` for
//! the rest): one check and one message naming the field each.

use std::collections::BTreeMap;

use super::raw::{RawLoss, RawSearch};
use super::validate::{Check, broken};
use super::{GridKind, Loss, LossKind, NaPolicy, RefineMethod, Search};
use crate::bench::Metric;

/// The most grid points a search may ask for (per hypothesis).
pub const MAX_GRID_POINTS: usize = 1 << 20;
/// The most Nelder-Mead iterations per run.
pub const MAX_ITERS: u64 = 1_000_000;
/// The most fresh-simplex restarts per run.
pub const MAX_RESTARTS: u32 = 1000;

pub(super) fn loss(raw: &RawLoss) -> Check<Loss> {
    let kind = match raw.kind.as_str() {
        "squared" => LossKind::Squared,
        "huber" => LossKind::Huber,
        "cauchy" => LossKind::Cauchy,
        other => {
            return Err(broken(
                "loss.kind",
                format!("expected squared, huber or cauchy, found `{other}`"),
            ));
        }
    };
    let na = match raw.na.as_str() {
        "infeasible" => NaPolicy::Infeasible,
        "skip" => NaPolicy::Skip,
        other => {
            return Err(broken(
                "loss.na",
                format!("expected infeasible or skip, found `{other}`"),
            ));
        }
    };
    if !(raw.scale > 0.0 && raw.scale.is_finite()) {
        return Err(broken(
            "loss.scale",
            format!("{} must be positive", raw.scale),
        ));
    }
    if !(raw.infeasible_residual > 0.0 && raw.infeasible_residual.is_finite()) {
        return Err(broken(
            "loss.infeasible_residual",
            format!("{} must be positive", raw.infeasible_residual),
        ));
    }
    let mut metric_weights = BTreeMap::new();
    for (name, w) in &raw.metric_weights {
        let metric = name
            .parse::<Metric>()
            .map_err(|e| broken("loss.metric_weights", e.to_string()))?;
        metric_weights.insert(metric, weight(&format!("loss.metric_weights.{name}"), *w)?);
    }
    let mut source_weights = BTreeMap::new();
    for (name, w) in &raw.source_weights {
        source_weights.insert(
            name.clone(),
            weight(&format!("loss.source_weights.{name}"), *w)?,
        );
    }
    Ok(Loss {
        kind,
        scale: raw.scale,
        na,
        infeasible_residual: raw.infeasible_residual,
        metric_weights,
        source_weights,
    })
}

fn weight(field: &str, w: f64) -> Check<f64> {
    if w.is_finite() && w >= 0.0 {
        Ok(w)
    } else {
        Err(broken(
            field.to_string(),
            format!("{w} must be a finite number ≥ 0"),
        ))
    }
}

/// Stage 2's algorithm, by name.
fn refine_method(raw: &RawSearch) -> Check<RefineMethod> {
    match raw.method.as_str() {
        "nelder-mead" => Ok(RefineMethod::NelderMead),
        "levenberg-marquardt" => Ok(RefineMethod::LevenbergMarquardt),
        other => Err(broken(
            "search.method",
            format!("expected nelder-mead or levenberg-marquardt, found `{other}`"),
        )),
    }
}

/// The grid design, which must suit the number of free parameters.
fn grid_kind(raw: &RawSearch, free: usize) -> Check<GridKind> {
    let grid = match raw.grid.as_str() {
        "sobol" => GridKind::Sobol,
        "lhs" => GridKind::Lhs,
        "cartesian" => GridKind::Cartesian,
        other => {
            return Err(broken(
                "search.grid",
                format!("expected sobol, lhs or cartesian, found `{other}`"),
            ));
        }
    };
    if grid == GridKind::Cartesian && free > 3 {
        return Err(broken(
            "search.grid",
            format!("cartesian is for at most 3 free parameters, this experiment has {free}"),
        ));
    }
    Ok(grid)
}

/// The Nelder-Mead settings: refinements, iterations, restarts and tolerances in range.
fn optimiser_limits(raw: &RawSearch) -> Check<()> {
    if raw.refine == 0 || raw.refine > raw.points {
        return Err(broken(
            "search.refine",
            format!(
                "{} must be between 1 and points ({})",
                raw.refine, raw.points
            ),
        ));
    }
    if !(1..=MAX_ITERS).contains(&raw.max_iters) {
        return Err(broken(
            "search.max_iters",
            format!("{} must be between 1 and {MAX_ITERS}", raw.max_iters),
        ));
    }
    if raw.restarts > MAX_RESTARTS {
        return Err(broken(
            "search.restarts",
            format!("{} must be at most {MAX_RESTARTS}", raw.restarts),
        ));
    }
    if !(raw.sd_tolerance > 0.0 && raw.sd_tolerance.is_finite()) {
        return Err(broken(
            "search.sd_tolerance",
            format!("{} must be positive", raw.sd_tolerance),
        ));
    }
    if !(raw.simplex_step > 0.0 && raw.simplex_step.is_finite()) {
        return Err(broken(
            "search.simplex_step",
            format!("{} must be positive", raw.simplex_step),
        ));
    }
    Ok(())
}

pub(super) fn search(raw: &RawSearch, free: usize) -> Check<Search> {
    let grid = grid_kind(raw, free)?;
    if grid == GridKind::Sobol && raw.points > 1 << 16 {
        return Err(broken(
            "search.points",
            format!("{} exceeds the 65536 Sobol points available", raw.points),
        ));
    }
    // A grid point costs a parameter vector and a loss in memory: a million of them is
    // far past any useful design and still fits in memory; 1e12 once aborted the process.
    if !(1..=MAX_GRID_POINTS).contains(&raw.points) {
        return Err(broken(
            "search.points",
            format!("{} must be between 1 and {MAX_GRID_POINTS}", raw.points),
        ));
    }
    optimiser_limits(raw)?;
    Ok(Search {
        grid,
        method: refine_method(raw)?,
        points: raw.points,
        refine: raw.refine,
        max_iters: raw.max_iters,
        sd_tolerance: raw.sd_tolerance,
        simplex_step: raw.simplex_step,
        restarts: raw.restarts,
        seed: raw.seed,
    })
}
