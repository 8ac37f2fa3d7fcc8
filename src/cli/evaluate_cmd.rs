//! `infercal evaluate`: a performance model against every row of benchmark files.

use anyhow::Result;
use infercal::bench::for_each_row;
use infercal::catalog::Catalog;
use infercal::evaluate::{ScopeSummaries, evaluate_row, parameter_spreads};
use infercal::interval::coverage::{CoverageTally, HeldOutError};
use infercal::interval::{Key, Level};
use infercal::perf::PerfModelKind;
use infercal::report::evaluation::EvaluationReport;

use super::args::{EvaluateArgs, TableFormat};
use super::common::{Fallback, model_kind, parameters};

/// Loads the files, predicts every row and renders the summaries (and, with `--rows`,
/// every row).
pub fn evaluate(catalog: &Catalog, a: &EvaluateArgs) -> Result<String> {
    let fallback = Fallback::unless_uncalibrated(a.uncalibrated);
    let params = parameters(a.params.as_deref(), fallback, catalog)?;
    let loaded = &params.loaded;
    let kind = model_kind(a.perf_model, loaded, PerfModelKind::Serving);
    let model = kind.with_params(loaded.params());
    // Rows are evaluated as they stream in: without --rows only the summaries' two
    // numbers per row are kept, so a file of millions of rows needs little memory.
    let mut scopes = ScopeSummaries::default();
    let table = loaded.intervals(kind);
    let uncertainty = loaded.parameter_uncertainty();
    let mut coverage = CoverageTally::default();
    let mut kept = Vec::new();
    let mut failed = None;
    for file in &a.data {
        for_each_row(file, catalog, &mut |row| match evaluate_row(
            row,
            catalog,
            model.as_ref(),
            &loaded.assumptions(),
        ) {
            Ok(evaluation) => {
                scopes.add(&evaluation);
                if let (Some(table), Some(ratio)) = (table, evaluation.ratio) {
                    let level =
                        Level::of_gpu(&loaded.params().serving, catalog, &evaluation.row.gpu);
                    let one = std::slice::from_ref(&evaluation.row);
                    let (set, a) = (loaded.params(), &loaded.assumptions());
                    let held = HeldOutError {
                        key: Key::of_row(&evaluation.row, level),
                        residual: -ratio.ln(),
                        log_sd: parameter_spreads(one, catalog, kind, set, a, &uncertainty)[0],
                    };
                    coverage.add(table, &evaluation.row, held);
                }
                if a.rows {
                    kept.push(evaluation);
                }
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        })?;
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    let mut report = EvaluationReport::from_scopes(kind.as_str(), kept, &scopes);
    report.coverage = table.map(|_| coverage.report());
    Ok(match a.format {
        TableFormat::Md => format!("{}\nParameters: {}.\n", report.to_markdown(), params.origin),
        TableFormat::Csv if a.rows => report.to_csv(),
        TableFormat::Csv => report.summary_csv(),
        TableFormat::Json => report.to_json()? + "\n",
    })
}
