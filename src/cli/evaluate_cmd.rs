//! `infercal evaluate`: a performance model against every row of benchmark files.

use anyhow::Result;
use infercal::bench::load_file;
use infercal::catalog::Catalog;
use infercal::evaluate::evaluate_rows;
use infercal::perf::PerfModelKind;
use infercal::report::evaluate::EvaluationReport;

use super::args::{EvaluateArgs, TableFormat};
use super::common::{load_params, model_kind};

/// Loads the files, predicts every row and renders rows and summaries.
pub fn evaluate(catalog: &Catalog, a: &EvaluateArgs) -> Result<String> {
    let mut rows = Vec::new();
    for file in &a.data {
        rows.extend(load_file(file, catalog)?);
    }
    let loaded = load_params(a.params.as_deref())?;
    let kind = model_kind(a.perf_model, &loaded, PerfModelKind::Serving);
    let model = kind.with_params(&loaded.set);
    let report = EvaluationReport::new(
        kind.as_str(),
        evaluate_rows(&rows, catalog, model.as_ref(), &loaded.assumptions)?,
    );
    Ok(match a.format {
        TableFormat::Md => report.to_markdown(),
        TableFormat::Csv => report.to_csv(),
        TableFormat::Json => report.to_json() + "\n",
    })
}
