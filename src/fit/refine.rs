//! Stage 2: Nelder-Mead (argmin) from a grid point, in the unbounded coordinates. The
//! initial simplex is the start plus one vertex per coordinate offset by the experiment's
//! `simplex_step`; it stops on the spread of the vertex costs or the iteration cap. A
//! cancelled run returns the best point it had evaluated before the cancellation.
//!
//! ## References
//! - Nelder & Mead, "A simplex method for function minimization" (1965); argmin's
//!   `NelderMead` (Kroboth et al., argmin 0.11).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;

use super::FitError;
use super::objective::{Objective, PENALTY};
use crate::experiment::Search;

/// The objective seen by argmin: one hypothesis, a shared evaluation counter and a
/// cancellation flag. It borrows the objective so runs on many threads share it.
struct Surface<'a, 'c> {
    objective: &'a Objective<'c>,
    hypothesis: usize,
    evaluations: &'a AtomicU64,
    cancel: &'a AtomicBool,
}

impl CostFunction for Surface<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Self::Param) -> Result<Self::Output, argmin::core::Error> {
        // After cancellation every new point costs the penalty, so the simplex's best
        // vertex stays the best point evaluated before it; the run then ends quickly.
        if self.cancel.load(Ordering::Relaxed) {
            return Ok(PENALTY);
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        Ok(self.objective.cost(self.hypothesis, u))
    }
}

/// Where a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Refined {
    /// Hypothesis refined.
    pub hypothesis: usize,
    /// Best coordinates.
    pub u: Vec<f64>,
    /// Their cost.
    pub cost: f64,
    /// Iterations taken.
    pub iterations: u64,
}

/// Runs Nelder-Mead from `start`, then restarts it from its best point with a fresh
/// simplex (up to `search.restarts` times) while that still lowers the cost: a collapsed
/// simplex is Nelder-Mead's usual way of stopping short of a minimum.
pub fn nelder_mead(
    objective: &Objective<'_>,
    hypothesis: usize,
    start: &[f64],
    search: &Search,
    evaluations: &AtomicU64,
    cancel: &AtomicBool,
) -> Result<Refined, FitError> {
    let mut best = one_run(objective, hypothesis, start, search, evaluations, cancel)?;
    for _ in 0..search.restarts {
        let again = one_run(objective, hypothesis, &best.u, search, evaluations, cancel)?;
        let improved = again.cost < best.cost - 1e-12 * best.cost.abs().max(1.0);
        let iterations = best.iterations + again.iterations;
        if again.cost <= best.cost {
            best = Refined {
                iterations,
                ..again
            };
        }
        if !improved || cancel.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(best)
}

/// One Nelder-Mead run from `start`.
fn one_run(
    objective: &Objective<'_>,
    hypothesis: usize,
    start: &[f64],
    search: &Search,
    evaluations: &AtomicU64,
    cancel: &AtomicBool,
) -> Result<Refined, FitError> {
    let optimiser = |e: argmin::core::Error| FitError::Optimiser(e.to_string());
    let mut simplex = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut vertex = start.to_vec();
        vertex[i] += search.simplex_step;
        simplex.push(vertex);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(search.sd_tolerance)
        .map_err(optimiser)?;
    let problem = Surface {
        objective,
        hypothesis,
        evaluations,
        cancel,
    };
    let result = Executor::new(problem, solver)
        .configure(|state| state.max_iters(search.max_iters))
        .run()
        .map_err(optimiser)?;
    let state = result.state();
    let u = state
        .get_best_param()
        .cloned()
        .unwrap_or_else(|| start.to_vec());
    Ok(Refined {
        hypothesis,
        cost: state.get_best_cost(),
        u,
        iterations: state.get_iter(),
    })
}
