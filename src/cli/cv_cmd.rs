//! `infercal cv`: cross-validate one experiment and write cv.md, cv.csv and cv.svg, or
//! rank several by held-out error and write compare.md and compare.csv.

use std::path::PathBuf;

use anyhow::{Context, Result};
use infercal::catalog::Catalog;
use infercal::cv::compare::compare;
use infercal::cv::{Scheme, cross_validate};
use infercal::experiment::{CHART_EXPERIMENTS, DEFAULT_EXPERIMENT};
use infercal::fit::Options;
use infercal::report::cv::{compare_csv, compare_markdown, cv_csv, cv_markdown, cv_svg};

use super::BadInput;
use super::args::CvArgs;
use super::calibrate_cmd::{Bars, CANCEL, load};
use super::common::thread_pool;
use super::output::write_atomic;

/// Runs the cross-validation or the comparison; returns the text for stdout.
pub fn run(catalog: &Catalog, args: &CvArgs) -> Result<String> {
    let scheme: Scheme = args
        .scheme
        .parse()
        .map_err(|e: String| BadInput(format!("--scheme: {e}")))?;
    let bars = Bars::new(args.run.quiet);
    let options = Options {
        seed: args.run.seed,
        cancel: &CANCEL,
        progress: &bars,
    };
    let pool = thread_pool(args.run.threads)?;
    if let Some(names) = &args.compare {
        let names: Vec<String> = if names.is_empty() {
            CHART_EXPERIMENTS.iter().map(|n| n.to_string()).collect()
        } else {
            names.clone()
        };
        let mut experiments = Vec::new();
        for name in &names {
            let (e, rows, _) = load(catalog, Some(name))?;
            experiments.push((e, rows));
        }
        let ranking =
            pool.install(|| compare(&experiments, catalog, scheme, args.draws as usize, &options))?;
        let (scheme, entries) = (ranking.scheme, ranking.entries);
        let out = args.run.out.clone().unwrap_or_else(|| {
            PathBuf::from("out").join(format!("compare-{}", scheme.to_string().replace(':', "-")))
        });
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let text = compare_markdown(&scheme.to_string(), &entries);
        write_atomic(&out.join("compare.md"), text.as_bytes())?;
        write_atomic(&out.join("compare.csv"), compare_csv(&entries).as_bytes())?;
        return Ok(format!(
            "{text}\nwrote compare.md, compare.csv in {}\n",
            out.display()
        ));
    }
    let (e, rows, _) = load(
        catalog,
        Some(args.experiment.as_deref().unwrap_or(DEFAULT_EXPERIMENT)),
    )?;
    let cv = pool.install(|| cross_validate(&e, &rows, catalog, scheme, &options))?;
    let out = args
        .run
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&e.name));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let markdown = cv_markdown(&cv);
    let svg = cv_svg(&cv).map_err(|e| anyhow::anyhow!("drawing a plot: {e}"))?;
    write_atomic(&out.join("cv.md"), markdown.as_bytes())?;
    write_atomic(&out.join("cv.csv"), cv_csv(&cv).as_bytes())?;
    write_atomic(&out.join("cv.svg"), svg.as_bytes())?;
    let summary = markdown
        .split("\n## Folds")
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(format!(
        "{summary}\nwrote cv.md, cv.csv, cv.svg in {}\n",
        out.display()
    ))
}
