//! `infercal size`: rank GPUs and deployments for a target rate under a TTFT budget.

use anyhow::Result;
use infercal::catalog::{Catalog, Gpu};
use infercal::perf::PerfModelKind;
use infercal::precision::Precision;
use infercal::report::sizing;
use infercal::scenario::check_lengths;
use infercal::size::{SizingQuestion, size};

use super::BadInput;
use super::args::{SizeArgs, TableFormat};
use super::common::{model_kind, positive, workload_parameters};

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

pub fn run(catalog: &Catalog, a: &SizeArgs) -> Result<String> {
    let w = &a.workload;
    let model = catalog.model(&w.model)?;
    check_lengths(model, w.isl, w.osl).map_err(|e| BadInput(format!("--isl/--osl: {e}")))?;
    let (gpus, precisions) = candidates(catalog, a)?;
    let params = workload_parameters(w, catalog)?;
    let loaded = &params.loaded;
    let assumptions = loaded.assumptions();
    let engine_of = |gpu: &str| w.engine.or_else(|| assumptions.engine.get(gpu).copied());
    let question = SizingQuestion {
        model,
        isl: w.isl,
        osl: w.osl,
        budget_s: positive("--ttft-budget", a.ttft_budget)?,
        target_rps: positive("--target-rps", a.target_rps)?,
        stat: w.stat,
        engine_of: &engine_of,
    };
    let model =
        model_kind(w.perf_model, loaded, PerfModelKind::Serving).with_params(loaded.params());
    let result = size(&question, &gpus, &precisions, model.as_ref());
    let shown = if a.all {
        result.deployable.iter().collect()
    } else {
        result.best_per_gpu()
    };
    Ok(match a.format {
        TableFormat::Md => {
            let mut text = format!(
                "{}\nParameters: {}.\n",
                sizing::to_markdown(&result, &shown),
                params.origin
            );
            text.push_str(&sizing::coverage_note(&shown, |slug| {
                let gpu = catalog.gpu(slug).ok()?;
                Some(
                    loaded
                        .params()
                        .serving
                        .coverage(&gpu.slug, &gpu.architecture),
                )
            }));
            text
        }
        TableFormat::Csv => sizing::to_csv(&shown),
        TableFormat::Json => sizing::to_json(&result, &shown)? + "\n",
    })
}
