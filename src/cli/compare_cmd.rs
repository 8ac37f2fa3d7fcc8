//! `infercal compare`: a performance model against a sizing chart, cell by cell.

use anyhow::Result;
use infercal::bench::load_file;
use infercal::catalog::Catalog;
use infercal::chart::{build, chart_cells};
use infercal::evaluate::scenario_for;
use infercal::fitted::params_file::ModelParams;
use infercal::perf::{PerfModel, PerfModelKind};

use super::BadInput;
use super::args::{CompareArgs, TableFormat};
use super::common::{load_params, model_kind};

fn perf_model(
    args: &CompareArgs,
    loaded: &mut ModelParams,
) -> Result<(PerfModelKind, Box<dyn PerfModel>)> {
    let kind = model_kind(args.perf_model, loaded, PerfModelKind::Reference);
    if let Some(e) = args.efficiency {
        if kind != PerfModelKind::Reference {
            return Err(
                BadInput("--efficiency applies to --perf-model reference only".into()).into(),
            );
        }
        if !(e > 0.0 && e <= 1.0) {
            return Err(BadInput(format!("--efficiency must be in (0, 1], got {e}")).into());
        }
        loaded.params_mut().reference.efficiency = e;
    }
    Ok((kind, kind.with_params(loaded.params())))
}

/// Runs the comparison and renders it in the requested format.
pub fn compare(catalog: &Catalog, args: &CompareArgs) -> Result<String> {
    let mut loaded = load_params(args.params.as_deref(), catalog)?;
    let (_, model) = perf_model(args, &mut loaded)?;
    let rows = load_file(&args.data, catalog)?;
    let cells = chart_cells(&rows);
    if cells.is_empty() {
        return Err(BadInput(format!(
            "{}: no rows with a TTFT budget and metric req_per_s_per_gpu or gpus_for_target: nothing to compare",
            args.data
        ))
        .into());
    }
    let mut outcomes = Vec::with_capacity(cells.len());
    for cell in &cells {
        outcomes.push(model.predict(&scenario_for(cell.first(), catalog, &loaded.assumptions())?));
    }
    let table = build(model.name(), &cells, &outcomes);
    Ok(match args.format {
        TableFormat::Md => table.to_markdown(),
        TableFormat::Csv => table.to_csv(),
        TableFormat::Json => table.to_json()? + "\n",
    })
}
