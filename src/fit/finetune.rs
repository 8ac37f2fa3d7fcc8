//! Fine-tuning a calibration on a user's few runs. It owns the fine-tune experiment —
//! which parameters a handful of rows of one deployment can determine (their GPUs'
//! prefill and decode efficiencies, their engines' prefill and decode factors and step
//! overhead) and how strongly each is drawn towards the base calibration — the centre a
//! base gives every placement, and the account of what moved. The fit itself is
//! [`super::fine_tune`]: a grid refined by Levenberg-Marquardt, the base's values as the
//! start and the prior, a maximum a posteriori estimate. It does no IO.
//!
//! The same experiment without a base is the from-scratch baseline a new user would
//! otherwise have: the same parameters fitted on the same rows with priors of the same
//! strength, centred on the literature defaults, and every other value at those defaults.
//!
//! ## References
//! - A Gaussian prior centred on an earlier fit, the posterior mode as the estimate
//!   (Bayesian updating): Gelman et al., *Bayesian Data Analysis*, 3rd ed. (2013), §2.5
//!   and §4.1 (normal approximation, the posterior's curvature as its uncertainty).

use serde::Serialize;

use super::{Calibration, Estimate};
use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::experiment::{ExperimentError, ValidExperiment, content_hash, parse, validate};
use crate::perf::params::Placement;
use crate::perf::registry::{Param, ParamSet, Tie};
use crate::precision::Precision;

/// The experiment's name (and the output directory's default).
pub const NAME: &str = "fine-tune";

/// The noise a user's own runs are assumed to repeat within, as a log ratio. The loss
/// counts ½r² per row, so a prior of width w/σ weighs a parameter as a σ-noise row would.
const RUN_NOISE: f64 = 0.1;

/// Each freed parameter: its name, what it is tied to, its initial value and bounds, and
/// how far the prior lets it move on its bounded coordinate before the division by
/// [`RUN_NOISE`]: about ±25–35 % at one standard deviation for the efficiencies and
/// factors, so that rows which cannot tell a slower step from a slower decode split the
/// difference instead of loading it all on one. The step overhead's is wider: the base
/// splits each step's fixed cost between the engine's step overhead and a per-layer cost
/// the fine-tune keeps, so its value for a new deployment is the least certain of the
/// five. At 0.2 the fine-tunes of llama.cpp on MI300X kept the base's 1 ms where their
/// runs alone said 4 ms and lost to the from-scratch fit in every draw, and DeepSpeed-MII
/// on A100 in four of five (`cv --new-user`, README); at 0.6 llama.cpp ends a point behind
/// and DeepSpeed-MII wins every draw.
const FREED: [(&str, &str, &str, &str, f64); 5] = [
    ("prefill_efficiency", "gpu", "0.5", "[0.02, 1.0]", 0.5),
    ("decode_efficiency", "gpu", "0.7", "[0.02, 1.0]", 0.5),
    ("engine_prefill_factor", "engine", "1.0", "[0.2, 3.0]", 0.5),
    ("engine_decode_factor", "engine", "1.0", "[0.2, 3.0]", 0.5),
    ("step_overhead_s", "engine", "0.002", "[0.0001, 0.05]", 0.6),
];

/// Whether the experiment starts from a base calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// Drawn towards the base calibration (a fine-tune).
    Base,
    /// No base: the literature defaults and wide priors (the from-scratch baseline).
    Scratch,
}

/// The experiment's TOML text for the files `data`.
fn toml(data: &[String], prior: Prior) -> String {
    let files: Vec<String> = data.iter().map(|d| format!("{d:?}")).collect();
    let mut text = format!(
        "name = \"{NAME}\"\n\
         description = \"The efficiencies of the runs' GPUs and the factors and step overhead of their engines, {}\"\n\
         perf_model = \"serving\"\n\
         data = [{}]\n",
        match prior {
            Prior::Base => "drawn towards the base calibration",
            Prior::Scratch => "fitted from scratch",
        },
        files.join(", ")
    );
    for (name, per, init, bounds, width) in FREED {
        let width = width / RUN_NOISE;
        text.push_str(&format!(
            "\n[parameters.{name}]\nmode = \"free\"\nper = \"{per}\"\ninit = {init}\nbounds = {bounds}\nprior = {{ center = {init}, width = {width} }}\n"
        ));
    }
    // Huber beyond two noise widths: one odd run cannot drag the rest.
    text.push_str(
        "\n[loss]\nkind = \"huber\"\nscale = 0.2\n\n[search]\ngrid = \"sobol\"\nmethod = \"levenberg-marquardt\"\npoints = 64\nrefine = 2\nmax_iters = 200\nseed = 1\n",
    );
    text
}

