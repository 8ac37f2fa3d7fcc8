//! Calibration speed: one objective evaluation on the chart and on all 14,486 shipped rows,
//! one Levenberg-Marquardt Jacobian on all of them,
//! a 1024-point grid on one thread and on all threads, and the wall time of every shipped
//! experiment on its own data. Run with
//! `cargo bench --bench calibrate`; the figures go in the README.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use infercal::bench::{EMBEDDED_FILES, embedded_rows, load_csv};
use infercal::catalog::Catalog;
use infercal::experiment::{EMBEDDED, ValidExperiment, shipped};
use infercal::fit::levenberg::normal_equations;
use infercal::fit::{Options, calibrate, filter_rows, prepare};
use rayon::prelude::*;

fn experiment(name: &str, catalog: &Catalog) -> ValidExperiment {
    shipped(name, catalog)
        .expect("shipped experiment")
        .expect("valid")
}

/// The embedded rows of the files an experiment names.
fn rows_of(e: &ValidExperiment, catalog: &Catalog) -> Vec<infercal::bench::BenchRow> {
    embedded_rows(&e.data, catalog).expect("embedded data")
}

fn objective_on_all_rows(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("catalog");
    let e = experiment("serving-real", &catalog);
    let rows = filter_rows(&rows_of(&e, &catalog), &e.filter);
    let objective = prepare(&e, &rows, &catalog).expect("objective");
    let u = objective.space.initial();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let label = format!(
            "objective/serving-real ({} rows), {threads} thread(s)",
            rows.len()
        );
        c.bench_function(&label, |b| {
            b.iter(|| pool.install(|| objective.cost(0, black_box(&u))))
        });
    }
    // One Levenberg-Marquardt iteration's Jacobian: a column per free parameter, each over
    // the rows that parameter moves; compare with the evaluation above.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let label = format!(
        "jacobian/serving-real ({} columns), 1 thread",
        objective.space.dim()
    );
    c.bench_function(&label, |b| {
        b.iter(|| pool.install(|| normal_equations(&objective, 0, black_box(&u))))
    });
}

fn objective_and_grid(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("catalog");
    let (name, text) = EMBEDDED_FILES[0];
    let rows = load_csv(name, text, &catalog).expect("chart");
    let e = experiment("serving-per-gpu", &catalog);
    let rows = filter_rows(&rows, &e.filter);
    let objective = prepare(&e, &rows, &catalog).expect("objective");
    let u = objective.space.initial();
    c.bench_function("objective/serving-per-gpu (32 chart rows)", |b| {
        b.iter(|| objective.cost(0, black_box(&u)))
    });
    let points: Vec<Vec<f64>> = (0..1024)
        .map(|i| u.iter().map(|x| x + 0.001 * f64::from(i)).collect())
        .collect();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        c.bench_function(&format!("grid/1024 points, {threads} thread(s)"), |b| {
            b.iter(|| pool.install(|| points.par_iter().map(|p| objective.cost(0, p)).sum::<f64>()))
        });
    }
}

fn experiments(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("catalog");
    let cancel = AtomicBool::new(false);
    let mut group = c.benchmark_group("calibrate");
    group.sample_size(10);
    for (name, _) in EMBEDDED {
        let e = experiment(name, &catalog);
        let rows = rows_of(&e, &catalog);
        let options = Options::silent(&cancel);
        group.bench_function(*name, |b| {
            b.iter(|| calibrate(&e, &rows, &catalog, &options).expect("fits"))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    objective_and_grid,
    objective_on_all_rows,
    experiments
);
criterion_main!(benches);
