//! `infercal predict`: one scenario through one performance model.

use anyhow::Result;
use infercal::catalog::Catalog;
use infercal::perf::params::Coverage;
use infercal::perf::physics::resolve_tp;
use infercal::perf::{Outcome, PerfModelKind};
use infercal::report::{condition_text, sig};
use infercal::scenario::{Condition, Deployment, Scenario, check_lengths, check_tp};
use serde_json::{Value, json};

use super::BadInput;
use super::args::{PredictArgs, RecordFormat};
use super::common::{Fallback, model_kind, parameters, positive, precision};

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
        Condition::TtftBudget {
            budget_s: positive("--ttft-budget", b)?,
            target_rps,
        }
    } else {
        Condition::Saturated
    })
}

/// Runs the prediction and renders it.
pub fn predict(catalog: &Catalog, a: &PredictArgs) -> Result<String> {
    let w = &a.workload;
    let model = catalog.model(&w.model)?;
    let gpu = catalog.gpu(&a.gpu)?;
    let params = parameters(
        w.params.as_deref(),
        Fallback::unless_uncalibrated(w.uncalibrated),
        catalog,
    )?;
    let loaded = &params.loaded;
    // A fitted file's deployment assumptions apply where the flags are silent.
    let weights = a
        .precision
        .as_deref()
        .map(|p| precision("--precision", p))
        .transpose()?;
    let weights = weights.or_else(|| loaded.assumptions.precision.get(&gpu.slug).copied());
    let tp =
        a.tp.or_else(|| loaded.assumptions.tp.get(&model.slug).copied());
    if let Some(tp) = tp {
        check_tp(model, tp).map_err(|e| BadInput(format!("--tp: {e}")))?;
    }
    check_lengths(model, w.isl, w.osl).map_err(|e| BadInput(format!("--isl/--osl: {e}")))?;
    let mut deployment = Deployment::assumed(gpu, weights, tp, None);
    deployment.kv_cache = a
        .kv_precision
        .as_deref()
        .map(|p| precision("--kv-precision", p))
        .transpose()?;
    let mut scenario = Scenario {
        model,
        gpu,
        deployment,
        isl: w.isl,
        osl: w.osl,
        condition: condition(a)?,
        stat: w.stat.into(),
    };
    let kind = model_kind(w.perf_model, loaded, PerfModelKind::Serving);
    let outcome = kind.with_params(&loaded.set).predict(&scenario);
    // An infeasible answer still says which TP it tried.
    scenario.deployment.tp = scenario
        .deployment
        .tp
        .or(resolve_tp(&scenario, &loaded.set.serving).ok());
    Ok(match a.format {
        RecordFormat::Json => {
            let mut doc = to_json(&scenario, kind, &outcome);
            doc["parameters"] = json!(params.origin);
            doc["gpu_efficiencies"] =
                json!(
                    match loaded.set.serving.coverage(&gpu.slug, &gpu.architecture) {
                        Coverage::Own => "own".to_string(),
                        Coverage::Borrowed(arch) => format!("{arch} mean"),
                        Coverage::Global => "global".to_string(),
                    }
                );
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        RecordFormat::Table => {
            let mut text = to_text(&scenario, kind, &outcome);
            text.push_str(&format!("parameters            {}\n", params.origin));
            let note = match loaded.set.serving.coverage(&gpu.slug, &gpu.architecture) {
                Coverage::Own => String::new(),
                Coverage::Borrowed(arch) => format!(
                    "no {} rows fitted: efficiencies are the mean of the fitted {arch} GPUs",
                    gpu.slug
                ),
                Coverage::Global => format!(
                    "no {} rows fitted: global efficiencies, read as rough",
                    gpu.slug
                ),
            };
            if !note.is_empty() {
                text.push_str(&format!("                      {note}\n"));
            }
            text
        }
    })
}

fn to_json(s: &Scenario<'_>, kind: PerfModelKind, outcome: &Outcome) -> Value {
    let mut doc = json!({
        "model": s.model.slug,
        "gpu": s.gpu.slug,
        "perf_model": kind.as_str(),
        "isl": s.isl,
        "osl": s.osl,
        "condition": s.condition,
        "stat": s.stat,
    });
    let fields = match outcome {
        Ok(p) => {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            v["feasible"] = json!(true);
            v["reason"] = Value::Null;
            v
        }
        Err(why) => json!({
            "feasible": false,
            "reason": why.to_string(),
            "reason_detail": why,
            "tp": s.deployment.tp,
            "precision": s.deployment.weights,
        }),
    };
    if let (Some(doc), Some(fields)) = (doc.as_object_mut(), fields.as_object()) {
        doc.extend(fields.clone());
    }
    doc
}

fn to_text(s: &Scenario<'_>, kind: PerfModelKind, outcome: &Outcome) -> String {
    let mut out = format!(
        "{} on {} ({} model), ISL {} / OSL {}, {}, {}\n",
        s.model.slug,
        s.gpu.slug,
        kind,
        s.isl,
        s.osl,
        condition_text(&s.condition),
        s.stat
    );
    let p = match outcome {
        Ok(p) => p,
        Err(why) => {
            out.push_str(&format!("feasible            no: {why}\n"));
            return out;
        }
    };
    let ms = |x: f64| format!("{} ms", sig(x * 1e3, 4));
    let mut lines = vec![
        ("feasible", "yes".to_string()),
        ("deployment", format!("{} weights, TP{}", p.precision, p.tp)),
        ("req/s per instance", sig(p.req_per_s, 4)),
        ("req/s per GPU", sig(p.req_per_s_per_gpu, 4)),
    ];
    if let (
        Some(gpus),
        Some(instances),
        Condition::TtftBudget {
            target_rps: Some(r),
            ..
        },
    ) = (p.gpus_for_target, p.instances_for_target, s.condition)
    {
        let whole = instances * u64::from(p.tp);
        lines.push((
            "GPUs for target",
            format!(
                "{} for {r} req/s ({instances} instances of TP{} = {whole} GPUs)",
                sig(gpus, 4),
                p.tp
            ),
        ));
    }
    lines.extend([
        ("TTFT", ms(p.ttft_s)),
        ("ITL", ms(p.itl_s)),
        ("end-to-end", ms(p.e2e_s)),
        ("output tok/s", sig(p.output_tok_s, 4)),
        ("running batch", sig(p.running_batch, 4)),
        (
            "KV capacity tokens",
            p.kv_capacity_tokens
                .map_or("not modelled".into(), |t| sig(t, 4)),
        ),
        ("prefill", ms(p.breakdown.prefill_s)),
        (
            "decode step",
            format!(
                "{} ({:?}-bound)",
                ms(p.breakdown.decode_step_s),
                p.breakdown.decode_bound
            )
            .to_lowercase(),
        ),
        ("queue wait", ms(p.breakdown.queue_wait_s)),
        ("all-reduce in prefill", ms(p.breakdown.allreduce_s)),
    ]);
    for (key, value) in lines {
        out.push_str(&format!("{key:<22}{value}\n"));
    }
    out
}
