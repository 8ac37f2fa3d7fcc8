//! Rendering of one prediction (`infercal predict`): aligned text for people and one JSON
//! document for scripts, each saying where the parameters came from and where the GPU's
//! efficiencies come from (its own fit, its architecture's, or the global values).

use serde_json::{Value, json};

use super::{condition_text, sig};
use crate::engine::Engine;
use crate::interval::{Level, MIN_CELL_ROWS, PredictionIntervals};
use crate::perf::Prediction;
use crate::perf::params::{Coverage, EngineCoverage};
use crate::perf::{Outcome, PerfModelKind};
use crate::scenario::{Assumptions, Condition, Metric, Scenario};

/// Which engine a prediction assumed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineChoice {
    /// The family, if any.
    pub engine: Option<Engine>,
    /// Whether `--engine` named it (else the calibration's most-fitted family on the GPU).
    pub from_flag: bool,
}

impl EngineChoice {
    /// `flag` if given, else the family `assumptions` record for `gpu`.
    pub fn of(flag: Option<Engine>, assumptions: &Assumptions, gpu: &str) -> EngineChoice {
        match flag {
            Some(engine) => EngineChoice {
                engine: Some(engine),
                from_flag: true,
            },
            None => EngineChoice {
                engine: assumptions.engine.get(gpu).copied(),
                from_flag: false,
            },
        }
    }

    /// `vllm (--engine)`, `vllm (most fitted rows on mi300x)` or `none`.
    fn text(self, gpu: &str) -> String {
        match (self.engine, self.from_flag) {
            (Some(e), true) => format!("{e} (--engine)"),
            (Some(e), false) => format!("{e} (most fitted rows on {gpu})"),
            (None, _) => "none named (engine-independent values; --engine picks one)".to_string(),
        }
    }
}

/// Where a prediction's numbers come from: the parameter file, the GPU's efficiencies and
/// the engine's values.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    /// The parameters' origin, as the CLI names it.
    pub parameters: &'a str,
    /// The level the GPU's efficiencies come from.
    pub gpu: Coverage,
    /// The engine assumed.
    pub engine: EngineChoice,
    /// The level the engine's values come from.
    pub engine_values: EngineCoverage,
    /// Each figure's interval, or why there are none.
    pub intervals: Result<PredictionIntervals<'a>, NoIntervals>,
}

/// Why a prediction has no intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoIntervals {
    /// The parameters carry no cross-validated discrepancy (literature defaults, a bare
    /// parameter file, a calibration run with `--intervals none`, or another model kind).
    NoTable,
    /// The scenario is infeasible: there is nothing to put an interval around.
    Infeasible,
}

impl NoIntervals {
    fn text(self) -> &'static str {
        match self {
            NoIntervals::NoTable => {
                "none: these parameters carry no cross-validated errors (a calibration made with intervals does, as the shipped one)"
            }
            NoIntervals::Infeasible => "none: infeasible",
        }
    }
}

/// What a prediction's intervals are made of, in one line.
fn intervals_text(i: &PredictionIntervals) -> String {
    let level = match i.level {
        Level::Own => "this GPU's own fitted values",
        Level::Architecture => "values borrowed from its architecture: wider",
        Level::Pooled => "values pooled over every fitted GPU: widest",
    };
    let spread = i.parameters.largest();
    let parameters = if i.parameters.undetermined {
        format!(
            "; the fitted parameters add up to ±{} % (1σ), some of them not determined by the data and taken as uncertain as GPUs differ: wider",
            percent(spread)
        )
    } else if spread > 0.0 {
        format!(
            "; the fitted parameters add up to ±{} % (1σ)",
            percent(spread)
        )
    } else {
        String::new()
    };
    let untested = i.unjudged_regime.map_or(String::new(), |regime| {
        format!(
            "; too few held-out rows ran {} to make a group of their own (a group needs {MIN_CELL_ROWS}), so these are every regime's ranges, hardly tested for this load: read them as a lower bound on the error",
            regime.as_str()
        )
    });
    let engine = i.engines_held_out.map_or(String::new(), |rows| {
        format!(
            "; no rows of this engine were fitted, so each range is at least that of {rows} errors of engine families held out (engine cross-validation): wider"
        )
    });
    format!(
        "{} ranges of {} held-out errors ({} cross-validation) for {level}{parameters}{engine}{untested}",
        i.confidence, i.residuals, i.scheme
    )
}

/// A log standard deviation as a percentage, to two significant figures.
fn percent(log_sd: f64) -> String {
    crate::format::sig((log_sd.exp() - 1.0) * 100.0, 2)
}

