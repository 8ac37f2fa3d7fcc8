//! `infercal compare`: a performance model against a sizing chart, cell by cell.

use anyhow::Result;
use infercal::bench::load_file;
use infercal::catalog::Catalog;
use infercal::evaluate::scenario_for;
use infercal::perf::seed::{SeedModel, SeedParams};
use infercal::perf::{PerfModel, PerfModelKind};
use infercal::report::compare::{build, chart_cells};

use super::BadInput;
use super::args::{CompareArgs, PerfModelName, TableFormat};
use super::common::load_params;

fn perf_model(args: &CompareArgs) -> Result<Box<dyn PerfModel>> {
    if args.perf_model != PerfModelName::Seed {
        if args.efficiency.is_some() {
            return Err(BadInput("--efficiency applies to --perf-model seed only".into()).into());
        }
        return Ok(
            PerfModelKind::from(args.perf_model).with_params(&load_params(args.params.as_deref())?)
        );
    }
    let mut params = SeedParams::published();
    if let Some(e) = args.efficiency {
        if !(e > 0.0 && e <= 1.0) {
            return Err(BadInput(format!("--efficiency must be in (0, 1], got {e}")).into());
        }
        params.efficiency = e;
    }
    Ok(Box::new(SeedModel { params }))
}

/// Runs the comparison and renders it in the requested format.
pub fn compare(catalog: &Catalog, args: &CompareArgs) -> Result<String> {
    let model = perf_model(args)?;
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
        outcomes.push(model.predict(&scenario_for(cell.first(), catalog)?));
    }
    let table = build(model.name(), &cells, &outcomes);
    Ok(match args.format {
        TableFormat::Md => table.to_markdown(),
        TableFormat::Csv => table.to_csv(),
        TableFormat::Json => table.to_json() + "\n",
    })
}
