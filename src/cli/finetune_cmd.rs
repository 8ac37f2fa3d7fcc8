//! `infercal calibrate --base B --data FILE...`: a calibration fine-tuned on the user's
//! own runs. Loads the base and the rows, fits what the rows determine with the base as
//! the prior, writes the calibration's usual files (the base's intervals carried over)
//! and prints what moved.

use infercal::fitted::Tables;
use std::path::{Path, PathBuf};

use anyhow::Result;
use infercal::bench::{BenchRow, load_file_with_provenance};
use infercal::catalog::Catalog;
use infercal::fit::finetune::{self, Moved, Prior};
use infercal::fit::space::Start;
use infercal::fit::{Calibration, Options, fine_tune};
use infercal::perf::PerfModelKind;
use infercal::perf::registry::{Param, Tie};
use infercal::report::calibration::DataFile;
use infercal::report::sig;

use super::CommandOutput;
use super::args::CalibrateArgs;
use super::calibrate_cmd::{Bars, CANCEL, OUTPUTS, fit_and_files, write_outputs};
use super::common::{Fallback, parameters, thread_pool};
use super::output::ResultSet;

/// Runs the fine-tune of `base` (`shipped` or a fitted.json) on `--data`.
pub(super) fn run(catalog: &Catalog, args: &CalibrateArgs, base: &str) -> Result<CommandOutput> {
    let base_params = if base == "shipped" {
        parameters(None, Fallback::Shipped, catalog)?
    } else {
        parameters(Some(Path::new(base)), Fallback::Shipped, catalog)?
    };
    let (rows, files) = user_rows(catalog, &args.data)?;
    let exists = |f: &str| Path::new(f).is_file();
    let experiment = finetune::experiment(&args.data, Prior::Base, catalog, &exists)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(finetune::NAME));
    let mut set = ResultSet::begin(&out, &OUTPUTS)?;
    let loaded = &base_params.loaded;
    let base_set = loaded.params();
    let centre = |p: Param, t: Tie, g: &str| finetune::centre(base_set, catalog, p, t, g);
    let start = Start {
        base: base_set,
        centre: &centre,
    };
    let bars = Bars::new(args.run.quiet);
    let options = Options {
        seed: args.seed,
        cancel: &CANCEL,
        progress: &bars,
    };
    let pool = thread_pool(args.run.threads)?;
    let mut tuned = pool.install(|| fine_tune(&experiment, rows, catalog, &options, &start))?;
    // The base's deployment choices stand, and each tuned GPU now runs the runs' engine
    // by default.
    let mut assumptions = loaded.assumptions().into_owned();
    assumptions.engine.extend(finetune::engines_of(&tuned));
    tuned.assumptions = assumptions;
    let moved = finetune::moved(&tuned, &experiment, &centre);
    let tables = Tables {
        own: loaded.intervals(PerfModelKind::Serving),
        engines: loaded.engine_intervals(PerfModelKind::Serving),
    };
    let tail = report_tail(&moved, &base_params.origin, tables.own.is_some());
    write_outputs(
        &mut set,
        (&experiment, &tuned, &files),
        (tables, catalog),
        &tail,
    )?;
    let (written, code) = set.finish("calibrate", tuned.interrupted)?;
    Ok(CommandOutput {
        stdout: summary(&tuned, &moved, &base_params.origin, &written),
        code,
    })
}

/// The rows of the user's files, with their provenance.
fn user_rows(catalog: &Catalog, data: &[String]) -> Result<(Vec<BenchRow>, Vec<DataFile>)> {
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for path in data {
        let read = load_file_with_provenance(path, catalog, &mut rows)?;
        files.push(DataFile {
            path: read.name,
            hash: read.hash,
            rows: read.rows,
        });
    }
    Ok((rows, files))
}

/// One moved parameter as a line: base → tuned (change) ± standard error.
fn moved_line(m: &Moved) -> String {
    let se = m
        .std_error
        .map_or(String::new(), |s| format!(" ± {}", sig(s, 2)));
    let held = if m.identified {
        ""
    } else {
        "  (not determined on its own by the runs: the prior sets its share)"
    };
    format!(
        "{} → {} ({:+.1} %){se}{held}",
        sig(m.base, 4),
        sig(m.tuned, 4),
        100.0 * m.relative_change()
    )
}

/// report.md's fine-tune and interval sections.
fn report_tail(moved: &[Moved], origin: &str, with_intervals: bool) -> String {
    let mut text = format!(
        "\n## Fine-tune\n\nBase: {origin}. Each parameter below started at the base's value and was drawn towards it by a prior of about ±30 %; every other parameter keeps the base's value.\n\n| parameter | base → fine-tuned (change) ± standard error |\n|---|---|\n"
    );
    for m in moved {
        text.push_str(&format!("| {} | {} |\n", m.label, moved_line(m)));
    }
    text.push_str(&if with_intervals {
        "\n## Prediction intervals\n\nCarried over from the base calibration: its cross-validated discrepancy table (a few runs are too few to estimate one). The fine-tuned GPUs now have values of their own, so they are read at the `own` level.\n".to_string()
    } else {
        "\n## Prediction intervals\n\nNone: the base calibration carries no discrepancy table.\n".to_string()
    });
    text
}

/// The one-screen summary: what moved, the runs' fit, where the files are.
fn summary(c: &Calibration, moved: &[Moved], origin: &str, out: &Path) -> String {
    let mut text = format!(
        "{} on {} rows of your runs (base: {origin}): loss {}, {} evaluations in {:.2} s{}\n\n",
        finetune::NAME,
        c.rows.len(),
        sig(c.loss, 5),
        c.evaluations,
        c.wall_time_s,
        if c.interrupted {
            " — INTERRUPTED, best so far"
        } else {
            ""
        }
    );
    for m in moved {
        text.push_str(&format!("  {:<36} {}\n", m.label, moved_line(m)));
    }
    let free = moved.len();
    text.push_str(&format!(
        "\n  the runs determine {} of {free} parameter directions; the base's prior holds the rest\n\n",
        c.identified_directions
    ));
    text.push_str(&fit_and_files(c, out));
    text
}