/// The fine-tune experiment (or, for [`Prior::Scratch`], its from-scratch baseline) on
/// the benchmark files `data`, validated like any experiment.
pub fn experiment(
    data: &[String],
    prior: Prior,
    catalog: &Catalog,
    data_exists: &dyn Fn(&str) -> bool,
) -> Result<ValidExperiment, ExperimentError> {
    let text = toml(data, prior);
    let raw = parse(NAME, &text)?;
    validate(
        raw,
        NAME,
        content_hash(text.as_bytes()),
        catalog,
        data_exists,
    )
}

/// The value `base` gives a placement, as a prediction would use it: for a GPU its own
/// value, else its architecture's, else the global one; for an engine its own value, else
/// the global one. What a fine-tune starts from and draws towards.
pub fn centre(base: &ParamSet, catalog: &Catalog, param: Param, tie: Tie, group: &str) -> f64 {
    let serving = &base.serving;
    match (tie, param) {
        (Tie::Gpu, Param::PrefillEfficiency | Param::DecodeEfficiency) => {
            let architecture = catalog
                .gpu(group)
                .map(|g| g.architecture.clone())
                .unwrap_or_default();
            let at = Placement {
                gpu: group,
                architecture: &architecture,
                model: "",
                engine: None,
                precision: Precision::Fp16,
            };
            if param == Param::PrefillEfficiency {
                serving.prefill_efficiency_for(&at)
            } else {
                serving.decode_efficiency_for(&at)
            }
        }
        _ => base.get(param, tie, group),
    }
}

/// One tuned parameter: where the base had it, where the fine-tune put it, and how sure
/// the rows are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moved {
    /// `name[group]`.
    pub label: String,
    /// The base calibration's value.
    pub base: f64,
    /// The fine-tuned value.
    pub tuned: f64,
    /// Its standard error (the posterior's curvature), when defined.
    pub std_error: Option<f64>,
    /// Whether the rows determine it (else the prior held it).
    pub identified: bool,
}

impl Moved {
    /// The change, relative to the base value.
    pub fn relative_change(&self) -> f64 {
        self.tuned / self.base - 1.0
    }
}

/// What the fine-tune `tuned` of `experiment` moved, each free parameter against the base
/// value it was centred on.
pub fn moved(
    tuned: &Calibration,
    experiment: &ValidExperiment,
    centre: &dyn Fn(Param, Tie, &str) -> f64,
) -> Vec<Moved> {
    let tie_of = |name: Param| {
        experiment
            .parameters
            .iter()
            .find(|p| p.name == name)
            .map_or(Tie::Global, |p| p.tie)
    };
    tuned
        .estimates
        .iter()
        .filter(|e| e.free)
        .map(|e: &Estimate| Moved {
            label: e.label(),
            base: centre(e.name, tie_of(e.name), &e.group),
            tuned: e.value,
            std_error: e.std_error,
            identified: !e.flags.contains(&super::uncertainty::Flag::NotIdentified),
        })
        .collect()
}

/// The engine family the fine-tuned rows ran on each GPU: what `predict` and `size` then
/// assume there by default.
pub fn engines_of(tuned: &Calibration) -> Vec<(String, Engine)> {
    // Keyed by GPU in a sorted map: the pairs come out in GPU order.
    crate::scenario::Assumptions::engines_by_gpu(
        tuned
            .rows
            .iter()
            .map(|r| (r.gpu.as_str(), Engine::family_of(&r.engine))),
    )
    .into_iter()
    .collect()
}

#[cfg(test)]
#[path = "finetune_tests.rs"]
mod tests;
