use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Standard normal draws (Box–Muller), seeded.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            let v: f64 = rng.random_range(0.0..1.0);
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

fn key(level: Level) -> Key {
    Key {
        metric: Metric::TtftS,
        regime: Regime::Static,
        level,
    }
}

fn table_of(level: Level, sigma: f64, n: usize, seed: u64) -> DiscrepancyTable {
    let residuals: Vec<(Key, f64)> = normals(seed, n)
        .into_iter()
        .map(|z| (key(level), sigma * z))
        .collect();
    DiscrepancyTable::from_residuals("test", &residuals)
}

#[test]
fn intervals_from_log_normal_residuals_cover_at_their_nominal_rate() {
    let sigma = 0.3;
    let table = table_of(Level::Own, sigma, 2000, 1);
    let fresh = normals(2, 20_000);
    for nominal in [0.5, 0.8, 0.95] {
        let interval = table
            .interval(key(Level::Own), 1.0, 0.0, Confidence::new(nominal).unwrap())
            .unwrap();
        let inside = fresh
            .iter()
            .map(|z| (sigma * z).exp())
            .filter(|m| interval.lo <= *m && *m <= interval.hi)
            .count();
        let coverage = inside as f64 / fresh.len() as f64;
        assert!(
            (coverage - nominal).abs() <= 0.05,
            "{nominal}: covered {coverage}"
        );
    }
}

/// A table of 500 own-level and 500 pooled-level residuals of spreads `own` and `pooled`,
/// and the relative half-width of an 80 % interval at a level.
fn two_levels(
    own: f64,
    pooled: f64,
) -> (DiscrepancyTable, impl Fn(&DiscrepancyTable, Level) -> f64) {
    let mut residuals: Vec<(Key, f64)> = Vec::new();
    for (level, sigma, seed) in [(Level::Own, own, 3), (Level::Pooled, pooled, 4)] {
        residuals.extend(
            normals(seed, 500)
                .into_iter()
                .map(|z| (key(level), sigma * z)),
        );
    }
    let width = |table: &DiscrepancyTable, level| {
        let i = table
            .interval(key(level), 1.0, 0.0, Confidence::default())
            .unwrap();
        i.relative_half_width(1.0)
    };
    (DiscrepancyTable::from_residuals("test", &residuals), width)
}

#[test]
fn a_less_informed_level_gets_a_wider_interval() {
    let (table, width) = two_levels(0.1, 0.35);
    assert!(width(&table, Level::Pooled) > 2.0 * width(&table, Level::Own));
    // The architecture level was never held out: it borrows the pooled level's residuals,
    // not the better informed own level's.
    let (cell, borrowed) = table.cell(key(Level::Architecture)).unwrap();
    assert!(borrowed);
    assert_eq!(cell.level, Some(Level::Pooled));
    assert!(width(&table, Level::Architecture) > 2.0 * width(&table, Level::Own));
}

#[test]
fn a_less_informed_level_is_never_narrower_than_a_better_informed_one() {
    let (table, width) = two_levels(0.4, 0.1);
    assert!((width(&table, Level::Pooled) - width(&table, Level::Own)).abs() < 1e-12);
    let (cell, borrowed) = table.widest_cell(key(Level::Pooled)).unwrap();
    assert!(borrowed);
    assert_eq!(cell.level, Some(Level::Own));
}

#[test]
fn a_group_too_small_falls_back_to_a_broader_one() {
    let mut residuals: Vec<(Key, f64)> = normals(5, 200)
        .into_iter()
        .map(|z| (key(Level::Own), 0.2 * z))
        .collect();
    let itl = Key {
        metric: Metric::ItlS,
        ..key(Level::Own)
    };
    residuals.extend(normals(6, MIN_CELL_ROWS - 1).into_iter().map(|z| (itl, z)));
    let table = DiscrepancyTable::from_residuals("test", &residuals);
    let (cell, borrowed) = table.cell(itl).unwrap();
    assert!(!borrowed);
    assert_eq!(cell.metric, None, "{}", cell.label());
    assert_eq!(cell.rows, 200 + MIN_CELL_ROWS - 1);
}

#[test]
fn the_same_residuals_give_the_same_table() {
    let a = table_of(Level::Own, 0.2, 300, 7);
    let b = table_of(Level::Own, 0.2, 300, 7);
    assert_eq!(a, b);
    let text = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<DiscrepancyTable>(&text).unwrap(), a);
}

