//! `infercal size`: rank GPUs and deployments for a target rate under TTFT and ITL
//! budgets, by GPUs or, given prices, by cost.

use anyhow::Result;
use infercal::catalog::{Catalog, Gpu};
use infercal::perf::PerfModelKind;
use infercal::precision::Precision;
use infercal::prices::Prices;
use infercal::report::sizing;
use infercal::scenario::{Scenario, check_lengths};
use infercal::size::{Deployable, Sizing, SizingQuestion, size};

use super::BadInput;
use super::args::PlanForArg;
use super::args::{SizeArgs, TableFormat};
use super::common::{confidence, model_kind, positive, workload_parameters};
use infercal::interval::{Level, Regime};
use infercal::size::{PlanFor, SizingIntervals};

/// Runs the sizing and renders it.
/// The GPUs and precisions to try: as listed, else every GPU at fp8 and fp16.
fn candidates<'c>(catalog: &'c Catalog, a: &SizeArgs) -> Result<(Vec<&'c Gpu>, Vec<Precision>)> {
    let gpus: Vec<&Gpu> = if a.gpus.is_empty() {
        catalog.gpus().iter().collect()
    } else {
        a.gpus
            .iter()
            .map(|g| catalog.gpu(g))
            .collect::<Result<_, _>>()?
    };
    let precisions: Vec<Precision> = if a.precisions.is_empty() {
        vec![Precision::Fp8, Precision::Fp16]
    } else {
        a.precisions.clone()
    };
    Ok((gpus, precisions))
}

/// The deployments a table shows: every one with `--all`, else each GPU's best; at most
/// `--top`.
fn shown<'s>(result: &'s Sizing, a: &SizeArgs) -> Vec<&'s Deployable> {
    let mut shown = if a.all {
        result.deployable.iter().collect()
    } else {
        result.best_per_gpu()
    };
    shown.truncate(a.top.map_or(usize::MAX, |n| n as usize));
    shown
}

pub fn run(catalog: &Catalog, a: &SizeArgs) -> Result<String> {
    let w = &a.workload;
    let model = catalog.model(&w.model)?;
    check_lengths(model, w.isl, w.osl).map_err(|e| BadInput(format!("--isl/--osl: {e}")))?;
    let (gpus, precisions) = candidates(catalog, a)?;
    let params = workload_parameters(w, catalog)?;
    let loaded = &params.loaded;
    let assumptions = loaded.assumptions();
    let engine_of = |gpu: &str| w.engine.or_else(|| assumptions.engine.get(gpu).copied());
    let kind = model_kind(w.perf_model, loaded, PerfModelKind::Serving);
    let serving = &loaded.params().serving;
    let level_of = |gpu: &Gpu| Level::of(&serving.coverage(&gpu.slug, &gpu.architecture));
    let confidence = confidence(w.confidence)?;
    let uncertainty = loaded.parameter_uncertainty();
    let spread_of = |s: &Scenario<'_>| uncertainty.spread(kind, loaded.params(), s);
    let table = loaded.intervals_for(kind, w.engine);
    let intervals = table.as_deref().map(|table| SizingIntervals {
        table,
        confidence,
        level_of: &level_of,
        spread_of: &spread_of,
        regime: Regime::of_budget(serving.budget_load),
    });
    let plan_for = plan_for(a.plan_for, intervals.is_some())?;
    let prices = a
        .prices
        .as_deref()
        .map(|p| prices(p, catalog))
        .transpose()?;
    let question = SizingQuestion {
        model,
        isl: w.isl,
        osl: w.osl,
        budget_s: positive("--ttft-budget", a.ttft_budget)?,
        target_rps: positive("--target-rps", a.target_rps)?,
        itl_budget_s: a
            .itl_budget
            .map(|b| positive("--itl-budget", b))
            .transpose()?,
        stat: w.stat,
        engine_of: &engine_of,
        intervals,
        plan_for,
        prices: prices.as_ref(),
    };
    let model = kind.with_params(loaded.params());
    let result = size(&question, &gpus, &precisions, model.as_ref());
    let shown = shown(&result, a);
    Ok(match a.format {
        TableFormat::Md => {
            let notes = Notes {
                origin: &params.origin,
                confidence,
                prices: prices.as_ref(),
                unjudged_regime: intervals
                    .filter(|i| !i.table.judges(i.regime))
                    .map(|i| i.regime),
                engines_held_out: table.as_deref().and_then(|t| t.engines_held_out()),
            };
            markdown(catalog, a, &result, &shown, loaded.params(), &notes)
        }
        TableFormat::Csv => sizing::to_csv(&result, &shown),
        TableFormat::Json => sizing::to_json(&result, &shown)? + "\n",
    })
}

