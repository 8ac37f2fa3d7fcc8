//! Rendering of one prediction (`infercal predict`): aligned text for people and one JSON
//! document for scripts, each saying where the parameters came from and where the GPU's
//! efficiencies come from (its own fit, its architecture's, or the global values).

use serde_json::{Value, json};

use super::{condition_text, sig};
use crate::perf::Prediction;
use crate::perf::params::Coverage;
use crate::perf::{Outcome, PerfModelKind};
use crate::scenario::{Condition, Scenario};

/// The JSON document: the scenario, every predicted figure (or the reason it is
/// infeasible), the parameters' origin and the GPU's efficiency coverage.
pub fn to_json(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
    origin: &str,
    coverage: &Coverage,
) -> Result<String, serde_json::Error> {
    let mut doc = fields_json(s, kind, outcome)?;
    doc["parameters"] = json!(origin);
    doc["gpu_efficiencies"] = json!(match coverage {
        Coverage::Own => "own".to_string(),
        Coverage::Borrowed(arch) => format!("{arch} mean"),
        Coverage::Global => "global".to_string(),
    });
    serde_json::to_string_pretty(&doc)
}

/// The text view: a heading, one aligned line per figure, then the parameters' origin
/// and, for a GPU without its own fit, where its efficiencies come from.
pub fn to_text(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
    origin: &str,
    coverage: &Coverage,
) -> String {
    let mut text = body_text(s, kind, outcome);
    text.push_str(&format!("parameters            {origin}\n"));
    let gpu = &s.gpu.slug;
    let note = match coverage {
        Coverage::Own => return text,
        Coverage::Borrowed(arch) => {
            format!("no {gpu} rows fitted: efficiencies are the mean of the fitted {arch} GPUs")
        }
        Coverage::Global => format!("no {gpu} rows fitted: global efficiencies, read as rough"),
    };
    text.push_str(&format!("                      {note}\n"));
    text
}

fn fields_json(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
) -> Result<Value, serde_json::Error> {
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
            let mut v = serde_json::to_value(p)?;
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
    Ok(doc)
}

/// A feasible prediction's figures, as (label, value) lines.
fn figures(s: &Scenario<'_>, p: &Prediction) -> Vec<(&'static str, String)> {
    let ms = |x: f64| format!("{} ms", sig(x * 1e3, 4));
    let mut lines: Vec<(&'static str, String)> = vec![
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
    lines
}

fn body_text(s: &Scenario<'_>, kind: PerfModelKind, outcome: &Outcome) -> String {
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
            out.push_str(&format!("{:<22}no: {why}\n", "feasible"));
            return out;
        }
    };
    for (key, value) in figures(s, p) {
        out.push_str(&format!("{key:<22}{value}\n"));
    }
    out
}
