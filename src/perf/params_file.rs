//! Reading parameter files given with `--params`: a JSON object of [`ServingParams`]
//! fields (any subset; the rest keep their defaults). Errors name the file, line and
//! column, and out-of-domain values name the parameter.

use super::params::ServingParams;

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
    /// Parses, but a value is outside its domain.
    #[error("{file}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// Which parameter and why.
        message: String,
    },
}

/// Parses and validates parameter-file `text`; `file` names it in errors.
pub fn parse_params(file: &str, text: &str) -> Result<ServingParams, ParamsFileError> {
    let params: ServingParams = serde_json::from_str(text).map_err(|e| ParamsFileError::Parse {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    params
        .validate()
        .map_err(|message| ParamsFileError::Invalid {
            file: file.to_string(),
            message,
        })?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_keeps_the_other_defaults() {
        let p = parse_params("p.json", r#"{"decode_efficiency": 0.7}"#).unwrap();
        assert!((p.decode_efficiency - 0.7).abs() < 1e-12);
        assert!((p.prefill_efficiency - ServingParams::default().prefill_efficiency).abs() < 1e-12);
    }

    #[test]
    fn an_unknown_parameter_is_located() {
        let err = parse_params("p.json", "{\n  \"decode_eff\": 0.7\n}").unwrap_err();
        match err {
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
}
