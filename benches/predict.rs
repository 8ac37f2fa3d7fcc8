//! Prediction speed: one call of each performance model per observable, on the chart's
//! 70B/H100 scenario (5000 in, 500 out). Run with `cargo bench --bench predict`; the
//! figures go in the README.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use infercal::catalog::Catalog;
use infercal::perf::PerfModel;
use infercal::perf::params::{BudgetLoad, ServingParams};
use infercal::perf::reference::ReferenceModel;
use infercal::perf::roofline::RooflineModel;
use infercal::perf::serving::ServingModel;
use infercal::scenario::{Condition, Deployment, Scenario, Stat};

/// The chart's 70B/H100 scenario (5000 in, 500 out), saturated.
fn chart_scenario(catalog: &Catalog) -> Scenario<'_> {
    let gpu = catalog.gpu("h100-sxm").unwrap();
    Scenario {
        model: catalog.model("llama-3.1-70b").unwrap(),
        gpu,
        deployment: Deployment::assumed(gpu, None, None, None),
        isl: 5000,
        osl: 500,
        condition: Condition::Saturated,
        stat: Stat::Mean,
    }
}

fn predictions(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("embedded catalog");
    let base = chart_scenario(&catalog);
    let budget = Condition::TtftBudget {
        budget_s: 3.0,
        target_rps: Some(10.0),
        itl_budget_s: None,
    };
    let serving = ServingModel::default();
    let poisson = ServingModel {
        params: ServingParams {
            budget_load: BudgetLoad::Poisson,
            ..ServingParams::default()
        },
    };
    // Both budgets at p99, the ITL one binding (the uncalibrated p99 gap at the TTFT
    // budget is 19.4 ms closed-loop): the load searched past the TTFT inversion.
    let slo = |itl_budget_s| Condition::TtftBudget {
        budget_s: 3.0,
        target_rps: Some(10.0),
        itl_budget_s: Some(itl_budget_s),
    };
    let cases: [(&str, &dyn PerfModel, Condition); 11] = [
        ("reference/ttft_budget", &ReferenceModel::default(), budget),
        ("roofline/ttft_budget", &RooflineModel::default(), budget),
        (
            "serving/static_batch",
            &serving,
            Condition::StaticBatch { batch_size: 16 },
        ),
        (
            "serving/concurrency",
            &serving,
            Condition::Concurrency { clients: 16.0 },
        ),
        (
            "serving/arrival_rate",
            &serving,
            Condition::ArrivalRate { rps: 0.5 },
        ),
        ("serving/saturated", &serving, Condition::Saturated),
        ("serving/ttft_budget_closed_loop", &serving, budget),
        ("serving/ttft_budget_poisson", &poisson, budget),
        ("serving/ttft_budget_p90", &serving, budget),
        ("serving/slo_budgets_p99_closed_loop", &serving, slo(0.0185)),
        ("serving/slo_budgets_p99_poisson", &poisson, slo(0.05)),
    ];
    for (name, model, condition) in cases {
        let stat = if name.ends_with("p90") {
            Stat::P90
        } else if name.contains("p99") {
            Stat::P99
        } else {
            Stat::Mean
        };
        let scenario = Scenario {
            condition,
            stat,
            ..base
        };
        c.bench_function(name, |b| b.iter(|| model.predict(black_box(&scenario))));
    }
}

/// A prediction as `predict` makes it with the shipped calibration: the figures and the
/// interval around each of them, with the parameters' part (one re-prediction per way the
/// fitted parameters reach the scenario). The calibration's parameter uncertainty is read
/// once, as `predict` reads it once per run.
fn with_intervals(c: &mut Criterion) {
    use infercal::interval::{Confidence, Level};
    use infercal::perf::PerfModelKind;
    let catalog = Catalog::embedded().expect("embedded catalog");
    let shipped = infercal::fitted::params_file::shipped_calibration().expect("shipped");
    let table = shipped
        .intervals(PerfModelKind::Serving)
        .expect("the shipped calibration carries intervals");
    let model = PerfModelKind::Serving.with_params(shipped.params());
    let uncertainty = shipped.parameter_uncertainty();
    let scenario = Scenario {
        condition: Condition::TtftBudget {
            budget_s: 3.0,
            target_rps: Some(10.0),
            itl_budget_s: None,
        },
        ..chart_scenario(&catalog)
    };
    let gpu = scenario.gpu;
    let level = Level::of(
        &shipped
            .params()
            .serving
            .coverage(&gpu.slug, &gpu.architecture),
    );
    c.bench_function("shipped/ttft_budget_with_intervals", |b| {
        b.iter(|| {
            let p = model.predict(black_box(&scenario)).unwrap();
            let spread =
                uncertainty.spread_around(PerfModelKind::Serving, shipped.params(), &scenario, &p);
            let confidence = Confidence::default();
            let question = (&scenario.condition, shipped.params().serving.budget_load);
            table.for_prediction(&p, question, level, spread, confidence)
        })
    });
}

criterion_group!(benches, predictions, with_intervals);
criterion_main!(benches);
