//! `infercal predict`: one scenario through one performance model.

use anyhow::Result;
use infercal::catalog::Catalog;
use infercal::perf::PerfModelKind;
use infercal::perf::physics::resolve_tp;
use infercal::report::prediction::{self, EngineChoice};
use infercal::scenario::{Condition, Deployment, Scenario, check_lengths, check_tp};

use super::BadInput;
use super::args::{PredictArgs, RecordFormat};
use super::common::{confidence, model_kind, positive, workload_parameters};
use infercal::fitted::params_file::ModelParams;
use infercal::interval::{Confidence, DiscrepancyTable, Level, PredictionIntervals};
use infercal::perf::Outcome;

fn condition(a: &PredictArgs) -> Result<Condition> {
    Ok(if let Some(batch_size) = a.batch {
        Condition::StaticBatch { batch_size }
    } else if let Some(c) = a.concurrency {
        Condition::Concurrency {
            clients: positive("--concurrency", c)?,
        }
    } else if let Some(r) = a.rate {
        Condition::ArrivalRate {
            rps: positive("--rate", r)?,
        }
    } else if let Some(b) = a.ttft_budget {
        let target_rps = a
            .target_rps
            .map(|r| positive("--target-rps", r))
            .transpose()?;
        let itl_budget_s = a
            .itl_budget
            .map(|b| positive("--itl-budget", b))
            .transpose()?;
        Condition::TtftBudget {
            budget_s: positive("--ttft-budget", b)?,
            target_rps,
            itl_budget_s,
        }
    } else {
        Condition::Saturated
    })
}

/// The intervals of `outcome`, the prediction of `scenario` by `kind` under `loaded`, at
/// `level` and `confidence`; or why there are none.
fn intervals_of<'t>(
    (loaded, table): (&ModelParams, Option<&'t DiscrepancyTable>),
    kind: PerfModelKind,
    scenario: &Scenario<'_>,
    outcome: &Outcome,
    (level, confidence): (Level, Confidence),
) -> Result<PredictionIntervals<'t>, prediction::NoIntervals> {
    let table = table.ok_or(prediction::NoIntervals::NoTable)?;
    let p = outcome
        .as_ref()
        .map_err(|_| prediction::NoIntervals::Infeasible)?;
    let uncertainty = loaded.parameter_uncertainty();
    let spread = uncertainty.spread_around(kind, loaded.params(), scenario, p);
    let question = (&scenario.condition, loaded.params().serving.budget_load);
    Ok(table.for_prediction(p, question, level, spread, confidence))
}

/// Runs the prediction and renders it.
pub fn predict(catalog: &Catalog, a: &PredictArgs) -> Result<String> {
    let w = &a.workload;
    let model = catalog.model(&w.model)?;
    let gpu = catalog.gpu(&a.gpu)?;
    let params = workload_parameters(w, catalog)?;
    let loaded = &params.loaded;
    // A fitted file's deployment assumptions apply where the flags are silent.
    let weights = a
        .precision
        .or_else(|| loaded.assumptions().precision.get(&gpu.slug).copied());
    let tp =
        a.tp.or_else(|| loaded.assumptions().tp.get(&model.slug).copied());
    if let Some(tp) = tp {
        check_tp(model, tp).map_err(|e| BadInput(format!("--tp: {e}")))?;
    }
    check_lengths(model, w.isl, w.osl).map_err(|e| BadInput(format!("--isl/--osl: {e}")))?;
    let engine = EngineChoice::of(w.engine, &loaded.assumptions(), &gpu.slug);
    let mut deployment = Deployment::assumed(gpu, weights, tp, None).on(engine.engine);
    deployment.kv_cache = a.kv_precision;
    let mut scenario = Scenario {
        model,
        gpu,
        deployment,
        isl: w.isl,
        osl: w.osl,
        condition: condition(a)?,
        stat: w.stat,
    };
    let kind = model_kind(w.perf_model, loaded, PerfModelKind::Serving);
    let outcome = kind.with_params(loaded.params()).predict(&scenario);
    // An infeasible answer still says which TP it tried.
    scenario.deployment.tp =
        scenario
            .deployment
            .tp
            .or(resolve_tp(&scenario, &loaded.params().serving).ok());
    let serving = &loaded.params().serving;
    let coverage = serving.coverage(&gpu.slug, &gpu.architecture);
    let confidence = confidence(w.confidence)?;
    let level = Level::of(&coverage);
    let table = loaded.intervals_for(kind, engine.engine);
    let tables = (loaded, table.as_deref());
    let intervals = intervals_of(tables, kind, &scenario, &outcome, (level, confidence));
    let sources = prediction::Sources {
        parameters: &params.origin,
        gpu: coverage,
        engine,
        engine_values: serving.engine_coverage(engine.engine),
        intervals,
    };
    Ok(match a.format {
        RecordFormat::Json => prediction::to_json(&scenario, kind, &outcome, &sources)? + "\n",
        RecordFormat::Table => prediction::to_text(&scenario, kind, &outcome, &sources),
    })
}
