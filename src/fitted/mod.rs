//! The fitted model: what a calibration produces and `fitted.json` holds — the model kind,
//! its parameters and deployment assumptions, the estimates with their uncertainty, the
//! hypothesis ranking and the provenance (experiment, data files, seed) — in one
//! serde-derived type, [`FittedModel`], versioned and refusing unknown fields. It is the
//! only definition of the file: the calibration writes it, `--params` reads it
//! ([`params_file`]), and a fitted model hands out its predictor. It does no IO.

pub mod params_file;

use serde::{Deserialize, Serialize};

use crate::experiment::ValidExperiment;
use crate::fit::{Calibration, Estimate, HypothesisScore};
use crate::interval::DiscrepancyTable;
use crate::perf::registry::ParamSet;
use crate::perf::{PerfModel, PerfModelKind};
use crate::scenario::Assumptions;

/// The `fitted.json` schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The experiment a model was fitted by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentRef {
    /// Its name.
    pub name: String,
    /// Content hash of its text.
    pub hash: String,
    /// What it tests.
    pub description: String,
}

/// A data file's provenance: name, content hash, rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// Path as given (or embedded name).
    pub path: String,
    /// Content hash.
    pub hash: String,
    /// Rows loaded.
    pub rows: usize,
}

/// The discrepancy tables a calibration's intervals are drawn from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tables<'t> {
    /// The calibration's own cross-validation (by source, by default).
    pub own: Option<&'t DiscrepancyTable>,
    /// The cross-validation that held out each engine family in turn.
    pub engines: Option<&'t DiscrepancyTable>,
}

/// A calibrated performance model: `fitted.json`, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedModel {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// infercal's version.
    pub crate_version: String,
    /// The experiment that fitted it.
    pub experiment: ExperimentRef,
    /// The data it was fitted to.
    pub data_files: Vec<DataFile>,
    /// The performance model.
    pub perf_model: PerfModelKind,
    /// Every parameter with its uncertainty (free first, then fixed).
    pub parameters: Vec<Estimate>,
    /// How many parameter directions the data determine.
    pub identified_directions: usize,
    /// Correlations of the free parameters (`null` where undefined).
    pub correlation: Vec<Vec<Option<f64>>>,
    /// The parameter set a prediction runs with.
    pub params: ParamSet,
    /// The deployment hypothesis chosen.
    pub assumptions: Assumptions,
    /// Hypotheses ranked by loss.
    pub hypotheses: Vec<HypothesisScore>,
    /// Final loss.
    pub loss: f64,
    /// Best loss of the grid stage.
    pub grid_loss: f64,
    /// Rows fitted.
    pub rows: usize,
    /// Objective evaluations.
    pub objective_evaluations: u64,
    /// Wall time of the fit, seconds.
    pub wall_time_s: f64,
    /// Grid seed.
    pub seed: u64,
    /// Whether Ctrl-C stopped the fit early.
    pub interrupted: bool,
    /// The cross-validated discrepancy prediction intervals are drawn from (absent when the
    /// calibration ran with `--intervals none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<DiscrepancyTable>,
    /// The discrepancy of a cross-validation that held out each engine family in turn:
    /// what an engine without fitted rows may be off by, whose ranges its intervals take
    /// where wider (absent with `--intervals none`, and in calibrations made before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_intervals: Option<DiscrepancyTable>,
}

impl FittedModel {
    /// The model `c` fitted, as `e` ran it on `data`, with the discrepancy tables of its
    /// cross-validations (by source, and by engine family) when there are some.
    pub fn new(
        e: &ValidExperiment,
        c: &Calibration,
        data: &[DataFile],
        intervals: Tables<'_>,
    ) -> FittedModel {
        FittedModel {
            schema_version: SCHEMA_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            experiment: ExperimentRef {
                name: e.name.clone(),
                hash: e.hash.clone(),
                description: e.description.clone(),
            },
            data_files: data.to_vec(),
            perf_model: e.perf_model,
            parameters: c.estimates.clone(),
            identified_directions: c.identified_directions,
            correlation: c.known_correlation(),
            params: c.params.clone(),
            assumptions: c.assumptions.clone(),
            hypotheses: c.hypotheses.clone(),
            loss: c.loss,
            grid_loss: c.grid_loss,
            rows: c.rows.len(),
            objective_evaluations: c.evaluations,
            wall_time_s: c.wall_time_s,
            seed: c.seed,
            interrupted: c.interrupted,
            intervals: intervals.own.cloned(),
            engine_intervals: intervals.engines.cloned(),
        }
    }

    /// `fitted.json`: pretty JSON with every object's keys in sorted order, so the file
    /// diffs cleanly between calibrations.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        // A `Value`'s maps are sorted; serialising through one sorts nested keys too.
        let value = serde_json::to_value(self)?;
        Ok(serde_json::to_string_pretty(&value)? + "\n")
    }

    /// The model ready to predict.
    pub fn predictor(&self) -> Box<dyn PerfModel> {
        self.perf_model.with_params(&self.params)
    }

    /// The fitted parameters' uncertainty, as prediction intervals propagate it.
    pub fn parameter_uncertainty(&self) -> crate::interval::ParameterUncertainty {
        crate::fit::uncertainty::parameter_uncertainty(&self.parameters, &self.correlation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitted::params_file::SHIPPED_CALIBRATION;

    #[test]
    fn the_shipped_file_round_trips_byte_for_byte() {
        let fitted: FittedModel = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        assert_eq!(fitted.to_json().unwrap(), SHIPPED_CALIBRATION.1);
        let again: FittedModel = serde_json::from_str(&fitted.to_json().unwrap()).unwrap();
        assert_eq!(again, fitted);
    }

    #[test]
    fn a_field_the_schema_lacks_is_refused() {
        let text = SHIPPED_CALIBRATION
            .1
            .replacen("\"assumptions\"", "\"asumptions\"", 1);
        let err = serde_json::from_str::<FittedModel>(&text).unwrap_err();
        assert!(err.to_string().contains("asumptions"), "{err}");
    }

    #[test]
    fn a_fitted_model_predicts() {
        use crate::catalog::Catalog;
        use crate::scenario::{Condition, Deployment, Scenario, Stat};
        let fitted: FittedModel = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        let catalog = Catalog::embedded().unwrap();
        let gpu = catalog.gpu("h100-sxm").unwrap();
        let scenario = Scenario {
            model: catalog.model("llama-3.1-8b").unwrap(),
            gpu,
            deployment: Deployment::assumed(gpu, None, None, None),
            isl: 1000,
            osl: 100,
            condition: Condition::StaticBatch { batch_size: 4 },
            stat: Stat::Mean,
        };
        let calibrated = fitted.predictor().predict(&scenario).unwrap();
        let literature = PerfModelKind::Serving
            .with_params(&ParamSet::default())
            .predict(&scenario)
            .unwrap();
        assert!((calibrated.itl_s - literature.itl_s).abs() > 1e-6);
    }
}
