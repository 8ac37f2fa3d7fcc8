//! Preparing a fit: the deployment hypotheses the rows leave open, the groups each tied
//! parameter gets copies for, and the objective that compiles every row under every
//! hypothesis. It borrows the rows: a cross-validation fold prepares a subset of a
//! calibration's rows without copying them.

use std::collections::BTreeSet;

use super::FitError;
use super::objective::Objective;
use super::space::{ParamSpace, Start};
use crate::bench::BenchRow;
use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::evaluate::{Assumptions, scenario_for};
use crate::experiment::{AssumptionSpace, PrecisionChoice, TpChoice, ValidExperiment};
use crate::perf::registry::Tie;

/// Every combination of the choices for the GPUs and models present in `rows`.
pub fn hypotheses(space: &AssumptionSpace, rows: &[&BenchRow]) -> Vec<Assumptions> {
    let gpus: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.precision.is_none())
        .map(|r| r.gpu.as_str())
        .collect();
    let models: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.tp.is_none())
        .map(|r| r.model.as_str())
        .collect();
    let mut all = vec![Assumptions::default()];
    for gpu in gpus {
        let choices = space
            .precision
            .get(gpu)
            .or_else(|| space.precision.get("default"));
        let choices = choices
            .cloned()
            .unwrap_or_else(|| vec![PrecisionChoice::Auto]);
        all = all
            .into_iter()
            .flat_map(|a| {
                choices.iter().map(move |c| {
                    let mut a = a.clone();
                    if let PrecisionChoice::Fixed(p) = c {
                        a.precision.insert(gpu.to_string(), *p);
                    }
                    a
                })
            })
            .collect();
    }
    for model in models {
        let choices = space.tp.get(model).or_else(|| space.tp.get("default"));
        let choices = choices.cloned().unwrap_or_else(|| vec![TpChoice::Auto]);
        all = all
            .into_iter()
            .flat_map(|a| {
                choices.iter().map(move |c| {
                    let mut a = a.clone();
                    if let TpChoice::Fixed(t) = c {
                        a.tp.insert(model.to_string(), *t);
                    }
                    a
                })
            })
            .collect();
    }
    all
}

/// The groups a tie creates copies for, given the rows and hypotheses.
fn groups(
    tie: Tie,
    rows: &[&BenchRow],
    catalog: &Catalog,
    hypotheses: &[Assumptions],
) -> Vec<String> {
    let set: BTreeSet<String> = match tie {
        Tie::Global => BTreeSet::from([String::new()]),
        Tie::Gpu => rows.iter().map(|r| r.gpu.to_string()).collect(),
        Tie::Model => rows.iter().map(|r| r.model.to_string()).collect(),
        // The global value (the empty group) serves the rows of no known engine.
        Tie::Engine => std::iter::once(String::new())
            .chain(
                rows.iter()
                    .filter_map(|r| Engine::family_of(&r.engine))
                    .map(|e| e.as_str().to_string()),
            )
            .collect(),
        Tie::Precision => hypotheses
            .iter()
            .flat_map(|h| {
                rows.iter()
                    .filter_map(move |r| scenario_for(r, catalog, h).ok())
            })
            .map(|s| s.deployment.weights.as_str().to_string())
            .collect(),
        Tie::GpuPrecision => hypotheses
            .iter()
            .flat_map(|h| {
                rows.iter()
                    .filter_map(move |r| scenario_for(r, catalog, h).ok())
            })
            .map(|s| crate::perf::params::gpu_precision_key(&s.gpu.slug, s.deployment.weights))
            .collect(),
    };
    set.into_iter().collect()
}

/// The objective of `experiment` over `rows` (already filtered): hypotheses enumerated,
/// parameter space built, every row mapped to its scenarios.
pub fn prepare<'c>(
    experiment: &ValidExperiment,
    rows: &'c [BenchRow],
    catalog: &'c Catalog,
) -> Result<Objective<'c>, FitError> {
    prepare_from(experiment, rows.iter().collect(), catalog, None)
}

/// As [`prepare`], the space starting from a calibration when `start` is given.
pub(super) fn prepare_from<'c>(
    experiment: &ValidExperiment,
    rows: Vec<&'c BenchRow>,
    catalog: &'c Catalog,
    start: Option<&Start<'_>>,
) -> Result<Objective<'c>, FitError> {
    let mut hypotheses = hypotheses(&experiment.assumptions, &rows);
    // Rows that leave the engine empty (a sizing chart) are read as running the engine
    // most of the GPU's rows ran, as rows that leave the precision empty take the
    // hypothesis's precision.
    let engines = Assumptions::engines_by_gpu(
        rows.iter()
            .map(|r| (r.gpu.as_str(), Engine::family_of(&r.engine))),
    );
    for h in &mut hypotheses {
        h.engine = engines.clone();
    }
    let groups = |tie| groups(tie, &rows, catalog, &hypotheses);
    let space = match start {
        None => ParamSpace::new(experiment, &groups),
        Some(start) => ParamSpace::around(experiment, &groups, start),
    }
    .map_err(FitError::Space)?;
    Ok(Objective::new(
        experiment.perf_model,
        rows,
        catalog,
        experiment.loss.clone(),
        space,
        hypotheses,
    )?)
}
