//! The cost of one benchmark row in a calibration, by kind of row (static batch,
//! closed-loop TTFT budget, closed-loop concurrency, saturated), on the shipped data under
//! the shipped calibration: the uncompiled path (`predict`: the deployment resolved and
//! the efficiencies looked up by name for every row) beside the compiled one
//! (`predict_deployed`: what the objective runs), paired in one run. Run with
//! `cargo bench --bench rows`; the figures go in the README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use infercal::bench::embedded_rows;
use infercal::catalog::Catalog;
use infercal::evaluate::scenario_for;
use infercal::experiment::{DEFAULT_EXPERIMENT, shipped};
use infercal::fitted::FittedModel;
use infercal::fitted::params_file::SHIPPED_CALIBRATION;
use infercal::perf::physics::{Deployed, PlacedParams, placement};
use infercal::scenario::{Condition, Scenario};

/// Which kind of row a condition makes.
fn kind(condition: &Condition) -> &'static str {
    match condition {
        Condition::StaticBatch { .. } => "static batch",
        Condition::TtftBudget { .. } => "closed-loop TTFT budget",
        Condition::Concurrency { .. } => "closed-loop concurrency",
        Condition::ArrivalRate { .. } => "open-loop arrival rate",
        Condition::Saturated => "saturated",
    }
}

fn rows(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("catalog");
    let e = shipped(DEFAULT_EXPERIMENT, &catalog)
        .expect("shipped experiment")
        .expect("valid");
    let fitted: FittedModel = serde_json::from_str(SHIPPED_CALIBRATION.1).expect("shipped");
    let model = fitted.predictor();
    let rows = embedded_rows(&e.data, &catalog).expect("embedded data");
    let scenarios: Vec<Scenario<'_>> = rows
        .iter()
        .map(|r| scenario_for(r, &catalog, &fitted.assumptions).expect("scenario"))
        .collect();
    let mut group = c.benchmark_group("row");
    for wanted in [
        "static batch",
        "closed-loop TTFT budget",
        "closed-loop concurrency",
        "open-loop arrival rate",
        "saturated",
    ] {
        let of_kind: Vec<&Scenario<'_>> = scenarios
            .iter()
            .filter(|s| kind(&s.condition) == wanted)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let compiled: Vec<(&Scenario<'_>, Deployed, PlacedParams)> = of_kind
            .iter()
            .filter_map(|s| {
                let deployed = Deployed::new(s).ok()?;
                let placed = PlacedParams::of(&fitted.params.serving, &placement(s));
                Some((*s, deployed, placed))
            })
            .collect();
        group.throughput(Throughput::Elements(of_kind.len() as u64));
        group.bench_function(
            format!("{wanted} ({} rows), uncompiled", of_kind.len()),
            |b| {
                b.iter(|| {
                    for s in &of_kind {
                        black_box(model.predict(black_box(s)).ok());
                    }
                })
            },
        );
        group.throughput(Throughput::Elements(compiled.len() as u64));
        group.bench_function(
            format!("{wanted} ({} rows), compiled", compiled.len()),
            |b| {
                b.iter(|| {
                    for (s, deployed, placed) in &compiled {
                        black_box(model.predict_deployed(black_box(s), deployed, placed).ok());
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, rows);
criterion_main!(benches);
