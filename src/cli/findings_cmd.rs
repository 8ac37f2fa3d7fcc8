//! `infercal findings`: regenerate FINDINGS.md from fresh runs of every shipped experiment.

use anyhow::Result;
use infercal::catalog::Catalog;
use infercal::experiment::{CHART_BEST_EXPERIMENT, CHART_EXPERIMENTS, DEFAULT_EXPERIMENT};
use infercal::findings;
use infercal::report::findings::findings_markdown;

use super::args::FindingsArgs;
use super::calibrate_cmd::load;
use super::common::thread_pool;
use super::output::write_atomic;

/// Runs every shipped experiment on its data and writes the findings.
pub fn run(catalog: &Catalog, args: &FindingsArgs) -> Result<String> {
    let (_, rows, _) = load(catalog, Some(CHART_BEST_EXPERIMENT))?;
    let experiments = CHART_EXPERIMENTS
        .iter()
        .map(|name| load(catalog, Some(name)).map(|(e, _, _)| e))
        .collect::<Result<Vec<_>>>()?;
    let (default, all_rows, _) = load(catalog, Some(DEFAULT_EXPERIMENT))?;
    let pool = thread_pool(args.threads)?;
    let runs =
        pool.install(|| findings::run(catalog, &rows, &experiments, (&default, &all_rows)))?;
    let text = findings_markdown(&runs);
    write_atomic(&args.out, text.as_bytes())?;
    Ok(format!(
        "wrote {} ({} lines)\n",
        args.out.display(),
        text.lines().count()
    ))
}
