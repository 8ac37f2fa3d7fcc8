//! The command-line front end: the only place that reads arguments, prints, or decides
//! an exit code. Each command turns its clap arguments into library calls and returns
//! the text to print; `main` prints it, exits quietly on a broken pipe, and maps errors
//! to exit codes (2 for bad input, 1 for anything else).

mod args;
mod calibrate_cmd;
mod catalog_cmd;
mod common;
mod compare_cmd;
mod cv_cmd;
mod data_cmd;
mod evaluate_cmd;
mod findings_cmd;
mod finetune_cmd;
mod import_cmd;
mod output;
mod predict_cmd;
mod size_cmd;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use args::{Cli, Command};
use clap::Parser;
use infercal::bench::DataError;
use infercal::catalog::{Catalog, CatalogError};
use infercal::experiment::ExperimentError;
use infercal::fitted::params_file::ParamsFileError;

/// Input the user can fix: bad arguments, data or catalog files. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// What a command produced: text for stdout, and whether the command wants a non-zero
/// exit status despite succeeding (e.g. `check-data --strict` with findings).
pub struct CommandOutput {
    stdout: String,
    /// The exit status: 0, or 1 for a command that ran but wants to fail (`check-data
    /// --strict` with findings), or [`INTERRUPTED`].
    code: u8,
}

/// Exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

impl CommandOutput {
    fn ok(stdout: String) -> CommandOutput {
        CommandOutput { stdout, code: 0 }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A value the library's parser refused (an unknown precision, scheme, format)
            // is bad input like any other: one line naming the flag and the choices,
            // without clap's usage footer.
            if e.kind() == clap::error::ErrorKind::ValueValidation {
                let rendered = e.render().to_string();
                eprintln!("{}", rendered.lines().next().unwrap_or_default());
                return ExitCode::from(2);
            }
            // --help and --version are "errors" to clap that print to stdout.
            let code = if e.use_stderr() { 2 } else { 0 };
            if e.print().is_err() {
                return ExitCode::SUCCESS;
            }
            return ExitCode::from(code);
        }
    };
    let result = run(cli).and_then(|report| {
        print(&report.stdout)?;
        Ok(report.code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<CommandOutput> {
    let catalog = match &cli.catalog {
        Some(dir) => Catalog::from_dir(dir),
        None => Catalog::embedded(),
    }
    .context("loading the catalog")?;
    match cli.command {
        Command::List(a) => catalog_cmd::list(&catalog, &a).map(CommandOutput::ok),
        Command::Show(a) => catalog_cmd::show(&catalog, &a).map(CommandOutput::ok),
        Command::CheckData(a) => data_cmd::check(&catalog, &a),
        Command::Compare(a) => compare_cmd::compare(&catalog, &a).map(CommandOutput::ok),
        Command::Predict(a) => predict_cmd::predict(&catalog, &a).map(CommandOutput::ok),
        Command::Size(a) => size_cmd::run(&catalog, &a).map(CommandOutput::ok),
        Command::Evaluate(a) => evaluate_cmd::evaluate(&catalog, &a).map(CommandOutput::ok),
        Command::Calibrate(a) => calibrate_cmd::run(&catalog, &a),
        Command::Cv(a) => cv_cmd::run(&catalog, &a),
        Command::Findings(a) => findings_cmd::run(&catalog, &a).map(CommandOutput::ok),
        Command::Import(a) => import_cmd::run(&catalog, &a).map(CommandOutput::ok),
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn exit_code(e: &anyhow::Error) -> u8 {
    let bad_input = e.chain().any(|cause| {
        cause.is::<BadInput>()
            || cause.is::<DataError>()
            || cause.is::<CatalogError>()
            || cause.is::<ExperimentError>()
            || cause.is::<ParamsFileError>()
    });
    if bad_input { 2 } else { 1 }
}