/// The JSON document: the scenario, every predicted figure (or the reason it is
/// infeasible), the parameters' origin and the levels the GPU's and the engine's values
/// come from.
pub fn to_json(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
    sources: &Sources<'_>,
) -> Result<String, serde_json::Error> {
    let mut doc = fields_json(s, kind, outcome)?;
    doc["parameters"] = json!(sources.parameters);
    doc["gpu_efficiencies"] = json!(match &sources.gpu {
        Coverage::Own => "own".to_string(),
        Coverage::Borrowed(arch) => format!("{arch} mean"),
        Coverage::Global => "global".to_string(),
    });
    doc["engine"] = json!(sources.engine.engine.map(Engine::as_str));
    doc["engine_from"] = json!(match (sources.engine.engine, sources.engine.from_flag) {
        (None, _) => "none",
        (Some(_), true) => "flag",
        (Some(_), false) => "most fitted rows on the GPU",
    });
    doc["engine_values"] = json!(engine_values_key(sources.engine_values));
    match &sources.intervals {
        Ok(i) => {
            for (metric, interval) in &i.figures {
                doc[format!("{}_lo", metric.as_str())] = json!(interval.lo);
                doc[format!("{}_hi", metric.as_str())] = json!(interval.hi);
            }
            let groups: serde_json::Map<String, Value> = i
                .figures
                .iter()
                .map(|(m, interval)| (m.as_str().to_string(), json!(interval.group.label())))
                .collect();
            let parameter_log_sd: serde_json::Map<String, Value> = i
                .figures
                .iter()
                .map(|(m, _)| (m.as_str().to_string(), json!(i.parameters.of(*m))))
                .collect();
            doc["interval"] = json!({
                "parameter_log_sd": parameter_log_sd,
                "parameters_undetermined": i.parameters.undetermined,
                "confidence": i.confidence.get(),
                "level": i.level,
                "scheme": i.scheme,
                "residuals": i.residuals,
                "groups": groups,
                "regime_untested": i.unjudged_regime.map(|r| r.as_str()),
                "engines_held_out_residuals": i.engines_held_out,
            });
        }
        Err(why) => {
            doc["interval"] = Value::Null;
            doc["interval_missing"] = json!(why.text());
        }
    }
    serde_json::to_string_pretty(&doc)
}

fn engine_values_key(c: EngineCoverage) -> &'static str {
    match c {
        EngineCoverage::Own => "own",
        EngineCoverage::Reference => "reference",
        EngineCoverage::Unfitted => "engine-independent (not fitted)",
        EngineCoverage::Independent => "engine-independent",
    }
}

/// The text view: a heading, one aligned line per figure, then the parameters' origin,
/// the engine, and for a GPU or engine without its own fit where the values come from.
pub fn to_text(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
    sources: &Sources<'_>,
) -> String {
    let mut text = body_text(s, kind, outcome, sources.intervals.as_ref().ok());
    text.push_str(&format!("parameters            {}\n", sources.parameters));
    text.push_str(&format!(
        "intervals             {}\n",
        match &sources.intervals {
            Ok(i) => intervals_text(i),
            Err(why) => why.text().to_string(),
        }
    ));
    let gpu = &s.gpu.slug;
    text.push_str(&format!(
        "engine                {}\n",
        sources.engine.text(gpu)
    ));
    if sources.engine_values == EngineCoverage::Unfitted {
        text.push_str(
            "                      no rows of this engine fitted: engine-independent values\n",
        );
    }
    let note = match &sources.gpu {
        Coverage::Own => return text,
        Coverage::Borrowed(arch) => {
            format!("no {gpu} rows fitted: efficiencies are the mean of the fitted {arch} GPUs")
        }
        Coverage::Global => format!(
            "no {gpu} rows fitted, nor of its architecture: efficiencies are the mean of every fitted GPU, read as rough"
        ),
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

/// A feasible prediction's figures, as (label, value) lines, each with its interval when
/// there is one: throughput and GPUs first, then latencies and the breakdown.
fn figures(
    s: &Scenario<'_>,
    p: &Prediction,
    intervals: Option<&PredictionIntervals>,
) -> Vec<(&'static str, String)> {
    let ranged = |metric: Metric, value: f64, show: &dyn Fn(f64) -> String| {
        Ranged(intervals).show(metric, value, show)
    };
    let plain = |x: f64| sig(x, 4);
    let mut lines: Vec<(&'static str, String)> = vec![
        ("feasible", "yes".to_string()),
        ("deployment", format!("{} weights, TP{}", p.precision, p.tp)),
        (
            "req/s per instance",
            ranged(Metric::ReqPerS, p.req_per_s, &plain),
        ),
        (
            "req/s per GPU",
            ranged(Metric::ReqPerSPerGpu, p.req_per_s_per_gpu, &plain),
        ),
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
                ranged(Metric::GpusForTarget, gpus, &plain),
                p.tp
            ),
        ));
    }
    lines.extend(latency_figures(p, Ranged(intervals)));
    lines
}

/// Figures with their intervals, when the prediction has them.
#[derive(Clone, Copy)]
struct Ranged<'i>(Option<&'i PredictionIntervals<'i>>);

impl Ranged<'_> {
    /// `value` shown by `show`, then `[lo – hi]` when `metric` has an interval.
    fn show(self, metric: Metric, value: f64, show: &dyn Fn(f64) -> String) -> String {
        match self.0.and_then(|i| i.of(metric)) {
            Some(i) => format!("{}  [{} – {}]", show(value), show(i.lo), show(i.hi)),
            None => show(value),
        }
    }
}

/// Latencies, output throughput and where the time goes.
fn latency_figures(p: &Prediction, intervals: Ranged<'_>) -> Vec<(&'static str, String)> {
    let ms = |x: f64| format!("{} ms", sig(x * 1e3, 4));
    let ranged = |metric, value, show: &dyn Fn(f64) -> String| intervals.show(metric, value, show);
    vec![
        ("TTFT", ranged(Metric::TtftS, p.ttft_s, &ms)),
        ("ITL", ranged(Metric::ItlS, p.itl_s, &ms)),
        ("end-to-end", ranged(Metric::E2eS, p.e2e_s, &ms)),
        (
            "output tok/s",
            ranged(Metric::OutputTokS, p.output_tok_s, &|x| sig(x, 4)),
        ),
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
    ]
}

fn body_text(
    s: &Scenario<'_>,
    kind: PerfModelKind,
    outcome: &Outcome,
    intervals: Option<&PredictionIntervals>,
) -> String {
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
    for (key, value) in figures(s, p, intervals) {
        out.push_str(&format!("{key:<22}{value}\n"));
    }
    out
}
