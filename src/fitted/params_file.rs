//! Reading parameter files given with `--params`. Two shapes are accepted:
//!
//! - a calibration's `fitted.json` (it has `schema_version`): its parameter set, the
//!   deployment assumptions it chose and the model it was fitted for;
//! - a hand-written JSON object of serving parameters (any subset; the rest default).
//!
//! Unknown fields, an unknown schema version and out-of-domain values are errors that name
//! the file and, for syntax, the line and column.

use super::{FittedModel, SCHEMA_VERSION};
use crate::catalog::{Catalog, CatalogError};
use crate::perf::PerfModelKind;
use crate::perf::params::ServingParams;
use crate::perf::registry::ParamSet;
use crate::scenario::Assumptions;
use crate::textfile::SourcePos;

/// The calibration `predict` and `size` use unless told otherwise: the default
/// experiment's `fitted.json`, embedded (path, text). Regenerate it with
/// `infercal calibrate --out out/serving-real` and copy `fitted.json` here; a test fails
/// when it no longer matches a fresh calibration.
pub const SHIPPED_CALIBRATION: (&str, &str) = (
    "data/calibrated/serving-real.json",
    include_str!("../../data/calibrated/serving-real.json"),
);

/// The shipped calibration, parsed.
pub fn shipped_calibration() -> Result<ModelParams, ParamsFileError> {
    parse_params(SHIPPED_CALIBRATION.0, SHIPPED_CALIBRATION.1)
}

/// Why a parameter file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsFileError {
    /// Not JSON, or a field the model does not know.
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: SourcePos,
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

/// What a prediction runs with: a fitted model (a calibration's `fitted.json`, the shipped
/// one included), or a bare parameter set (a hand-written file, the literature defaults).
#[derive(Debug, Clone, PartialEq)]
pub enum ModelParams {
    /// A calibration's output, with its deployment assumptions and model kind.
    Fitted(Box<FittedModel>),
    /// Parameters alone: no assumptions, no model kind.
    Set(Box<ParamSet>),
}

impl Default for ModelParams {
    /// The literature defaults.
    fn default() -> Self {
        ModelParams::Set(Box::default())
    }
}

impl ModelParams {
    /// The parameters of every model.
    pub fn params(&self) -> &ParamSet {
        match self {
            ModelParams::Fitted(fitted) => &fitted.params,
            ModelParams::Set(set) => set,
        }
    }

    /// The fitted parameters' uncertainty (none for a bare parameter set).
    pub fn parameter_uncertainty(&self) -> crate::interval::ParameterUncertainty {
        match self {
            ModelParams::Fitted(fitted) => fitted.parameter_uncertainty(),
            ModelParams::Set(_) => crate::interval::ParameterUncertainty::default(),
        }
    }

    /// The parameters, to adjust (`compare --efficiency`).
    pub fn params_mut(&mut self) -> &mut ParamSet {
        match self {
            ModelParams::Fitted(fitted) => &mut fitted.params,
            ModelParams::Set(set) => set,
        }
    }

