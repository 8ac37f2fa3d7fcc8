//! `infercal calibrate`: resolve and validate the experiment, load its data, fit with
//! progress bars on stderr, write every output atomically, print a one-screen summary.
//! Ctrl-C stops the search; the best parameters so far are written, marked interrupted.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use infercal::bench::{embedded_file, load_file_with_provenance};
use infercal::catalog::Catalog;
use infercal::cv::{Scheme, for_intervals};
use infercal::experiment::{
    DEFAULT_EXPERIMENT, EMBEDDED, ValidExperiment, content_hash, parse, validate,
};
use infercal::fit::{Calibration, Options, Progress, calibrate_owned_then};
use infercal::fitted::Tables;
use infercal::interval::coverage::CoverageReport;
use infercal::interval::{Confidence, DiscrepancyTable};
use infercal::report::calibration::{
    DataFile, fitted_json, report_markdown, scope_summaries, write_residuals_csv,
};
use infercal::report::evaluation::summary_markdown;
use infercal::report::intervals::{engine_intervals_markdown, intervals_markdown};
use infercal::report::{plots, sig};

use super::BadInput;
use super::CommandOutput;
use super::args::CalibrateArgs;
use super::common::thread_pool;
use super::output::{MANIFEST, ResultSet};

pub(super) static CANCEL: AtomicBool = AtomicBool::new(false);

/// Ctrl-C sets [`CANCEL`]: the search stops and the best result so far is written beside
/// the last complete one.
pub(super) fn install_interrupt_handler() {
    // A second handler cannot be installed (tests run commands in one process); the
    // first one sets the same flag.
    let _ = ctrlc::set_handler(|| CANCEL.store(true, Ordering::SeqCst));
}