#[test]
fn a_probability_within_inverts_the_quantiles() {
    let table = table_of(Level::Own, 0.25, 1000, 8);
    let (cell, _) = table.cell(key(Level::Own)).unwrap();
    for p in [0.05, 0.2, 0.5, 0.77, 0.9] {
        let x = cell.log_quantile(p);
        assert!((cell.probability_within(x) - p).abs() < 1e-9, "{p}");
    }
    assert!((cell.probability_within(1e6) - 0.995).abs() < 1e-12);
    assert!((cell.probability_within(-1.0) - 0.005).abs() < 1e-12);
    // A budget twice the prediction is met with a probability near Φ(ln 2 / 0.25) ≈ 0.997;
    // half of it, near 1 − 0.997.
    let p = table
        .probability_under(key(Level::Own), 1.0, 0.0, 2.0)
        .unwrap();
    assert!(p > 0.99, "{p}");
    let p = table
        .probability_under(key(Level::Own), 1.0, 0.0, 0.5)
        .unwrap();
    assert!(p < 0.01, "{p}");
    let p = table
        .probability_under(key(Level::Own), 1.0, 0.0, 1.0)
        .unwrap();
    assert!((p - 0.5).abs() < 0.01, "{p}");
}

#[test]
fn the_conformal_probability_widens_a_small_sample() {
    let p = conformal_probability(0.8, 30);
    assert!(p > 0.8, "{p}");
    let p = conformal_probability(0.8, 1_000_000);
    assert!((p - 0.8).abs() < 1e-5, "{p}");
    assert!((conformal_probability(0.99, 50) - 1.0).abs() < 1e-12);
}

#[test]
fn a_confidence_outside_one_to_ninety_nine_percent_is_refused() {
    for bad in [0.0, 1.0, 0.995, -0.5, f64::NAN, 80.0] {
        assert!(Confidence::new(bad).is_err(), "{bad}");
    }
    assert!(Confidence::new(0.5).is_ok() && Confidence::new(0.99).is_ok());
}

#[test]
fn each_load_condition_has_its_regime() {
    use crate::scenario::Condition;
    assert_eq!(
        Regime::of(&Condition::StaticBatch { batch_size: 1 }),
        Regime::Static
    );
    assert_eq!(
        Regime::of(&Condition::Concurrency { clients: 4.0 }),
        Regime::ClosedLoop
    );
    assert_eq!(
        Regime::of(&Condition::TtftBudget {
            budget_s: 1.0,
            target_rps: None,
            itl_budget_s: None,
        }),
        Regime::ClosedLoop
    );
    assert_eq!(
        Regime::of(&Condition::ArrivalRate { rps: 2.0 }),
        Regime::OpenLoop
    );
    assert_eq!(Regime::of(&Condition::Saturated), Regime::Saturated);
}

#[test]
fn a_budget_searched_under_poisson_arrivals_is_an_open_loop_question() {
    use crate::perf::params::BudgetLoad;
    let budget = Condition::TtftBudget {
        budget_s: 1.0,
        target_rps: None,
        itl_budget_s: None,
    };
    let closed = Regime::of_question(&budget, BudgetLoad::ClosedLoop);
    assert_eq!(closed, Regime::ClosedLoop);
    let poisson = Regime::of_question(&budget, BudgetLoad::Poisson);
    assert_eq!(poisson, Regime::OpenLoop);
    let batch = Condition::StaticBatch { batch_size: 4 };
    assert_eq!(
        Regime::of_question(&batch, BudgetLoad::Poisson),
        Regime::Static
    );
}

