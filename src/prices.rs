//! GPU prices: the dollars per GPU-hour a sizing ranks deployments by, from a TOML file the
//! user supplies (`data/prices-example.toml` ships dated, sourced public on-demand prices).
//! This module owns that file's schema and its checks against the catalog — every GPU
//! named must be one the catalog knows (the nearest names suggested), priced once, at a
//! positive finite price. It knows nothing of sizing and does no IO.
//!
//! ```toml
//! source = "RunPod on-demand list prices"
//! retrieved = "2026-03-10"
//!
//! [usd_per_gpu_hour]
//! h100-sxm = 4.76
//! l40s = 1.40
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalog::{Catalog, CatalogError};
use crate::textfile::SourcePos;

/// What can be wrong with a price file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// Not TOML, or not the schema.
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: SourcePos,
        /// What was expected.
        message: String,
    },
    /// A GPU the catalog does not know.
    #[error("{at}: {source}")]
    UnknownGpu {
        /// Where.
        at: SourcePos,
        /// The catalog's answer, with the nearest names.
        source: CatalogError,
    },
    /// Two entries price the same GPU (by slug and alias, say).
    #[error("{at}: `{name}` prices {gpu} again (already priced as `{first}`)")]
    PricedTwice {
        /// Where the second entry is.
        at: SourcePos,
        /// Its name.
        name: String,
        /// The GPU's slug.
        gpu: String,
        /// The first entry's name.
        first: String,
    },
    /// A price that is not a positive finite number of dollars.
    #[error("{at}: the price of `{name}` is {value}; expected dollars per GPU-hour above 0")]
    BadPrice {
        /// Where.
        at: SourcePos,
        /// The entry.
        name: String,
        /// Its value.
        value: f64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    retrieved: Option<String>,
    usd_per_gpu_hour: BTreeMap<toml::Spanned<String>, toml::Spanned<f64>>,
}

/// Dollars per GPU-hour by catalog GPU slug, and where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// The file they were read from (as given).
    pub file: String,
    /// Who published them, as the file says.
    pub source: Option<String>,
    /// When they were read, as the file says.
    pub retrieved: Option<String>,
    by_gpu: BTreeMap<String, f64>,
}

impl Prices {
    /// Parses and checks the text of `file`.
    pub fn parse(file: &str, text: &str, catalog: &Catalog) -> Result<Prices, PriceError> {
        let raw: PriceFile = toml::from_str(text).map_err(|e| PriceError::Parse {
            at: SourcePos::of_offset(file, text, e.span().map_or(0, |s| s.start)),
            message: e.message().trim().to_string(),
        })?;
        let mut by_gpu = BTreeMap::new();
        let mut first_name: BTreeMap<String, String> = BTreeMap::new();
        for (name, price) in &raw.usd_per_gpu_hour {
            let at = SourcePos::of_offset(file, text, name.span().start);
            let gpu = catalog
                .gpu(name.get_ref())
                .map_err(|source| PriceError::UnknownGpu {
                    at: at.clone(),
                    source,
                })?;
            let value = *price.get_ref();
            if !(value.is_finite() && value > 0.0) {
                return Err(PriceError::BadPrice {
                    at: SourcePos::of_offset(file, text, price.span().start),
                    name: name.get_ref().clone(),
                    value,
                });
            }
            if let Some(first) = first_name.get(&gpu.slug) {
                return Err(PriceError::PricedTwice {
                    at,
                    name: name.get_ref().clone(),
                    gpu: gpu.slug.clone(),
                    first: first.clone(),
                });
            }
            first_name.insert(gpu.slug.clone(), name.get_ref().clone());
            by_gpu.insert(gpu.slug.clone(), value);
        }
        Ok(Prices {
            file: file.to_string(),
            source: raw.source,
            retrieved: raw.retrieved,
            by_gpu,
        })
    }

    /// Dollars per hour for one `gpu` (slug), if priced.
    pub fn usd_per_gpu_hour(&self, gpu: &str) -> Option<f64> {
        self.by_gpu.get(gpu).copied()
    }

    /// A one-line account of where the prices come from.
    pub fn provenance(&self) -> String {
        let mut text = format!("Prices: {}", self.file);
        if let Some(source) = &self.source {
            text.push_str(&format!(", {source}"));
        }
        if let Some(retrieved) = &self.retrieved {
            text.push_str(&format!(", as of {retrieved}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().expect("embedded catalog")
    }

    fn parse(text: &str) -> Result<Prices, PriceError> {
        Prices::parse("prices.toml", text, &catalog())
    }

    #[test]
    fn prices_are_keyed_by_slug_whatever_name_the_file_uses() {
        let prices = parse("source = \"x\"\n[usd_per_gpu_hour]\nh100-sxm = 4.5\nL40S = 1.25\n")
            .expect("valid");
        assert_eq!(prices.usd_per_gpu_hour("h100-sxm"), Some(4.5));
        assert_eq!(prices.usd_per_gpu_hour("l40s"), Some(1.25));
        assert_eq!(prices.usd_per_gpu_hour("a100-sxm-80gb"), None);
    }

    #[test]
    fn an_unknown_gpu_is_refused_with_its_line_and_the_nearest_names() {
        let err = parse("[usd_per_gpu_hour]\nh100-sxm = 4.5\nh100-sxn = 3.0\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("prices.toml:3:"), "{text}");
        assert!(text.contains("h100-sxm"), "{text}");
    }

    #[test]
    fn a_price_must_be_positive() {
        for bad in ["0.0", "-1.5", "nan", "inf"] {
            let err = parse(&format!("[usd_per_gpu_hour]\nl40s = {bad}\n")).unwrap_err();
            assert!(matches!(err, PriceError::BadPrice { .. }), "{bad}: {err}");
            assert!(err.to_string().starts_with("prices.toml:2:"), "{err}");
        }
    }

    #[test]
    fn a_gpu_priced_twice_is_refused() {
        let err = parse("[usd_per_gpu_hour]\nl40s = 1.0\nL40S = 2.0\n").unwrap_err();
        assert!(matches!(err, PriceError::PricedTwice { .. }), "{err}");
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused_with_a_position() {
        let err = parse("currency = \"EUR\"\n[usd_per_gpu_hour]\nl40s = 1.0\n").unwrap_err();
        assert!(err.to_string().starts_with("prices.toml:1:"), "{err}");
        let err = parse("[usd_per_gpu_hour]\nl40s = \"cheap\"\n").unwrap_err();
        assert!(err.to_string().starts_with("prices.toml:2:"), "{err}");
    }

    #[test]
    fn the_shipped_example_parses() {
        let text = include_str!("../data/prices-example.toml");
        let prices = Prices::parse("data/prices-example.toml", text, &catalog()).expect("valid");
        assert!(prices.source.is_some() && prices.retrieved.is_some());
        assert!(prices.usd_per_gpu_hour("h100-sxm").is_some());
    }
}
