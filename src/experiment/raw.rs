//! The experiment file exactly as TOML gives it: every field optional where the file may
//! omit it, unknown fields refused. Nothing here is checked beyond types;
//! [`super::validate`] turns it into a [`super::ValidExperiment`].

// Every field mirrors a documented field of the validated types in `super`.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::perf::PerfModelKind;
use crate::perf::registry::Tie;

/// A whole experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub perf_model: PerfModelKind,
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default)]
    pub filter: RawFilter,
    #[serde(default)]
    pub assumptions: RawAssumptions,
    #[serde(default)]
    pub parameters: BTreeMap<String, RawParameter>,
    #[serde(default)]
    pub loss: RawLoss,
    #[serde(default)]
    pub search: RawSearch,
}

/// Row filters; an empty list keeps everything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub gpus: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

/// A choice for rows that leave precision or TP empty: one value, `auto`, or a list of
/// hypotheses.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawChoice {
    // A list first: a lone `toml::Value` would also match an array.
    Many(Vec<toml::Value>),
    One(toml::Value),
}

/// Deployment assumptions: per GPU slug (precision) and per model slug (TP), with a
/// `default` key. Slugs with dots must be quoted (`"llama-3.1-70b" = 8`): a bare dotted
/// key is a nested table in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssumptions {
    #[serde(default)]
    pub precision: BTreeMap<String, RawChoice>,
    #[serde(default)]
    pub tp: BTreeMap<String, RawChoice>,
    #[serde(default)]
    pub concurrency_sweep: Vec<u32>,
}

/// A Gaussian prior in the transformed space.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrior {
    pub center: f64,
    pub width: f64,
}

/// One parameter's treatment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParameter {
    pub mode: String,
    #[serde(default)]
    pub per: Tie,
    pub value: Option<f64>,
    pub init: Option<f64>,
    pub bounds: Option<[f64; 2]>,
    pub prior: Option<RawPrior>,
}

/// The loss.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLoss {
    pub kind: String,
    pub scale: f64,
    pub na: String,
    pub infeasible_residual: f64,
    pub metric_weights: BTreeMap<String, f64>,
    pub source_weights: BTreeMap<String, f64>,
}

impl Default for RawLoss {
    fn default() -> Self {
        RawLoss {
            kind: "huber".into(),
            scale: 0.3,
            na: "infeasible".into(),
            infeasible_residual: 2.0,
            metric_weights: BTreeMap::new(),
            source_weights: BTreeMap::new(),
        }
    }
}

/// The search.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSearch {
    pub grid: String,
    pub method: String,
    pub points: usize,
    pub refine: usize,
    pub max_iters: u64,
    pub sd_tolerance: f64,
    pub simplex_step: f64,
    pub restarts: u32,
    pub seed: u64,
}

impl Default for RawSearch {
    fn default() -> Self {
        RawSearch {
            grid: "sobol".into(),
            method: "nelder-mead".into(),
            points: 512,
            refine: 4,
            max_iters: 800,
            sd_tolerance: 1e-10,
            simplex_step: 0.3,
            restarts: 3,
            seed: 42,
        }
    }
}