/// The whole path on data the model generates at known parameters with known log-normal
/// noise: fit, cross-validate, and count how many held-out rows land inside intervals
/// built from the other folds.
#[test]
fn cross_validated_intervals_cover_synthetic_noise_at_the_nominal_rate() {
    use crate::catalog::Catalog;
    use crate::cv::{Scheme, cross_validate};
    use crate::fit::Options;
    use crate::fit::tests::{recovery_experiment, synthetic_rows};
    let mut truth = crate::perf::registry::ParamSet::default();
    truth.serving.prefill_efficiency = 0.55;
    truth.serving.decode_efficiency = 0.7;
    let shapes: Vec<(u32, u32)> = [128, 512, 1024, 2048, 4096]
        .into_iter()
        .flat_map(|isl| [1, 4, 16, 64].map(|b| (isl, b)))
        .collect();
    let gpus = ["h100-sxm", "a100-sxm-80gb", "h200-sxm", "mi300x", "b200"];
    let mut rows = synthetic_rows(&truth, &gpus, &shapes);
    let sigma = 0.15;
    let noise = normals(9, rows.len());
    for (row, z) in rows.iter_mut().zip(noise) {
        let measured = row.value.value().unwrap() * (sigma * z).exp();
        row.value = crate::bench::Observed::Value(measured);
    }
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let e = recovery_experiment("global");
    let catalog = Catalog::embedded().unwrap();
    let cv = cross_validate(&e, &rows, &catalog, Scheme::KFold(5), &options).unwrap();
    let report = cv.coverage();
    let all = &report.scopes[0];
    assert_eq!(all.scope, "all");
    assert_eq!(all.rows, rows.len());
    for (c, nominal) in report.confidences.iter().enumerate() {
        let covered = all.covered[c];
        assert!((covered - nominal).abs() <= 0.05, "{nominal}: {covered}");
    }
    // The per-row intervals the plot draws are the ones the coverage counted.
    let intervals = cv.held_out_intervals(Confidence::default());
    let inside = (intervals.iter().zip(&cv.held_out))
        .filter(|(i, h)| {
            let (lo, hi) = i.unwrap();
            let measured = h.row.value.value().unwrap();
            lo <= measured && measured <= hi
        })
        .count();
    let at_80 = report
        .confidences
        .iter()
        .position(|&c| (c - 0.8).abs() < 1e-12);
    let covered_80 = all.covered[at_80.unwrap()];
    assert!((inside as f64 / rows.len() as f64 - covered_80).abs() < 1e-12);
}

#[test]
fn a_parameter_spread_combines_with_the_errors_as_independent_normals() {
    // Normal errors of σ 0.25 and a parameter spread of 0.25: together σ 0.25·√2.
    let table = table_of(Level::Own, 0.25, 4000, 11);
    let (cell, _) = table.cell(key(Level::Own)).unwrap();
    let wide = cell.widened(0.25);
    for p in [0.5, 0.8, 0.95] {
        let expected = crate::stats::normal_quantile(0.5 + 0.5 * p) * 0.25 * 2f64.sqrt();
        let got = wide.log_quantile(p);
        assert!(
            (got / expected - 1.0).abs() < 0.05,
            "{p}: {got} vs {expected}"
        );
    }
    assert_eq!(cell.widened(0.0), *cell, "no spread, no change");
    // Wider errors make a budget above the prediction less certain to be met.
    let alone = table
        .probability_under(key(Level::Own), 1.0, 0.0, 1.3)
        .unwrap();
    let with = table
        .probability_under(key(Level::Own), 1.0, 0.25, 1.3)
        .unwrap();
    assert!(with < alone && with > 0.5, "{with} vs {alone}");
    let at = |s: f64| {
        table
            .interval(key(Level::Own), 1.0, s, Confidence::default())
            .unwrap()
    };
    assert!(at(0.25).hi > at(0.0).hi && at(0.25).lo < at(0.0).lo);
}

#[test]
fn a_regime_with_too_few_held_out_rows_is_reported_untested() {
    let mut residuals: Vec<(Key, f64)> = normals(3, MIN_CELL_ROWS)
        .into_iter()
        .map(|z| (key(Level::Own), 0.2 * z))
        .collect();
    let closed = Key {
        regime: Regime::ClosedLoop,
        ..key(Level::Own)
    };
    residuals.extend(
        normals(4, MIN_CELL_ROWS - 1)
            .into_iter()
            .map(|z| (closed, z)),
    );
    let table = DiscrepancyTable::from_residuals("test", &residuals);
    assert!(table.judges(Regime::Static));
    assert!(!table.judges(Regime::ClosedLoop));
    assert!(!table.judges(Regime::Saturated));
    residuals.push((closed, 0.1));
    assert!(DiscrepancyTable::from_residuals("test", &residuals).judges(Regime::ClosedLoop));
}
