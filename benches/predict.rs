//! Prediction speed: one call of each performance model on a chart scenario.
//! Run with `cargo bench --bench predict`; figures go in the README.

use criterion::{Criterion, criterion_group, criterion_main};
use infercal::catalog::Catalog;
use infercal::perf::PerfModel;
use infercal::perf::seed::SeedModel;
use infercal::scenario::{Condition, Deployment, Scenario, Stat};
use std::hint::black_box;

fn predictions(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("embedded catalog");
    let scenario = Scenario {
        model: catalog.model("llama-3.1-70b").unwrap(),
        gpu: catalog.gpu("h100-sxm").unwrap(),
        deployment: Deployment::default(),
        isl: 5000,
        osl: 500,
        condition: Condition::TtftBudget {
            budget_s: 3.0,
            target_rps: Some(10.0),
        },
        stat: Stat::Mean,
    };
    let seed = SeedModel::default();
    c.bench_function("seed/ttft_budget", |b| {
        b.iter(|| seed.predict(black_box(&scenario)))
    });
}

criterion_group!(benches, predictions);
criterion_main!(benches);
