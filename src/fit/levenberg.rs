//! Stage 2 by Levenberg-Marquardt: the loss written as a sum of squares (each row's
//! robust loss as one squared root residual, each prior as one residual; see
//! [`Objective::root_residuals`]), its Jacobian by forward differences in the unbounded
//! coordinates, the damped Gauss-Newton step with Marquardt's diagonal scaling, and the
//! damping updated from the gain ratio. A step is kept only when the loss itself falls,
//! so the robust loss's curvature that Gauss-Newton leaves out can cost iterations but not
//! correctness. It needs `n + 2` evaluations an iteration and tens of iterations where
//! Nelder-Mead needs thousands of evaluations for the same 46 parameters.
//!
//! A step term (a feasibility penalty) has no slope; where a difference crosses a row's
//! feasibility edge, that row's column entry is zero rather than the jump over the step.
//!
//! ## References
//! - Levenberg, "A method for the solution of certain non-linear problems in least
//!   squares" (1944); Marquardt, "An algorithm for least-squares estimation of nonlinear
//!   parameters" (1963): the damped normal equations with diagonal scaling.
//! - Nielsen, "Damping parameter in Marquardt's method", IMM-REP-1999-05; Madsen,
//!   Nielsen & Tingleff, *Methods for non-linear least squares problems* (2004), §3.2:
//!   the gain ratio, the damping update and the stopping rules used here.
//! - Triggs, McLauchlan, Hartley & Fitzgibbon, "Bundle adjustment — a modern synthesis"
//!   (2000), §4.3: a robust loss minimised as squared root residuals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::objective::{Objective, PENALTY, Root};
use super::refine::Refined;

/// Forward-difference step in the unbounded coordinates: about √ε times the coordinates'
/// scale (they are logs and logits of order one), above the model's rounding.
const DIFFERENCE_STEP: f64 = 1e-6;
/// Stop when the gradient's largest component falls below this.
const GRADIENT_TOLERANCE: f64 = 1e-10;
/// Stop when a step is this small relative to the coordinates.
const STEP_TOLERANCE: f64 = 1e-10;
/// Stop when an accepted step lowers the loss by less than this share of it. Past that
/// point the runs creep along the kinks of the model (on the default experiment, 80 more
/// iterations moved the loss by 0.02 %), and the next start is a better use of the time.
const COST_TOLERANCE: f64 = 1e-6;
/// Initial damping relative to the largest diagonal entry of `JᵀJ` (Nielsen's τ).
const INITIAL_DAMPING: f64 = 1e-3;
/// Damping past which no step can lower the loss: the point is a minimum to rounding.
const MAX_DAMPING: f64 = 1e16;

/// The loss at one point as Levenberg-Marquardt sees it.
struct Point {
    u: Vec<f64>,
    rows: Vec<Root>,
    prior: Vec<f64>,
    cost: f64,
}

/// One column of the Jacobian: its entries on the rows the coordinate moves (all rows
/// when `rows` is `None`) and on the priors.
struct Column<'a> {
    rows: Option<&'a [u32]>,
    data: Vec<f64>,
    prior: Vec<f64>,
}

/// `Σ aᵢ·bᵢ`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

impl Column<'_> {
    /// The dot product with a full-length vector (rows, then priors).
    fn dot_full(&self, data: &[f64], prior: &[f64]) -> f64 {
        let on_rows: f64 = match self.rows {
            None => dot(&self.data, data),
            Some(rows) => rows
                .iter()
                .zip(&self.data)
                .map(|(&i, a)| a * data[i as usize])
                .sum(),
        };
        on_rows + dot(&self.prior, prior)
    }

    /// The dot product with another column (both sparse: a merge of sorted row lists).
    fn dot(&self, other: &Column<'_>) -> f64 {
        let (Some(mine), Some(theirs)) = (self.rows, other.rows) else {
            return match self.rows {
                None => other.dot_full(&self.data, &self.prior),
                Some(_) => self.dot_full(&other.data, &other.prior),
            };
        };
        let (mut a, mut b, mut on_rows) = (0, 0, 0.0);
        while a < mine.len() && b < theirs.len() {
            match mine[a].cmp(&theirs[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    on_rows += self.data[a] * other.data[b];
                    a += 1;
                    b += 1;
                }
            }
        }
        on_rows + dot(&self.prior, &other.prior)
    }
}

/// Evaluates the root residuals under one hypothesis, counting evaluations. `moved[j]`
/// lists the rows coordinate `j` can move (`None`: all), so a column costs those rows.
struct Surface<'a, 'c> {
    objective: &'a Objective<'c>,
    hypothesis: usize,
    moved: Vec<Option<Vec<u32>>>,
    evaluations: &'a AtomicU64,
    /// Rows of the Jacobian built at a time (see [`BLOCK_ROWS`]).
    block_rows: usize,
}

