//! Reading parameter files given with `--params`. Two shapes are accepted:
//!
//! - a calibration's `fitted.json` (it has `schema_version`): its parameter set, the
//!   deployment assumptions it chose and the model it was fitted for;
//! - a hand-written JSON object of serving parameters (any subset; the rest default).
//!
//! Unknown fields, an unknown schema version and out-of-domain values are errors that name
//! the file and, for syntax, the line and column.

use serde::Deserialize;

use super::PerfModelKind;
use super::params::ServingParams;
use super::registry::ParamSet;
use crate::evaluate::Assumptions;

/// The calibration `predict` and `size` use unless told otherwise: the default
/// experiment's `fitted.json`, embedded (path, text). Regenerate it with
/// `infercal calibrate --out out/serving-real` and copy `fitted.json` here; a test fails
/// when it no longer matches a fresh calibration.
pub const SHIPPED_CALIBRATION: (&str, &str) = (
    "data/calibrated/serving-real.json",
    include_str!("../../data/calibrated/serving-real.json"),
);

/// The shipped calibration, parsed.
pub fn shipped_calibration() -> Result<LoadedParams, ParamsFileError> {
    parse_params(SHIPPED_CALIBRATION.0, SHIPPED_CALIBRATION.1)
}

/// The `fitted.json` schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a parameter file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsFileError {
    /// Not JSON, or a field the model does not know.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's description.
        message: String,
    },
    /// Parses, but cannot be used.
    #[error("{file}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// Which parameter or field, and why.
        message: String,
    },
}

/// What a parameter file provides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedParams {
    /// Parameters of every model.
    pub set: ParamSet,
    /// Deployment assumptions (empty for hand-written files).
    pub assumptions: Assumptions,
    /// The model the parameters were fitted for, if the file says.
    pub perf_model: Option<PerfModelKind>,
}

/// The part of `fitted.json` a prediction needs; the rest is for people.
#[derive(Deserialize)]
struct FittedParts {
    schema_version: u32,
    perf_model: PerfModelKind,
    params: ParamSet,
    #[serde(default)]
    assumptions: Assumptions,
}

fn parse_error(file: &str, e: &serde_json::Error) -> ParamsFileError {
    ParamsFileError::Parse {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Parses and validates parameter-file `text`; `file` names it in errors.
pub fn parse_params(file: &str, text: &str) -> Result<LoadedParams, ParamsFileError> {
    let invalid = |message: String| ParamsFileError::Invalid {
        file: file.to_string(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
    let loaded = match value.get("schema_version") {
        Some(version) => {
            if version.as_u64() != Some(u64::from(SCHEMA_VERSION)) {
                return Err(invalid(format!(
                    "schema_version {version} is not one this build reads ({SCHEMA_VERSION}); recalibrate with this version"
                )));
            }
            let parts: FittedParts =
                serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
            debug_assert_eq!(parts.schema_version, SCHEMA_VERSION);
            LoadedParams {
                set: parts.params,
                assumptions: parts.assumptions,
                perf_model: Some(parts.perf_model),
            }
        }
        None => {
            let serving: ServingParams =
                serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
            LoadedParams {
                set: ParamSet {
                    serving,
                    ..ParamSet::default()
                },
                ..LoadedParams::default()
            }
        }
    };
    loaded.set.serving.validate().map_err(invalid)?;
    let efficiency = loaded.set.seed.efficiency;
    if !(efficiency > 0.0 && efficiency <= 1.0) {
        return Err(invalid(format!(
            "seed.efficiency must be in (0, 1], got {efficiency}"
        )));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_keeps_the_other_defaults() {
        let p = parse_params("p.json", r#"{"decode_efficiency": 0.7}"#).unwrap();
        assert!((p.set.serving.decode_efficiency - 0.7).abs() < 1e-12);
        assert!(
            (p.set.serving.prefill_efficiency - ServingParams::default().prefill_efficiency).abs()
                < 1e-12
        );
        assert_eq!(p.perf_model, None);
    }

    #[test]
    fn an_unknown_parameter_is_located() {
        match parse_params("p.json", "{\n  \"decode_eff\": 0.7\n}").unwrap_err() {
            ParamsFileError::Parse { line, message, .. } => {
                assert_eq!(line, 2);
                assert!(message.contains("decode_eff"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_out_of_domain_value_is_named() {
        let err = parse_params("p.json", r#"{"link_efficiency": 0}"#).unwrap_err();
        assert!(err.to_string().contains("link_efficiency"), "{err}");
    }

    #[test]
    fn a_fitted_file_brings_its_model_and_assumptions() {
        let text = r#"{"schema_version": 1, "perf_model": "serving", "loss": 0.1,
            "params": {"serving": {"decode_efficiency": 0.6}},
            "assumptions": {"precision": {"l40s": "fp16"}}}"#;
        let p = parse_params("f.json", text).unwrap();
        assert_eq!(p.perf_model, Some(PerfModelKind::Serving));
        assert_eq!(
            p.assumptions.precision["l40s"],
            crate::precision::Precision::Fp16
        );
        assert!((p.set.serving.decode_efficiency - 0.6).abs() < 1e-12);
    }

    #[test]
    fn an_unknown_schema_version_is_refused() {
        let err = parse_params(
            "f.json",
            r#"{"schema_version": 99, "perf_model": "serving", "params": {}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("schema_version 99"), "{err}");
    }

    #[test]
    fn a_fitted_parameter_the_model_does_not_know_is_refused() {
        let text = r#"{"schema_version": 1, "perf_model": "serving", "params": {"serving": {"warp_factor": 9}}}"#;
        let err = parse_params("f.json", text).unwrap_err();
        assert!(err.to_string().contains("warp_factor"), "{err}");
    }

    #[test]
    fn the_shipped_calibration_is_what_the_default_experiment_fits_today() {
        use crate::bench::embedded_rows;
        use crate::catalog::Catalog;
        use crate::experiment::{DEFAULT_EXPERIMENT, shipped};
        use crate::fit::{Options, Silent, calibrate};

        let catalog = Catalog::embedded().unwrap();
        let e = shipped(DEFAULT_EXPERIMENT, &catalog).unwrap().unwrap();
        let rows = embedded_rows(&e.data, &catalog).unwrap();
        let shipped = shipped_calibration().unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let options = Options {
            seed: None,
            cancel: &cancel,
            progress: &Silent,
        };
        let fresh = calibrate(&e, &rows, &catalog, &options).unwrap();
        let regenerate = "regenerate data/calibrated/serving-real.json: \
            infercal calibrate --out out/serving-real, then copy its fitted.json";
        let architectures = |set: &ParamSet| -> Vec<String> {
            set.serving.per_architecture.keys().cloned().collect()
        };
        assert_eq!(
            architectures(&shipped.set),
            architectures(&fresh.params),
            "{regenerate}"
        );
        for estimate in fresh.estimates.iter().filter(|x| x.free) {
            let tie = e
                .parameters
                .iter()
                .find(|p| p.name == estimate.name)
                .unwrap()
                .tie;
            let group = estimate.group.as_str();
            let was = shipped.set.get(&estimate.name, tie, group).unwrap();
            // Bit-identical on one machine; another libm may move the last bits, and the
            // optimiser's path with them, so allow 0.1 %.
            assert!(
                (was - estimate.value).abs() <= 1e-3 * estimate.value.abs(),
                "{}[{group}]: shipped {was}, fitted now {}; {regenerate}",
                estimate.name,
                estimate.value
            );
        }
    }
}
