//! `infercal cv`: cross-validate one experiment and write cv.md, cv.csv and cv.svg, or
//! rank several by held-out error and write compare.md and compare.csv.

use std::path::PathBuf;

use std::sync::atomic::Ordering;

use anyhow::Result;
use infercal::catalog::Catalog;
use infercal::cv::compare::{compare, resolved_scheme};
use infercal::cv::{Scheme, cross_validate, new_user};
use infercal::experiment::{CHART_EXPERIMENTS, DEFAULT_EXPERIMENT};
use infercal::fit::Options;
use infercal::report::cv::{compare_csv, compare_markdown, cv_csv, cv_markdown, cv_svg};

use super::CommandOutput;
use super::args::CvArgs;
use super::calibrate_cmd::{Bars, CANCEL, install_interrupt_handler, load};
use super::common::thread_pool;
use super::output::{MANIFEST, ResultSet};

/// Runs the cross-validation or the comparison; returns the text for stdout.
pub fn run(catalog: &Catalog, args: &CvArgs) -> Result<CommandOutput> {
    let scheme = args.scheme;
    install_interrupt_handler();
    let bars = Bars::new(args.run.quiet);
    let options = Options {
        seed: args.seed,
        cancel: &CANCEL,
        progress: &bars,
    };
    let pool = thread_pool(args.run.threads)?;
    if let Some(names) = &args.compare {
        return rank(catalog, args, names, scheme, &options, &pool);
    }
    if let Some(runs) = args.new_user {
        return new_users(catalog, args, runs as usize, &options, &pool);
    }
    let (e, rows, _) = load(
        catalog,
        Some(args.experiment.as_deref().unwrap_or(DEFAULT_EXPERIMENT)),
    )?;
    let resolved = scheme.resolve(&rows);
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("out").join(format!(
            "cv-{}-{}",
            e.name,
            file_safe(&resolved.to_string())
        ))
    });
    let mut set = ResultSet::begin(&out, &["cv.md", "cv.csv", "cv.svg"])?;
    let cv = pool.install(|| cross_validate(&e, &rows, catalog, scheme, &options))?;
    let markdown = cv_markdown(&cv);
    let svg = cv_svg(&cv)?;
    set.write("cv.md", markdown.as_bytes())?;
    set.write("cv.csv", cv_csv(&cv).as_bytes())?;
    set.write("cv.svg", svg.as_bytes())?;
    let (written, code) = set.finish("cv", CANCEL.load(Ordering::SeqCst))?;
    let summary = markdown
        .split("\n## Folds")
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(CommandOutput {
        stdout: format!(
            "{summary}\nwrote cv.md, cv.csv, cv.svg, {MANIFEST} in {}\n",
            written.display()
        ),
        code,
    })
}

/// `cv --compare`: ranks the experiments by held-out error and writes the set.
fn rank(
    catalog: &Catalog,
    args: &CvArgs,
    names: &[String],
    scheme: Scheme,
    options: &Options<'_>,
    pool: &rayon::ThreadPool,
) -> Result<CommandOutput> {
    let names: Vec<String> = if names.is_empty() {
        CHART_EXPERIMENTS.iter().map(|n| n.to_string()).collect()
    } else {
        names.to_vec()
    };
    let mut experiments = Vec::new();
    for name in &names {
        let (e, rows, _) = load(catalog, Some(name))?;
        experiments.push((e, rows));
    }
    let resolved = resolved_scheme(&experiments, scheme);
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("out").join(format!("compare-{}", file_safe(&resolved.to_string())))
    });
    let mut set = ResultSet::begin(&out, &["compare.md", "compare.csv"])?;
    let ranking =
        pool.install(|| compare(&experiments, catalog, scheme, args.draws as usize, options))?;
    let (scheme, entries) = (ranking.scheme, ranking.entries);
    let text = compare_markdown(&scheme.to_string(), &entries);
    set.write("compare.md", text.as_bytes())?;
    set.write("compare.csv", compare_csv(&entries).as_bytes())?;
    let (written, code) = set.finish("cv", CANCEL.load(Ordering::SeqCst))?;
    Ok(CommandOutput {
        stdout: format!(
            "{text}\nwrote compare.md, compare.csv, {MANIFEST} in {}\n",
            written.display()
        ),
        code,
    })
}

/// `kfold:10` as a directory name.
fn file_safe(scheme: &str) -> String {
    scheme.replace(':', "-")
}

/// `cv --new-user`: the new-user emulation on every chosen pair, as one table.
fn new_users(
    catalog: &Catalog,
    args: &CvArgs,
    runs: usize,
    options: &Options<'_>,
    pool: &rayon::ThreadPool,
) -> Result<CommandOutput> {
    let (e, rows, _) = load(
        catalog,
        Some(args.experiment.as_deref().unwrap_or(DEFAULT_EXPERIMENT)),
    )?;
    let rows = infercal::fit::filter_rows(&rows, &e.filter);
    let draws = args.draws as usize;
    let mut results = Vec::new();
    for (gpu, engine) in new_user::pairs(&rows) {
        results.push(pool.install(|| {
            new_user::emulate(&e, &rows, catalog, options, (&gpu, engine), (runs, draws))
        })?);
    }
    let stdout = format!(
        "# New users of `{}`: {runs} runs of one (GPU, engine) pair held out\n\n{}",
        e.name,
        new_user::to_markdown(&results)
    );
    let code = if CANCEL.load(Ordering::SeqCst) {
        super::INTERRUPTED
    } else {
        0
    };
    Ok(CommandOutput { stdout, code })
}