/// Rows of the Jacobian built at a time: above this, `JᵀJ` and `Jᵀz` are summed block by
/// block, so a million rows never hold every column at once (26 parameters, ten of them
/// moving every row: a hundred megabytes). Fewer rows are one block, as before.
const BLOCK_ROWS: usize = 1 << 16;

/// The rows a block of the Jacobian covers: `lo..hi`, listed, and whether it is the
/// first (which carries the priors' part).
struct Block {
    lo: u32,
    hi: u32,
    all: Vec<u32>,
    first: bool,
}

impl<'a, 'c> Surface<'a, 'c> {
    fn new(objective: &'a Objective<'c>, hypothesis: usize, evaluations: &'a AtomicU64) -> Self {
        let moved = (0..objective.space.dim())
            .map(|j| objective.rows_moved_by(hypothesis, j))
            .collect();
        Surface {
            objective,
            hypothesis,
            moved,
            evaluations,
            block_rows: BLOCK_ROWS,
        }
    }

    fn at(&self, u: Vec<f64>) -> Point {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let rows = self.objective.root_residuals(self.hypothesis, &u, None);
        let prior: Vec<f64> = self.objective.space.prior_residuals(&u).collect();
        let terms = rows.iter().map(|r| r.z).chain(prior.iter().copied());
        let squares = terms.map(|z| z * z).sum::<f64>();
        let cost = if squares.is_finite() {
            0.5 * squares
        } else {
            PENALTY
        };
        Point {
            u,
            rows,
            prior,
            cost,
        }
    }

    /// The rows column `j` covers: those its coordinate moves, within `block` if any.
    fn rows_of<'b>(&'b self, j: usize, block: Option<&'b Block>) -> Option<&'b [u32]> {
        match (self.moved[j].as_deref(), block) {
            (rows, None) => rows,
            (None, Some(block)) => Some(&block.all),
            (Some(rows), Some(block)) => {
                let from = rows.partition_point(|&i| i < block.lo);
                let to = rows.partition_point(|&i| i < block.hi);
                Some(&rows[from..to])
            }
        }
    }

    /// Column `j` of the Jacobian at `point` over `rows`: a forward difference, zero for a
    /// row whose term is a step on either side; the priors' part unless `with_prior` is
    /// false.
    fn column<'b>(
        &self,
        point: &Point,
        j: usize,
        rows: Option<&'b [u32]>,
        with_prior: bool,
    ) -> Column<'b> {
        // A column counts once, in the block that carries the priors.
        if with_prior {
            self.evaluations.fetch_add(1, Ordering::Relaxed);
        }
        let mut u = point.u.clone();
        u[j] += DIFFERENCE_STEP;
        let moved = self.objective.root_residuals(self.hypothesis, &u, rows);
        let index = |k: usize| rows.map_or(k, |rows| rows[k] as usize);
        let data = (moved.iter().enumerate())
            .map(|(k, after)| {
                let before = point.rows[index(k)];
                if before.step || after.step {
                    0.0
                } else {
                    (after.z - before.z) / DIFFERENCE_STEP
                }
            })
            .collect();
        let prior = if with_prior {
            let prior = self.objective.space.prior_residuals(&u);
            (prior.zip(&point.prior))
                .map(|(after, before)| (after - before) / DIFFERENCE_STEP)
                .collect()
        } else {
            Vec::new()
        };
        Column { rows, data, prior }
    }

    /// `JᵀJ` and `Jᵀz` at `point`, the columns in parallel; above `block_rows` rows, summed
    /// over blocks of rows.
    fn normal_equations(&self, point: &Point) -> (DMatrix<f64>, DVector<f64>) {
        let (m, step) = (point.rows.len(), self.block_rows);
        let z: Vec<f64> = point.rows.iter().map(|r| r.z).collect();
        if m <= step {
            return self.block_equations(point, None, &z);
        }
        let n = point.u.len();
        let (mut curvature, mut gradient) = (DMatrix::zeros(n, n), DVector::zeros(n));
        for lo in (0..m).step_by(step) {
            let hi = (lo + step).min(m);
            let block = Block {
                lo: lo as u32,
                hi: hi as u32,
                all: (lo as u32..hi as u32).collect(),
                first: lo == 0,
            };
            let (c, g) = self.block_equations(point, Some(&block), &z);
            curvature += c;
            gradient += g;
        }
        (curvature, gradient)
    }

    /// `JᵀJ` and `Jᵀz` over `block`'s rows (all rows when `None`), `z` every row's root
    /// residual at `point`.
    fn block_equations(
        &self,
        point: &Point,
        block: Option<&Block>,
        z: &[f64],
    ) -> (DMatrix<f64>, DVector<f64>) {
        let n = point.u.len();
        let with_prior = block.is_none_or(|b| b.first);
        let columns: Vec<Column<'_>> = (0..n)
            .into_par_iter()
            .map(|j| self.column(point, j, self.rows_of(j, block), with_prior))
            .collect();
        let mut curvature = DMatrix::zeros(n, n);
        for j in 0..n {
            for k in 0..=j {
                let value = columns[j].dot(&columns[k]);
                curvature[(j, k)] = value;
                curvature[(k, j)] = value;
            }
        }
        let gradient = columns.iter().map(|c| c.dot_full(z, &point.prior));
        (curvature, DVector::from_iterator(n, gradient))
    }
}