    /// The deployment assumptions a fit chose (none for a bare set).
    pub fn assumptions(&self) -> std::borrow::Cow<'_, Assumptions> {
        match self {
            ModelParams::Fitted(fitted) => std::borrow::Cow::Borrowed(&fitted.assumptions),
            ModelParams::Set(_) => std::borrow::Cow::Owned(Assumptions::default()),
        }
    }

    /// The cross-validated discrepancy table of a calibration made with intervals, when
    /// it applies to predictions by `kind` (the model it was fitted for).
    pub fn intervals(&self, kind: PerfModelKind) -> Option<&crate::interval::DiscrepancyTable> {
        match self {
            ModelParams::Fitted(fitted) if fitted.perf_model == kind => fitted.intervals.as_ref(),
            _ => None,
        }
    }

    /// The discrepancy table of the engine families held out, when the calibration
    /// carries one and it applies to predictions by `kind`.
    pub fn engine_intervals(
        &self,
        kind: PerfModelKind,
    ) -> Option<&crate::interval::DiscrepancyTable> {
        match self {
            ModelParams::Fitted(fitted) if fitted.perf_model == kind => {
                fitted.engine_intervals.as_ref()
            }
            _ => None,
        }
    }

    /// The discrepancy table for predictions by `kind` with `engine`: [`Self::intervals`],
    /// taking the ranges of engine families held out where wider when the calibration
    /// fitted no rows of `engine` and carries that cross-validation.
    pub fn intervals_for(
        &self,
        kind: PerfModelKind,
        engine: Option<crate::engine::Engine>,
    ) -> Option<std::borrow::Cow<'_, crate::interval::DiscrepancyTable>> {
        use crate::perf::params::EngineCoverage;
        let own = self.intervals(kind)?;
        let unfitted = engine.is_some()
            && self.params().serving.engine_coverage(engine) == EngineCoverage::Unfitted;
        Some(match self.engine_intervals(kind) {
            Some(engines) if unfitted => std::borrow::Cow::Owned(own.at_least(engines)),
            _ => std::borrow::Cow::Borrowed(own),
        })
    }

    /// The model the parameters were fitted for, if they were.
    pub fn perf_model(&self) -> Option<PerfModelKind> {
        match self {
            ModelParams::Fitted(fitted) => Some(fitted.perf_model),
            ModelParams::Set(_) => None,
        }
    }
}

fn parse_error(file: &str, e: &serde_json::Error) -> ParamsFileError {
    ParamsFileError::Parse {
        at: SourcePos::new(file, e.line() as u64, e.column()),
        message: crate::catalog::names::closest_fields(
            e.to_string().split(" at line ").next().unwrap_or_default(),
        ),
    }
}

