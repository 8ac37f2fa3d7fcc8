//! Stage 1 designs: space-filling points in the unit cube, seeded and independent of the
//! thread count. Sobol (Owen-scrambled, via `sobol_burley`), Latin hypercube, or a
//! Cartesian product for up to three parameters.
//!
//! ## References
//! - Sobol, "On the distribution of points in a cube" (1967); Burley, "Practical
//!   Hash-based Owen Scrambling" (JCGT 2020).
//! - McKay, Beckman & Conover, "A comparison of three methods for selecting values of
//!   input variables" (Technometrics 1979) — the Latin hypercube.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::experiment::GridKind;

/// `points` points (Cartesian: the smallest full product with at least that many) in
/// (0, 1)^`dim`.
pub fn design(kind: GridKind, points: usize, dim: usize, seed: u64) -> Vec<Vec<f64>> {
    match kind {
        GridKind::Sobol => sobol(points, dim, seed),
        GridKind::Lhs => latin_hypercube(points, dim, seed),
        GridKind::Cartesian => cartesian(points, dim),
    }
}

fn sobol(points: usize, dim: usize, seed: u64) -> Vec<Vec<f64>> {
    // sobol_burley takes a 32-bit seed; fold the 64-bit one so both halves matter.
    let seed = (seed ^ (seed >> 32)) as u32;
    (0..points as u32)
        .map(|i| {
            (0..dim as u32)
                .map(|d| f64::from(sobol_burley::sample(i, d, seed)))
                .collect()
        })
        .collect()
}

fn latin_hypercube(points: usize, dim: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(dim);
    for _ in 0..dim {
        let mut strata: Vec<usize> = (0..points).collect();
        strata.shuffle(&mut rng);
        columns.push(
            strata
                .iter()
                .map(|&s| (s as f64 + rng.random::<f64>()) / points as f64)
                .collect(),
        );
    }
    (0..points)
        .map(|i| columns.iter().map(|c| c[i]).collect())
        .collect()
}

fn cartesian(points: usize, dim: usize) -> Vec<Vec<f64>> {
    if dim == 0 {
        return vec![Vec::new()];
    }
    let levels = (points as f64).powf(1.0 / dim as f64).ceil().max(1.0) as usize;
    let total = levels.pow(dim as u32);
    (0..total)
        .map(|mut index| {
            (0..dim)
                .map(|_| {
                    let level = index % levels;
                    index /= levels;
                    (level as f64 + 0.5) / levels as f64
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_fill_the_open_unit_cube() {
        for kind in [GridKind::Sobol, GridKind::Lhs, GridKind::Cartesian] {
            let points = design(kind, 64, 3, 7);
            assert!(points.len() >= 64);
            assert!(
                points.iter().flatten().all(|x| *x >= 0.0 && *x < 1.0),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn designs_are_reproducible_and_seed_dependent() {
        assert_eq!(
            design(GridKind::Sobol, 16, 4, 1),
            design(GridKind::Sobol, 16, 4, 1)
        );
        assert_ne!(
            design(GridKind::Sobol, 16, 4, 1),
            design(GridKind::Sobol, 16, 4, 2)
        );
        assert_eq!(
            design(GridKind::Lhs, 16, 4, 1),
            design(GridKind::Lhs, 16, 4, 1)
        );
        assert_ne!(
            design(GridKind::Lhs, 16, 4, 1),
            design(GridKind::Lhs, 16, 4, 2)
        );
    }

    #[test]
    fn latin_hypercube_hits_every_stratum_once() {
        let points = design(GridKind::Lhs, 10, 2, 3);
        for d in 0..2 {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[d] * 10.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn cartesian_is_a_full_product() {
        let points = design(GridKind::Cartesian, 9, 2, 0);
        assert_eq!(points.len(), 9);
        assert!(points.contains(&vec![0.5 / 3.0, 2.5 / 3.0]));
    }
}