/// The damped step `(JᵀJ + λ·D)·δ = −Jᵀz`, with `D` the diagonal of `JᵀJ` floored so a
/// coordinate the data do not move still gets a finite step; `None` when it is singular.
fn damped_step(
    curvature: &DMatrix<f64>,
    gradient: &DVector<f64>,
    damping: f64,
) -> Option<DVector<f64>> {
    let largest = curvature.diagonal().max().max(f64::MIN_POSITIVE);
    let mut system = curvature.clone();
    for j in 0..system.nrows() {
        system[(j, j)] += damping * curvature[(j, j)].max(1e-9 * largest);
    }
    let step = system.cholesky()?.solve(&(-gradient));
    step.iter().all(|x| x.is_finite()).then_some(step)
}

/// `JᵀJ` and `Jᵀz` of the loss's root residuals at `u` under hypothesis `h`: the system
/// one iteration damps and solves, each column over the rows its parameter moves.
pub fn normal_equations(
    objective: &Objective<'_>,
    hypothesis: usize,
    u: &[f64],
) -> (DMatrix<f64>, DVector<f64>) {
    let evaluations = AtomicU64::new(0);
    let surface = Surface::new(objective, hypothesis, &evaluations);
    surface.normal_equations(&surface.at(u.to_vec()))
}

/// Runs Levenberg-Marquardt from `start` for at most `max_iters` iterations (each one
/// Jacobian). A cancelled run returns the best point it had.
pub fn levenberg_marquardt(
    objective: &Objective<'_>,
    hypothesis: usize,
    start: &[f64],
    max_iters: u64,
    evaluations: &AtomicU64,
    cancel: &AtomicBool,
) -> Refined {
    let surface = Surface::new(objective, hypothesis, evaluations);
    let mut point = surface.at(start.to_vec());
    let mut iterations = 0;
    // A start the model cannot evaluate has no slopes to follow.
    let evaluable = point.cost < PENALTY;
    let mut damping = f64::NAN;
    while evaluable && iterations < max_iters && !cancel.load(Ordering::Relaxed) {
        iterations += 1;
        let (curvature, gradient) = surface.normal_equations(&point);
        if gradient.amax() < GRADIENT_TOLERANCE {
            break;
        }
        if damping.is_nan() {
            damping = (INITIAL_DAMPING * curvature.diagonal().max()).max(f64::MIN_POSITIVE);
        }
        match next_point(
            &surface,
            &point,
            &curvature,
            &gradient,
            &mut damping,
            cancel,
        ) {
            Some(next) => {
                let gain = point.cost - next.cost;
                point = next;
                if gain <= COST_TOLERANCE * point.cost {
                    break;
                }
            }
            None => break,
        }
    }
    Refined {
        hypothesis,
        // The objective's own sum, not ½‖z‖² (equal to rounding): the stage compares this
        // cost with the grid's and with Nelder-Mead's, all summed that way.
        cost: objective.cost(hypothesis, &point.u),
        u: point.u,
        iterations,
    }
}

/// Tries damped steps from `point`, raising the damping until one lowers the loss (then
/// lowering it by the gain ratio, Nielsen's rule); `None` when the step vanishes or the
/// damping runs out: `point` is a minimum as far as the differences can tell.
fn next_point(
    surface: &Surface<'_, '_>,
    point: &Point,
    curvature: &DMatrix<f64>,
    gradient: &DVector<f64>,
    damping: &mut f64,
    cancel: &AtomicBool,
) -> Option<Point> {
    let mut growth = 2.0;
    let scale = point.u.iter().map(|x| x * x).sum::<f64>().sqrt();
    while *damping < MAX_DAMPING && !cancel.load(Ordering::Relaxed) {
        let Some(step) = damped_step(curvature, gradient, *damping) else {
            *damping *= growth;
            growth *= 2.0;
            continue;
        };
        if step.norm() <= STEP_TOLERANCE * (scale + STEP_TOLERANCE) {
            return None;
        }
        let u = point
            .u
            .iter()
            .zip(step.iter())
            .map(|(x, d)| x + d)
            .collect();
        let candidate = surface.at(u);
        // The fall the Gauss-Newton model predicts: −δᵀg − ½·δᵀJᵀJδ.
        let predicted = -step.dot(gradient) - 0.5 * step.dot(&(curvature * &step));
        let gain = (point.cost - candidate.cost) / predicted;
        if candidate.cost < point.cost && gain.is_finite() {
            *damping *= (1.0 - (2.0 * gain - 1.0).powi(3)).max(1.0 / 3.0);
            return Some(candidate);
        }
        *damping *= growth;
        growth *= 2.0;
    }
    None
}

#[cfg(test)]
#[path = "levenberg_tests.rs"]
mod tests;
