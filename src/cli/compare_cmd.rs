//! `infercal compare`: a performance model against a sizing chart, cell by cell.

use anyhow::Result;
use infercal::bench::load_file;
use infercal::catalog::Catalog;
use infercal::perf::PerfModel;
use infercal::perf::seed::{SeedModel, SeedParams};
use infercal::report::compare::{build, chart_cells};
use infercal::scenario::{Deployment, Scenario};

use super::BadInput;
use super::args::{CompareArgs, PerfModelName, TableFormat};

fn perf_model(args: &CompareArgs) -> Result<Box<dyn PerfModel>> {
    match args.perf_model {
        PerfModelName::Seed => {
            let mut params = SeedParams::published();
            if let Some(e) = args.efficiency {
                if !(e > 0.0 && e <= 1.0) {
                    return Err(BadInput(format!("--efficiency must be in (0, 1], got {e}")).into());
                }
                params.efficiency = e;
            }
            Ok(Box::new(SeedModel { params }))
        }
    }
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
        let row = cell.first();
        let scenario = Scenario {
            model: catalog.model(&row.model)?,
            gpu: catalog.gpu(&row.gpu)?,
            deployment: Deployment {
                weights: row.precision.unwrap_or(Deployment::default().weights),
                tp: row.tp,
                ..Deployment::default()
            },
            isl: row.isl,
            osl: row.osl,
            condition: row.condition,
            stat: row.stat,
        };
        outcomes.push(model.predict(&scenario));
    }
    let table = build(model.name(), &cells, &outcomes);
    Ok(match args.format {
        TableFormat::Md => table.to_markdown(),
        TableFormat::Csv => table.to_csv(),
        TableFormat::Json => table.to_json() + "\n",
    })
}
