//! Conversions every command shares: parameter files, model choice, precision names and
//! positive numbers from the command line into validated library values.

use std::path::Path;

use anyhow::{Context, Result};
use infercal::perf::PerfModelKind;
use infercal::perf::params_file::{LoadedParams, parse_params};
use infercal::precision::Precision;

use super::BadInput;
use super::args::PerfModelName;

/// The parameters in `path`, or the defaults.
pub fn load_params(path: Option<&Path>) -> Result<LoadedParams> {
    let Some(path) = path else {
        return Ok(LoadedParams::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    parse_params(&path.display().to_string(), &text)
        .map_err(|e| BadInput(e.to_string()))
        .context("loading the parameter file")
}

/// The model to run: as asked, else the one the parameter file was fitted for, else
/// `default`.
pub fn model_kind(
    asked: Option<PerfModelName>,
    loaded: &LoadedParams,
    default: PerfModelKind,
) -> PerfModelKind {
    asked
        .map(PerfModelKind::from)
        .or(loaded.perf_model)
        .unwrap_or(default)
}

/// A precision named on the command line by flag `flag`.
pub fn precision(flag: &str, name: &str) -> Result<Precision> {
    name.parse::<Precision>()
        .map_err(|e| BadInput(format!("{flag}: {e}")).into())
}

/// A strictly positive, finite number given to `flag`.
pub fn positive(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(BadInput(format!("{flag} must be a positive number, got {value}")).into())
    }
}

/// A worker pool of `threads` threads (default: one per core).
pub fn thread_pool(threads: Option<u32>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, |n| n as usize))
        .build()
        .context("starting worker threads")
}