/// What the Markdown answer's notes say beside the table.
struct Notes<'a> {
    origin: &'a str,
    confidence: infercal::interval::Confidence,
    prices: Option<&'a Prices>,
    /// The budget's load regime, when no held-out row tested it.
    unjudged_regime: Option<Regime>,
    /// For an `--engine` without fitted rows: the held-out engines' residuals whose
    /// ranges the intervals take where wider.
    engines_held_out: Option<usize>,
}

/// The Markdown answer: the table, then where the parameters, the plan, the prices and
/// each GPU's values come from.
fn markdown(
    catalog: &Catalog,
    a: &SizeArgs,
    result: &infercal::size::Sizing,
    shown: &[&infercal::size::Deployable],
    params: &infercal::perf::registry::ParamSet,
    notes: &Notes<'_>,
) -> String {
    let mut text = format!(
        "{}\nParameters: {}; running batch capped at {:.0} sequences per instance (--max-running-batch), the KV cache binding first where it is smaller.\n{}",
        sizing::to_markdown(result, shown),
        notes.origin,
        params.serving.max_running_batch,
        sizing::plan_note(result, notes.confidence, a.ttft_budget)
    );
    if let Some(regime) = notes.unjudged_regime {
        text.push_str(&format!(
            "Too few of the calibration's held-out rows ran {}, the load a budget is searched under, to make a group of their own (a group needs {}): the intervals are every regime's ranges, hardly tested for it — read them as a lower bound on the error.\n",
            regime.as_str(),
            infercal::interval::MIN_CELL_ROWS
        ));
    }
    if let Some(rows) = notes.engines_held_out {
        text.push_str(&format!(
            "No rows of --engine {} were fitted: every interval is at least as wide as those of {rows} errors of engine families held out (engine cross-validation).\n",
            a.workload.engine.map_or("", |e| e.as_str())
        ));
    }
    if let Some(prices) = notes.prices {
        text.push_str(&sizing::cost_note(prices, shown));
    }
    text.push_str(&sizing::coverage_note(shown, |slug| {
        let gpu = catalog.gpu(slug).ok()?;
        Some(params.serving.coverage(&gpu.slug, &gpu.architecture))
    }));
    text
}

/// The price file at `path`, checked against the catalog.
fn prices(path: &std::path::Path, catalog: &Catalog) -> Result<Prices> {
    let shown = path.display().to_string();
    let text = infercal::textfile::read(path)
        .map_err(|e| BadInput(format!("cannot read {shown}: {e}")))?;
    Ok(Prices::parse(&shown, &text, catalog).map_err(|e| BadInput(e.to_string()))?)
}

/// `--plan-for`, which for `upper` needs the parameters to carry intervals.
fn plan_for(flag: PlanForArg, with_intervals: bool) -> Result<PlanFor> {
    match (flag, with_intervals) {
        (PlanForArg::Point, _) => Ok(PlanFor::Point),
        (PlanForArg::Upper, true) => Ok(PlanFor::Upper),
        (PlanForArg::Upper, false) => Err(BadInput(
            "--plan-for upper needs intervals, which these parameters do not carry (the shipped calibration and any `infercal calibrate` output without --intervals none do)".to_string(),
        )
        .into()),
    }
}