/// Progress bars on stderr, hidden when stderr is not a terminal or with `--quiet`.
pub(super) struct Bars {
    visible: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars that show unless `quiet` or stderr is not a terminal.
    pub(super) fn new(quiet: bool) -> Bars {
        Bars {
            visible: !quiet && std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        let target = if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        if let Ok(style) = ProgressStyle::with_template("{msg:>7} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(stage.to_string());
        if let Ok(mut slot) = self.current.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.current.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.current.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// The experiment's (file name, text): a path, or a shipped name (with or without
/// `experiments/` and `.toml`).
fn experiment_source(asked: Option<&str>) -> Result<(String, String)> {
    let asked = asked.unwrap_or(DEFAULT_EXPERIMENT);
    if Path::new(asked).is_file() {
        let text = infercal::textfile::read(Path::new(asked))
            .map_err(|e| BadInput(format!("cannot read {asked}: {e}")))?;
        return Ok((asked.to_string(), text));
    }
    let name = asked
        .trim_start_matches("experiments/")
        .trim_end_matches(".toml");
    match EMBEDDED.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => Ok((format!("experiments/{n}.toml"), text.to_string())),
        None => {
            let shipped: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
            Err(BadInput(format!(
                "experiment `{asked}` is neither a file nor a shipped experiment ({})",
                shipped.join(", ")
            ))
            .into())
        }
    }
}

/// The experiment `experiment` names (a file or a shipped name; default the default
/// experiment), validated, with its rows and its data files' provenance.
pub(super) fn load(
    catalog: &Catalog,
    experiment: Option<&str>,
) -> Result<(
    ValidExperiment,
    Vec<infercal::bench::BenchRow>,
    Vec<DataFile>,
)> {
    let (file, text) = experiment_source(experiment)?;
    let raw = parse(&file, &text)?;
    let exists = |f: &str| Path::new(f).is_file() || embedded_file(f).is_some();
    let experiment = validate(raw, &file, content_hash(text.as_bytes()), catalog, &exists)?;
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for path in &experiment.data {
        // Rows stream into one vector, hashed on the way: a file's text is never held
        // whole (a million-row file is a hundred megabytes of it), nor read twice.
        let read = load_file_with_provenance(path, catalog, &mut rows)?;
        files.push(DataFile {
            path: read.name,
            hash: read.hash,
            rows: read.rows,
        });
    }
    experiment.check_rows(&rows)?;
    Ok((experiment, rows, files))
}

/// The files a calibration writes.
pub(super) const OUTPUTS: [&str; 5] = [
    "fitted.json",
    "residuals.csv",
    "report.md",
    "parity.svg",
    "residuals.svg",
];

/// Runs the calibration and writes its files as one set; returns the summary for stdout.
/// An interrupted run writes its set beside `--out` and exits 130.
pub fn run(catalog: &Catalog, args: &CalibrateArgs) -> Result<CommandOutput> {
    install_interrupt_handler();
    if let Some(base) = &args.base {
        return super::finetune_cmd::run(catalog, args, base);
    }
    let (experiment, rows, files) = load(catalog, args.experiment.as_deref())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&experiment.name));
    // Checked before the fit: an --out that cannot be written must not cost a calibration.
    let mut set = ResultSet::begin(&out, &OUTPUTS)?;
    let bars = Bars::new(args.run.quiet);
    let options = Options {
        seed: args.seed,
        cancel: &CANCEL,
        progress: &bars,
    };
    let intervals_scheme = intervals_scheme(args.intervals.as_deref())?;
    let pool = thread_pool(args.run.threads)?;
    // The intervals' cross-validation runs before the fit's per-row vectors are built, so
    // the two are never in memory at once.
    let intervals_of = |c: &Calibration| match intervals_scheme {
        Some(scheme) if !c.interrupted => {
            cross_validate_intervals((&experiment, c, catalog), scheme, &options).map(Some)
        }
        _ => Ok::<_, infercal::fit::FitError>(None),
    };
    let (calibration, intervals) =
        pool.install(|| calibrate_owned_then(&experiment, rows, catalog, &options, intervals_of))?;
    let intervals = intervals?;
    // Folds cut short by Ctrl-C would give residuals of half-fitted models.
    let intervals = intervals.filter(|_| !CANCEL.load(Ordering::SeqCst));
    let intervals_section = match &intervals {
        Some(i) => {
            let mut text = intervals_markdown(&i.table, &i.coverage);
            if let Some((table, coverage)) = &i.engines {
                text.push_str(&engine_intervals_markdown(table, coverage));
            }
            text
        }
        None => "\n## Prediction intervals\n\nNot computed (`--intervals none`, or the run was interrupted).\n".to_string(),
    };
    let tables = Tables {
        own: intervals.as_ref().map(|i| &i.table),
        engines: intervals
            .as_ref()
            .and_then(|i| i.engines.as_ref().map(|(t, _)| t)),
    };
    write_outputs(
        &mut set,
        (&experiment, &calibration, &files),
        (tables, catalog),
        &intervals_section,
    )?;
    let interrupted = calibration.interrupted || CANCEL.load(Ordering::SeqCst);
    let (written, code) = set.finish("calibrate", interrupted)?;
    let mut stdout = summary(&experiment, &calibration, &written);
    if let Some(i) = &intervals {
        stdout.push_str(&intervals_line(i));
    }
    Ok(CommandOutput { stdout, code })
}

/// A calibration's prediction intervals: the table `fitted.json` carries and how well it
/// covers held-out rows, and the same of the engine families held out.
struct Intervals {
    table: DiscrepancyTable,
    coverage: CoverageReport,
    engines: Option<(DiscrepancyTable, CoverageReport)>,
}

/// The cross-validations behind `c`'s intervals: by `scheme` (default: the experiment's
/// own), then, unless that already held engine families out, by engine family.
fn cross_validate_intervals(
    (e, c, catalog): (&ValidExperiment, &Calibration, &Catalog),
    scheme: Option<Scheme>,
    options: &Options<'_>,
) -> Result<Intervals, infercal::fit::FitError> {
    let cv = for_intervals(e, c, catalog, scheme, options)?;
    let engines = if engines_held_out(&c.rows, cv.scheme) {
        let by_engine = for_intervals(e, c, catalog, Some(Scheme::Engine), options)?;
        Some((by_engine.discrepancy(), by_engine.coverage(&c.rows)))
    } else {
        None
    };
    Ok(Intervals {
        table: cv.discrepancy(),
        coverage: cv.coverage(&c.rows),
        engines,
    })
}

/// Whether the intervals also need engine families held out: when `rows` hold at least
/// two (one cannot be predicted from nothing) and `scheme` did not already hold them out.
fn engines_held_out(rows: &[infercal::bench::BenchRow], scheme: Scheme) -> bool {
    let families: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| infercal::engine::Engine::label_of(&r.engine))
        .collect();
    scheme != Scheme::Engine && families.len() >= 2
}

/// `--intervals`: `None` for `none`, else the scheme (`Some(None)`: the default one).
fn intervals_scheme(flag: Option<&str>) -> Result<Option<Option<Scheme>>> {
    match flag.map(str::trim) {
        None => Ok(Some(None)),
        Some("none") => Ok(None),
        Some(s) => {
            let scheme: Scheme = s
                .parse()
                .map_err(|e| BadInput(format!("--intervals: {e} (or none)")))?;
            Ok(Some(Some(scheme)))
        }
    }
}

