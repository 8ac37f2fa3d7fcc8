use std::sync::atomic::{AtomicBool, AtomicU64};

use rand::{Rng, SeedableRng};

use super::*;
use crate::bench::{BenchRow, embedded_rows};
use crate::catalog::Catalog;
use crate::experiment::ValidExperiment;
use crate::fit::prepare;

/// A shipped experiment with its embedded rows.
fn parts(name: &str) -> (ValidExperiment, Vec<BenchRow>, Catalog) {
    let catalog = Catalog::embedded().unwrap();
    let e = crate::experiment::shipped(name, &catalog).unwrap().unwrap();
    let rows = embedded_rows(&e.data, &catalog).unwrap();
    (e, rows, catalog)
}

/// A reproducible point of a space, away from its start.
fn random_point(dim: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..dim).map(|_| rng.random_range(-1.5..1.5)).collect()
}

#[test]
fn the_root_residuals_square_to_the_cost() {
    let (e, rows, catalog) = parts(crate::experiment::DEFAULT_EXPERIMENT);
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let evaluations = AtomicU64::new(0);
    let surface = Surface {
        objective: &objective,
        hypothesis: 0,
        moved: vec![None; objective.space.dim()],
        evaluations: &evaluations,
        block_rows: BLOCK_ROWS,
    };
    for seed in 0..3 {
        let u = random_point(objective.space.dim(), seed);
        let cost = objective.cost(0, &u);
        let squares = surface.at(u).cost;
        assert!(
            (squares - cost).abs() <= 1e-11 * cost,
            "½‖z‖² = {squares}, cost = {cost}"
        );
    }
}

#[test]
fn columns_over_the_moved_rows_equal_columns_over_every_row() {
    let (e, rows, catalog) = parts(crate::experiment::DEFAULT_EXPERIMENT);
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let dim = objective.space.dim();
    let moved: Vec<Option<Vec<u32>>> = (0..dim).map(|j| objective.rows_moved_by(0, j)).collect();
    let sparse = moved.iter().filter(|m| m.is_some()).count();
    assert!(
        sparse >= dim / 2,
        "most of the default's parameters are per group: {sparse}"
    );
    let evaluations = AtomicU64::new(0);
    let surface = |moved| Surface {
        objective: &objective,
        hypothesis: 0,
        moved,
        evaluations: &evaluations,
        block_rows: BLOCK_ROWS,
    };
    let (every_row, only_moved) = (surface(vec![None; dim]), surface(moved));
    // Away from the start, where clamps and kinks sit elsewhere.
    let point = every_row.at(random_point(dim, 7));
    let (dense_curvature, dense_gradient) = every_row.normal_equations(&point);
    let (curvature, gradient) = only_moved.normal_equations(&point);
    assert_eq!(dense_gradient, gradient);
    assert_eq!(dense_curvature, curvature);
}

#[test]
fn normal_equations_summed_over_blocks_of_rows_equal_the_whole() {
    let (e, rows, catalog) = parts(crate::experiment::DEFAULT_EXPERIMENT);
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let evaluations = AtomicU64::new(0);
    let blocks_of = |block_rows| Surface {
        block_rows,
        ..Surface::new(&objective, 0, &evaluations)
    };
    let (whole, blocked) = (blocks_of(BLOCK_ROWS), blocks_of(1000));
    assert!(rows.len() > 10 * 1000 && rows.len() <= BLOCK_ROWS);
    let point = whole.at(random_point(objective.space.dim(), 7));
    let (curvature, gradient) = whole.normal_equations(&point);
    evaluations.store(0, std::sync::atomic::Ordering::Relaxed);
    let (blocked_curvature, blocked_gradient) = blocked.normal_equations(&point);
    let columns = evaluations.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        columns,
        objective.space.dim() as u64,
        "a column counts once"
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (a.abs() + b.abs()) + 1e-300;
    for (a, b) in curvature.iter().zip(blocked_curvature.iter()) {
        assert!(close(*a, *b), "JᵀJ: {a} against {b} by blocks");
    }
    for (a, b) in gradient.iter().zip(blocked_gradient.iter()) {
        assert!(close(*a, *b), "Jᵀz: {a} against {b} by blocks");
    }
}

#[test]
fn a_run_never_ends_above_its_start_and_stops_on_its_own() {
    let (e, rows, catalog) = parts("serving-global");
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let (evaluations, cancel) = (AtomicU64::new(0), AtomicBool::new(false));
    for seed in 0..4 {
        let start = random_point(objective.space.dim(), seed);
        let run = levenberg_marquardt(&objective, 0, &start, 500, &evaluations, &cancel);
        assert!(run.cost <= objective.cost(0, &start), "seed {seed}");
        assert!(run.iterations < 500, "seed {seed}: hit the cap");
    }
}

#[test]
fn a_cancelled_run_returns_its_start() {
    let (e, rows, catalog) = parts("serving-global");
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let (evaluations, cancel) = (AtomicU64::new(0), AtomicBool::new(true));
    let start = random_point(objective.space.dim(), 1);
    let run = levenberg_marquardt(&objective, 0, &start, 500, &evaluations, &cancel);
    assert_eq!(run.u, start);
    assert_eq!(run.iterations, 0);
}

#[test]
fn it_reaches_what_nelder_mead_reaches_on_a_small_problem() {
    let (e, rows, catalog) = parts("serving-global");
    let objective = prepare(&e, &rows, &catalog).unwrap();
    let (evaluations, cancel) = (AtomicU64::new(0), AtomicBool::new(false));
    let start = random_point(objective.space.dim(), 2);
    let lm = levenberg_marquardt(&objective, 0, &start, 500, &evaluations, &cancel);
    let lm_evaluations = evaluations.swap(0, std::sync::atomic::Ordering::Relaxed);
    let nm =
        crate::fit::refine::nelder_mead(&objective, 0, &start, &e.search, &evaluations, &cancel)
            .unwrap();
    let nm_evaluations = evaluations.into_inner();
    assert!(
        lm.cost <= nm.cost * (1.0 + 1e-3),
        "Levenberg-Marquardt {} against Nelder-Mead {}",
        lm.cost,
        nm.cost
    );
    assert!(
        lm_evaluations < nm_evaluations,
        "{lm_evaluations} ≥ {nm_evaluations}"
    );
}
