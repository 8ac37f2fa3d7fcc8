//! The grid stage of a calibration: every hypothesis × every point of the seeded design
//! evaluated in parallel (collected in index order, so the result does not depend on the
//! thread count), the starting points of the refinement chosen from it, and the guard that
//! an interrupted refinement never reports worse than the grid.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::objective::{self, Objective};
use super::refine::Refined;
use super::{Options, grid};
use crate::experiment::ValidExperiment;

/// The refined optimum, or the best grid point where refinement did not beat it (only
/// after Ctrl-C: cancelled evaluations cost the penalty). Its loss is always a real
/// evaluation, never the penalty standing in for cancelled work.
pub(super) fn never_worse_than_the_grid(
    best: Refined,
    grid: &[GridPoint],
    objective: &Objective<'_>,
) -> Refined {
    let grid_best = grid
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cost.total_cmp(&b.1.cost).then(a.0.cmp(&b.0)))
        .map(|(_, g)| g);
    let mut best = match grid_best {
        Some(g) if g.cost < best.cost => Refined {
            hypothesis: g.hypothesis,
            u: g.u.clone(),
            cost: g.cost,
            iterations: 0,
        },
        _ => best,
    };
    if best.cost >= objective::PENALTY {
        best.cost = objective.cost(best.hypothesis, &best.u);
    }
    best
}

/// A point of the grid stage with its cost (the initial values come first).
#[derive(Debug, Clone)]
pub(super) struct GridPoint {
    /// Index of the deployment hypothesis.
    pub(super) hypothesis: usize,
    /// Coordinates in the transformed (unbounded) space.
    pub(super) u: Vec<f64>,
    /// Objective value.
    pub(super) cost: f64,
}

pub(super) fn grid_stage(
    objective: &Objective<'_>,
    experiment: &ValidExperiment,
    seed: u64,
    options: &Options<'_>,
    evaluations: &AtomicU64,
) -> Vec<GridPoint> {
    let space = &objective.space;
    let mut points = vec![space.initial()];
    points.extend(
        grid::design(
            experiment.search.grid,
            experiment.search.points,
            space.dim(),
            seed,
        )
        .into_iter()
        .map(|p| {
            space
                .free
                .iter()
                .zip(p)
                .map(|(f, x)| f.coordinate_of_sample(x))
                .collect::<Vec<f64>>()
        }),
    );
    let jobs: Vec<(usize, &Vec<f64>)> = (0..objective.hypotheses.len())
        .flat_map(|h| points.iter().map(move |p| (h, p)))
        .collect();
    options.progress.start("grid", jobs.len() as u64);
    let costs: Vec<f64> = jobs
        .par_iter()
        .enumerate()
        .map(|(i, (h, u))| {
            // Each hypothesis's initial point is evaluated even after Ctrl-C, so an
            // interrupted fit still reports a real loss.
            let initial = i % points.len() == 0;
            let cost = if options.cancel.load(Ordering::Relaxed) && !initial {
                objective::PENALTY
            } else {
                evaluations.fetch_add(1, Ordering::Relaxed);
                objective.cost(*h, u)
            };
            options.progress.advance(1);
            cost
        })
        .collect();
    options.progress.finish();
    jobs.into_iter()
        .zip(costs)
        .map(|((hypothesis, u), cost)| GridPoint {
            hypothesis,
            u: u.clone(),
            cost,
        })
        .collect()
}

/// The `k` best grid points overall, plus the best of every hypothesis not among them.
pub(super) fn starting_points(grid: &[GridPoint], k: usize, hypotheses: usize) -> Vec<GridPoint> {
    let mut order: Vec<usize> = (0..grid.len()).collect();
    order.sort_by(|&a, &b| grid[a].cost.total_cmp(&grid[b].cost).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = order.iter().copied().take(k).collect();
    for h in 0..hypotheses {
        if !chosen.iter().any(|&i| grid[i].hypothesis == h)
            && let Some(&best) = order.iter().find(|&&i| grid[i].hypothesis == h)
        {
            chosen.push(best);
        }
    }
    chosen.into_iter().map(|i| grid[i].clone()).collect()
}
