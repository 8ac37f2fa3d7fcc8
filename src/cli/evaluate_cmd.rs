//! `infercal evaluate`: a performance model against every row of benchmark files.

use anyhow::Result;
use infercal::bench::load_file_into;
use infercal::catalog::Catalog;
use infercal::evaluate::evaluate_owned_rows;
use infercal::perf::PerfModelKind;
use infercal::report::evaluate::EvaluationReport;

use super::args::{EvaluateArgs, TableFormat};
use super::common::{Fallback, model_kind, parameters};

/// Loads the files, predicts every row and renders the summaries (and, with `--rows`,
/// every row).
pub fn evaluate(catalog: &Catalog, a: &EvaluateArgs) -> Result<String> {
    let mut rows = Vec::new();
    for file in &a.data {
        load_file_into(file, catalog, &mut rows)?;
    }
    let fallback = if a.uncalibrated {
        Fallback::Literature
    } else {
        Fallback::Shipped
    };
    let params = parameters(a.params.as_deref(), fallback, catalog)?;
    let loaded = &params.loaded;
    let kind = model_kind(a.perf_model, loaded, PerfModelKind::Serving);
    let model = kind.with_params(&loaded.set);
    let mut report = EvaluationReport::new(
        kind.as_str(),
        evaluate_owned_rows(rows, catalog, model.as_ref(), &loaded.assumptions)?,
    );
    if !a.rows {
        report.rows = Vec::new();
    }
    Ok(match a.format {
        TableFormat::Md => format!("{}\nParameters: {}.\n", report.to_markdown(), params.origin),
        TableFormat::Csv if a.rows => report.to_csv(),
        TableFormat::Csv => report.summary_csv(),
        TableFormat::Json => report.to_json() + "\n",
    })
}
