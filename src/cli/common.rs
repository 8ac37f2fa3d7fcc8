//! Conversions every command shares: parameter files, model choice, precision names and
//! positive numbers from the command line into validated library values.

use std::path::Path;

use anyhow::{Context, Result};
use infercal::catalog::Catalog;
use infercal::experiment::DEFAULT_EXPERIMENT;
use infercal::fitted::params_file::{
    ModelParams, SHIPPED_CALIBRATION, parse_params, shipped_calibration,
};
use infercal::perf::PerfModelKind;
use infercal::perf::params::BudgetLoad;

use super::BadInput;
use super::args::{ArrivalsArg, WorkloadArgs};

/// Where parameters come from when no `--params` file is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The literature defaults (`evaluate`, `compare`, and `--uncalibrated`).
    Literature,
    /// The shipped calibration (`predict`, `size`).
    Shipped,
}

impl Fallback {
    /// The shipped calibration unless `--uncalibrated` asked for the literature defaults.
    pub fn unless_uncalibrated(uncalibrated: bool) -> Fallback {
        if uncalibrated {
            Fallback::Literature
        } else {
            Fallback::Shipped
        }
    }
}

/// The parameters a command runs with, and a line saying where they came from.
pub struct Parameters {
    /// The parameters.
    pub loaded: ModelParams,
    /// `shipped calibration (serving-real, data/calibrated/serving-real.json)`, a file name
    /// or `literature defaults (uncalibrated)`.
    pub origin: String,
}

/// The parameters in `path`, or the fallback's, with their origin.
/// The parameters a `predict` or `size` question names: its `--params` file, the
/// literature with `--uncalibrated`, else the shipped calibration.
/// `--confidence`, checked.
pub fn confidence(value: f64) -> Result<infercal::interval::Confidence> {
    Ok(infercal::interval::Confidence::new(value)
        .map_err(|e| BadInput(format!("--confidence: {e}")))?)
}

/// The parameters a workload's flags name, with `--arrivals` and `--max-running-batch`
/// applied.
pub fn workload_parameters(w: &WorkloadArgs, catalog: &Catalog) -> Result<Parameters> {
    let mut params = parameters(
        w.params.as_deref(),
        Fallback::unless_uncalibrated(w.uncalibrated),
        catalog,
    )?;
    let serving = &mut params.loaded.params_mut().serving;
    if let Some(arrivals) = w.arrivals {
        serving.budget_load = match arrivals {
            ArrivalsArg::Closed => BudgetLoad::ClosedLoop,
            ArrivalsArg::Poisson => BudgetLoad::Poisson,
        };
    }
    if let Some(batch) = w.max_running_batch {
        serving.max_running_batch = f64::from(batch);
    }
    Ok(params)
}

pub fn parameters(
    path: Option<&Path>,
    fallback: Fallback,
    catalog: &Catalog,
) -> Result<Parameters> {
    let (loaded, origin) = match (path, fallback) {
        (Some(path), _) => (
            load_params(Some(path), catalog)?,
            path.display().to_string(),
        ),
        (None, Fallback::Literature) => (
            ModelParams::default(),
            "literature defaults (uncalibrated)".to_string(),
        ),
        (None, Fallback::Shipped) => {
            let loaded = shipped_calibration().context("reading the embedded calibration")?;
            let origin = format!(
                "shipped calibration ({DEFAULT_EXPERIMENT}, {})",
                SHIPPED_CALIBRATION.0
            );
            (loaded, origin)
        }
    };
    Ok(Parameters { loaded, origin })
}

/// The parameters in `path`, checked against `catalog`, or the literature defaults.
pub fn load_params(path: Option<&Path>, catalog: &Catalog) -> Result<ModelParams> {
    let Some(path) = path else {
        return Ok(ModelParams::default());
    };
    let text = infercal::textfile::read(path)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    let file = path.display().to_string();
    parse_params(&file, &text)
        .and_then(|loaded| loaded.check_names(&file, catalog).map(|()| loaded))
        .map_err(|e| BadInput(e.to_string()))
        .context("loading the parameter file")
}

/// The model to run: as asked, else the one the parameter file was fitted for, else
/// `default`.
pub fn model_kind(
    asked: Option<PerfModelKind>,
    loaded: &ModelParams,
    default: PerfModelKind,
) -> PerfModelKind {
    asked.or(loaded.perf_model()).unwrap_or(default)
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