/// The summary's last lines: the 80 % interval's held-out coverage and width, and for an
/// engine without rows those of the engine families held out.
fn intervals_line(i: &Intervals) -> String {
    let mut text = match at_80(&i.coverage) {
        Some((covered, half_width)) => format!(
            "intervals: {} cross-validation, {} held-out residuals; the 80 % interval covered {covered} % of held-out rows (median half-width {half_width} %); see report.md\n",
            i.table.scheme, i.table.rows,
        ),
        None => return String::new(),
    };
    if let Some((table, coverage)) = &i.engines
        && let Some((covered, half_width)) = at_80(coverage)
    {
        text.push_str(&format!(
            "for an engine without fitted rows: engine cross-validation, {} held-out residuals; its 80 % interval covered {covered} % (median half-width {half_width} %)\n",
            table.rows,
        ));
    }
    text
}

/// The share of every held-out row the 80 % interval covered and its median half-width,
/// in percent.
fn at_80(coverage: &CoverageReport) -> Option<(String, String)> {
    let all = coverage.scopes.first()?;
    let at = (coverage.confidences.iter()).position(|&c| (c - 0.8).abs() < 1e-9)?;
    Some((
        sig(100.0 * all.covered[at], 3),
        sig(100.0 * all.median_half_width[at], 3),
    ))
}

/// Writes a calibration's files: `fitted.json` with `table`, and `report.md` ending in
/// `report_tail`.
pub(super) fn write_outputs(
    set: &mut ResultSet,
    (e, c, files): (&ValidExperiment, &Calibration, &[DataFile]),
    (tables, catalog): (Tables<'_>, &Catalog),
    report_tail: &str,
) -> Result<()> {
    // One file at a time, each dropped before the next is built: on a million rows the
    // files are hundreds of megabytes between them.
    set.write(OUTPUTS[0], fitted_json(e, c, files, tables)?.as_bytes())?;
    let table = tables.own;
    set.write_with(OUTPUTS[1], |w| Ok(write_residuals_csv(c, w)?))?;
    let mut report = report_markdown(e, c, files);
    report.push_str(report_tail);
    set.write(OUTPUTS[2], report.as_bytes())?;
    let intervals = table.map(|t| c.row_intervals(t, e.perf_model, catalog, Confidence::default()));
    set.write(
        OUTPUTS[3],
        plots::parity_svg(c, intervals.as_deref())?.as_bytes(),
    )?;
    set.write(OUTPUTS[4], plots::residuals_svg(c)?.as_bytes())?;
    Ok(())
}

fn summary(e: &ValidExperiment, c: &Calibration, out: &Path) -> String {
    let mut text = format!(
        "{} ({} model): {} rows, loss {}, {} evaluations in {:.2} s{}\n\n",
        e.name,
        e.perf_model,
        c.rows.len(),
        sig(c.loss, 5),
        c.evaluations,
        c.wall_time_s,
        if c.interrupted {
            " — INTERRUPTED, best so far (written beside the last complete result)"
        } else {
            ""
        }
    );
    for est in c.estimates.iter().filter(|x| x.free) {
        let name = est.label();
        let se = est
            .std_error
            .map_or(String::new(), |s| format!("± {}", sig(s, 2)));
        let flag = if est.flags.is_empty() {
            ""
        } else {
            "  (flagged: see report.md)"
        };
        text.push_str(&format!(
            "  {name:<36} {:>10} {se}{flag}\n",
            sig(est.value, 4)
        ));
    }
    let free = c.estimates.iter().filter(|x| x.free).count();
    text.push_str(&format!(
        "\n  the data determine {} of {free} parameter directions\n",
        c.identified_directions
    ));
    if c.hypotheses.len() > 1 {
        text.push_str(&format!("  deployment: {}\n", c.assumptions.label()));
    }
    text.push('\n');
    text.push_str(&fit_and_files(c, out));
    text
}

/// How a calibration's summary ends: the fit per metric, and where the files went.
pub(super) fn fit_and_files(c: &Calibration, out: &Path) -> String {
    let scopes: Vec<(String, _)> = scope_summaries(c)
        .per_metric
        .iter()
        .map(|(m, s)| (m.to_string(), s.summary()))
        .collect();
    let mut text = summary_markdown(
        "metric",
        scopes.iter().map(|(n, s)| (n.clone(), s)).collect(),
    );
    text.push_str(&format!(
        "\nwrote {}, {MANIFEST} in {}\n",
        OUTPUTS.join(", "),
        out.display()
    ));
    text
}