/// Parses and validates parameter-file `text`; `file` names it in errors.
pub fn parse_params(file: &str, text: &str) -> Result<ModelParams, ParamsFileError> {
    let invalid = |message: String| ParamsFileError::Invalid {
        file: file.to_string(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
    // serde reads a struct from an array positionally: `[0.5, 0.7]` would silently set the
    // first fields. A parameter file names every value it sets.
    if !value.is_object() {
        return Err(invalid(
            "expected a JSON object of named parameters (a fitted.json, or {\"decode_efficiency\": 0.7, ...})".to_string(),
        ));
    }
    let loaded = match value.get("schema_version") {
        Some(version) => {
            if version.as_u64() != Some(u64::from(SCHEMA_VERSION)) {
                return Err(invalid(format!(
                    "schema_version {version} is not one this build reads ({SCHEMA_VERSION}); recalibrate with this version"
                )));
            }
            let fitted: FittedModel =
                serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
            if let Some(table) = &fitted.intervals {
                table.check().map_err(invalid)?;
            }
            if let Some(table) = &fitted.engine_intervals {
                let named = |e: String| invalid(e.replacen("intervals.", "engine_intervals.", 1));
                table.check().map_err(named)?;
            }
            ModelParams::Fitted(Box::new(fitted))
        }
        None => {
            let serving: ServingParams =
                serde_json::from_str(text).map_err(|e| parse_error(file, &e))?;
            ModelParams::Set(Box::new(ParamSet {
                serving,
                ..ParamSet::default()
            }))
        }
    };
    loaded
        .params()
        .validate()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(loaded)
}

impl ModelParams {
    /// Checks every GPU, model, architecture and precision the file names against
    /// `catalog`: an override keyed by a mistyped slug would otherwise be ignored without a
    /// word and the prediction would run on other values than the user wrote.
    pub fn check_names(&self, file: &str, catalog: &Catalog) -> Result<(), ParamsFileError> {
        let invalid = |message: String| ParamsFileError::Invalid {
            file: file.to_string(),
            message,
        };
        let serving = &self.params().serving;
        let assumptions = self.assumptions();
        // A key must be the slug itself: lookups match slugs exactly, so an alias would be
        // accepted here and then never match.
        let slug = |field: &str, key: &str, found: Result<&str, CatalogError>| match found {
            Ok(slug) if slug == key => Ok(()),
            Ok(slug) => Err(invalid(format!(
                "{field}: key `{key}` must be the slug `{slug}`"
            ))),
            Err(e) => Err(invalid(format!("{field}: {e}"))),
        };
        let gpu =
            |field: &str, key: &str| slug(field, key, catalog.gpu(key).map(|g| g.slug.as_str()));
        let model =
            |field: &str, key: &str| slug(field, key, catalog.model(key).map(|m| m.slug.as_str()));
        for key in serving.per_gpu.keys().chain(assumptions.precision.keys()) {
            gpu("per_gpu / assumptions.precision", key)?;
        }
        for key in serving.per_gpu_precision.keys() {
            let Some((g, precision)) = key.split_once(':') else {
                return Err(invalid(format!(
                    "per_gpu_precision: key `{key}` must be `gpu:precision`, e.g. `h100-sxm:fp8`"
                )));
            };
            gpu("per_gpu_precision", g)?;
            precision
                .parse::<crate::precision::Precision>()
                .map_err(|e| invalid(format!("per_gpu_precision: key `{key}`: {e}")))?;
        }
        for key in serving.per_model.keys().chain(assumptions.tp.keys()) {
            model("per_model / assumptions.tp", key)?;
        }
        let architectures: std::collections::BTreeSet<&str> = catalog
            .gpus()
            .iter()
            .map(|g| g.architecture.as_str())
            .collect();
        if let Some(unknown) = serving
            .per_architecture
            .keys()
            .find(|k| !architectures.contains(k.as_str()))
        {
            let known: Vec<&str> = architectures.into_iter().collect();
            return Err(invalid(format!(
                "per_architecture: unknown architecture `{unknown}`; known: {}",
                known.join(", ")
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_keeps_the_other_defaults() {
        let p = parse_params("p.json", r#"{"decode_efficiency": 0.7}"#).unwrap();
        assert!((p.params().serving.decode_efficiency - 0.7).abs() < 1e-12);
        assert!(
            (p.params().serving.prefill_efficiency - ServingParams::default().prefill_efficiency)
                .abs()
                < 1e-12
        );
        assert_eq!(p.perf_model(), None);
    }

    #[test]
    fn an_unknown_parameter_is_located() {
        match parse_params("p.json", "{\n  \"decode_eff\": 0.7\n}").unwrap_err() {
            ParamsFileError::Parse { at, message } => {
                assert_eq!(at.line, 2);
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
        let mut doc: serde_json::Value = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        doc["assumptions"] = serde_json::json!({"precision": {"l40s": "fp16"}});
        doc["params"]["serving"]["decode_efficiency"] = serde_json::json!(0.6);
        let p = parse_params("f.json", &doc.to_string()).unwrap();
        assert_eq!(p.perf_model(), Some(PerfModelKind::Serving));
        assert_eq!(
            p.assumptions().precision["l40s"],
            crate::precision::Precision::Fp16
        );
        assert!((p.params().serving.decode_efficiency - 0.6).abs() < 1e-12);
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

    fn checked(text: &str) -> Result<ModelParams, ParamsFileError> {
        let catalog = Catalog::embedded().unwrap();
        let loaded = parse_params("p.json", text)?;
        loaded.check_names("p.json", &catalog)?;
        Ok(loaded)
    }

    #[test]
    fn an_array_is_not_read_positionally() {
        let err = parse_params("p.json", "[0.5, 0.7]").unwrap_err();
        assert!(err.to_string().contains("JSON object"), "{err}");
    }

    #[test]
    fn a_mistyped_gpu_key_is_refused_with_the_closest_names() {
        let err = checked(r#"{"per_gpu": {"h100-sxn": {"decode_efficiency": 0.7}}}"#).unwrap_err();
        assert!(err.to_string().contains("h100-sxm"), "{err}");
        let alias =
            checked(r#"{"per_gpu": {"H100 SXM": {"decode_efficiency": 0.7}}}"#).unwrap_err();
        assert!(alias.to_string().contains("the slug `h100-sxm`"), "{alias}");
    }

    #[test]
    fn gpu_precision_model_and_architecture_keys_are_checked() {
        for (text, says) in [
            (
                r#"{"per_gpu_precision": {"h100-sxm": {}}}"#,
                "gpu:precision",
            ),
            (r#"{"per_gpu_precision": {"h100-sxm:fp9": {}}}"#, "fp9"),
            (r#"{"per_model": {"llama-3.1-8x": {}}}"#, "llama-3.1-8b"),
            (r#"{"per_architecture": {"hoper": {}}}"#, "hopper"),
        ] {
            let err = checked(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(checked(r#"{"per_gpu_precision": {"h100-sxm:fp8": {}}}"#).is_ok());
    }

    #[test]
    fn the_shipped_calibration_names_only_catalog_entries() {
        let catalog = Catalog::embedded().unwrap();
        shipped_calibration()
            .unwrap()
            .check_names(SHIPPED_CALIBRATION.0, &catalog)
            .unwrap();
    }

    #[test]
    fn an_absurd_overhead_is_refused() {
        let err = parse_params("p.json", r#"{"step_overhead_s": 1e308}"#).unwrap_err();
        assert!(err.to_string().contains("step_overhead_s"), "{err}");
    }

    #[test]
    fn a_broken_interval_table_is_refused_with_its_cell() {
        let shipped: serde_json::Value = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        let mutate = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut doc = shipped.clone();
            edit(&mut doc["intervals"]["cells"][0]);
            parse_params("f.json", &doc.to_string())
                .unwrap_err()
                .to_string()
        };
        let short = mutate(&|c| {
            c["quantiles"].as_array_mut().unwrap().pop();
        });
        assert!(short.contains("intervals.cells[0]") && short.contains("24 quantiles"));
        let unordered = mutate(&|c| c["quantiles"][3] = serde_json::json!(-1.0));
        assert!(unordered.contains("non-decreasing"), "{unordered}");
        let empty = mutate(&|c| c["rows"] = serde_json::json!(0));
        assert!(empty.contains("at least 1"), "{empty}");
    }

    #[test]
    fn a_broken_engine_interval_table_is_refused_and_named() {
        let mut doc: serde_json::Value = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        doc["engine_intervals"]["cells"][2]["quantiles"][5] = serde_json::json!(-1.0);
        let err = parse_params("f.json", &doc.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("engine_intervals.cells[2]"), "{err}");
        assert!(err.contains("non-decreasing"), "{err}");
    }

    #[test]
    fn an_interval_table_out_of_order_or_with_a_group_twice_is_refused() {
        let shipped: serde_json::Value = serde_json::from_str(SHIPPED_CALIBRATION.1).unwrap();
        let refused = |edit: &dyn Fn(&mut Vec<serde_json::Value>)| {
            let mut doc = shipped.clone();
            edit(doc["intervals"]["cells"].as_array_mut().unwrap());
            parse_params("f.json", &doc.to_string())
                .unwrap_err()
                .to_string()
        };
        let swapped = refused(&|cells| cells.swap(0, 1));
        assert!(swapped.contains("intervals.cells[1]") && swapped.contains("sorted"));
        let twice = refused(&|cells| cells.insert(1, cells[0].clone()));
        assert!(twice.contains("each group once"), "{twice}");
    }

    #[test]
    fn a_mistyped_field_of_a_fitted_file_is_refused() {
        let text = SHIPPED_CALIBRATION
            .1
            .replacen("\"assumptions\"", "\"asumptions\"", 1);
        let err = parse_params("f.json", &text).unwrap_err();
        assert!(err.to_string().contains("`asumptions`"), "{err}");
    }
}
