//! The GPU and model catalog: typed specs loaded from `data/gpus.toml` and
//! `data/models.toml` (embedded in the binary, overridable from a directory), and the
//! name lookup that maps slugs and real-data aliases onto entries — with the closest
//! valid slugs when a name is unknown. The catalog knows nothing of performance models.

mod gpu;
mod model;
pub mod names;

use std::collections::HashMap;
use std::path::Path;

use crate::textfile::SourcePos;

pub use gpu::{Gpu, Link, LinkKind, TensorRates};
pub use model::{FfnKind, Model, Moe, NormKind};
use serde::Deserialize;

/// The embedded GPU catalog source.
pub const EMBEDDED_GPUS: &str = include_str!("../../data/gpus.toml");
/// The embedded model catalog source.
pub const EMBEDDED_MODELS: &str = include_str!("../../data/models.toml");

/// What can go wrong loading or querying the catalog.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// A catalog file is not valid TOML or does not match the schema.
    #[error("{at}: {message}")]
    Parse {
        /// Where in which file.
        at: SourcePos,
        /// What was expected.
        message: String,
    },
    /// A catalog file parses but breaks a rule (duplicate name, non-positive number).
    #[error("{file}: {message}")]
    Invalid {
        /// File the entry came from.
        file: String,
        /// What is wrong, naming the entry.
        message: String,
    },
    /// A catalog file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// No GPU has this slug or alias.
    #[error("unknown GPU `{name}`; closest: {}", suggestions.join(", "))]
    UnknownGpu {
        /// The name asked for.
        name: String,
        /// The closest valid slugs.
        suggestions: Vec<String>,
    },
    /// No model has this slug or alias.
    #[error("unknown model `{name}`; closest: {}", suggestions.join(", "))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The closest valid slugs.
        suggestions: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GpuFile {
    gpu: Vec<Gpu>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    model: Vec<Model>,
}

/// GPUs and models with their name indexes.
#[derive(Debug, Clone)]
pub struct Catalog {
    gpus: Vec<Gpu>,
    models: Vec<Model>,
    gpu_index: HashMap<String, usize>,
    model_index: HashMap<String, usize>,
}

fn parse_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Parse {
        at: SourcePos::of_offset(file, text, e.span().map_or(0, |s| s.start)),
        message: names::closest_fields(e.message().trim()),
    })
}

/// Builds the normalised-name → index map, refusing a name two entries share.
fn index<'a>(
    file: &str,
    entries: impl Iterator<Item = (&'a str, &'a [String])>,
) -> Result<HashMap<String, usize>, CatalogError> {
    let mut map: HashMap<String, usize> = HashMap::new();
    let mut slugs: Vec<&str> = Vec::new();
    for (i, (slug, aliases)) in entries.enumerate() {
        slugs.push(slug);
        for name in std::iter::once(slug).chain(aliases.iter().map(String::as_str)) {
            let key = names::normalize(name);
            match map.get(&key) {
                Some(&j) if j != i => {
                    return Err(CatalogError::Invalid {
                        file: file.to_string(),
                        message: format!(
                            "name `{name}` is used by both `{}` and `{slug}`",
                            slugs[j]
                        ),
                    });
                }
                _ => {
                    map.insert(key, i);
                }
            }
        }
    }
    Ok(map)
}

fn check_positive(file: &str, slug: &str, field: &str, value: f64) -> Result<(), CatalogError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            file: file.to_string(),
            message: format!("`{slug}`: {field} must be a positive number, found {value}"),
        })
    }
}

/// A bridged link says how many GPUs a bridge joins and what carries the rest.
fn check_topology(file: &str, g: &Gpu) -> Result<(), CatalogError> {
    let link = &g.link;
    let invalid = |message: &str| CatalogError::Invalid {
        file: file.to_string(),
        message: format!("`{}`: link: {message}", g.slug),
    };
    match (link.bridged_gpus, link.host_gbps_per_dir) {
        (Some(gpus), Some(host)) if gpus >= 2 => {
            check_positive(file, &g.slug, "link.host_gbps_per_dir", host)
        }
        (Some(gpus), Some(_)) => Err(invalid(&format!(
            "bridged_gpus must be at least 2, found {gpus}"
        ))),
        (Some(_), None) => Err(invalid(
            "bridged_gpus needs host_gbps_per_dir, the link beyond a bridge",
        )),
        (None, Some(_)) => Err(invalid(
            "host_gbps_per_dir is the link beyond a bridge: set bridged_gpus too",
        )),
        (None, None) => Ok(()),
    }
}

fn validate_gpu(file: &str, g: &Gpu) -> Result<(), CatalogError> {
    check_positive(file, &g.slug, "memory_gb", g.memory_gb)?;
    check_positive(file, &g.slug, "memory_bw_gbps", g.memory_bw_gbps)?;
    check_positive(file, &g.slug, "tflops.fp16", g.tflops.fp16)?;
    check_positive(file, &g.slug, "link.gbps_per_dir", g.link.gbps_per_dir)?;
    check_topology(file, g)?;
    for (field, rate) in [
        ("tflops.bf16", g.tflops.bf16),
        ("tflops.fp8", g.tflops.fp8),
        ("tflops.int8", g.tflops.int8),
        ("tflops.fp4", g.tflops.fp4),
    ] {
        if let Some(rate) = rate {
            check_positive(file, &g.slug, field, rate)?;
        }
    }
    Ok(())
}

fn validate_model(file: &str, m: &Model) -> Result<(), CatalogError> {
    let invalid = |message: String| CatalogError::Invalid {
        file: file.to_string(),
        message: format!("`{}`: {message}", m.slug),
    };
    for (field, v) in [
        ("hidden", m.hidden),
        ("layers", m.layers),
        ("heads", m.heads),
        ("kv_heads", m.kv_heads),
        ("head_dim", m.head_dim),
        ("intermediate", m.intermediate),
        ("vocab", m.vocab),
        ("max_context", m.max_context),
    ] {
        if v == 0 {
            return Err(invalid(format!("{field} must be positive")));
        }
    }
    if !m.heads.is_multiple_of(m.kv_heads) {
        return Err(invalid(format!(
            "heads ({}) must be a multiple of kv_heads ({})",
            m.heads, m.kv_heads
        )));
    }
    if let Some(moe) = &m.moe
        && (moe.active_experts == 0 || moe.active_experts > moe.experts)
    {
        return Err(invalid(format!(
            "moe.active_experts ({}) must be between 1 and experts ({})",
            moe.active_experts, moe.experts
        )));
    }
    check_positive(file, &m.slug, "published_params_b", m.published_params_b)
}

impl Catalog {
    /// Parses a catalog from the text of a GPU file and a model file; `gpu_file` and
    /// `model_file` name them in errors.
    pub fn from_sources(
        gpu_file: &str,
        gpu_text: &str,
        model_file: &str,
        model_text: &str,
    ) -> Result<Catalog, CatalogError> {
        let gpus = parse_toml::<GpuFile>(gpu_file, gpu_text)?.gpu;
        let models = parse_toml::<ModelFile>(model_file, model_text)?.model;
        for g in &gpus {
            validate_gpu(gpu_file, g)?;
        }
        for m in &models {
            validate_model(model_file, m)?;
        }
        let gpu_index = index(
            gpu_file,
            gpus.iter().map(|g| (g.slug.as_str(), g.aliases.as_slice())),
        )?;
        let model_index = index(
            model_file,
            models
                .iter()
                .map(|m| (m.slug.as_str(), m.aliases.as_slice())),
        )?;
        Ok(Catalog {
            gpus,
            models,
            gpu_index,
            model_index,
        })
    }

    /// The catalog embedded in the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Catalog::from_sources(
            "data/gpus.toml",
            EMBEDDED_GPUS,
            "data/models.toml",
            EMBEDDED_MODELS,
        )
    }

    /// A catalog from `dir/gpus.toml` and `dir/models.toml`; one file missing from the
    /// directory falls back to the embedded one. A directory that does not exist, or holds
    /// neither file, is an error: it is almost always a mistyped path, and falling back
    /// silently would answer with a catalog the user did not ask for.
    pub fn from_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let missing = |message: &str| CatalogError::Io {
            path: dir.display().to_string(),
            message: message.to_string(),
        };
        if !dir.is_dir() {
            return Err(missing(
                "not a directory (--catalog takes a directory holding gpus.toml and/or models.toml)",
            ));
        }
        if !dir.join("gpus.toml").exists() && !dir.join("models.toml").exists() {
            return Err(missing("holds neither gpus.toml nor models.toml"));
        }
        let read = |name: &str, fallback: &'static str| -> Result<(String, String), CatalogError> {
            let path = dir.join(name);
            if !path.exists() {
                return Ok((format!("data/{name}"), fallback.to_string()));
            }
            crate::textfile::read(&path)
                .map(|text| (path.display().to_string(), text))
                .map_err(|e| CatalogError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
        };
        let (gpu_file, gpu_text) = read("gpus.toml", EMBEDDED_GPUS)?;
        let (model_file, model_text) = read("models.toml", EMBEDDED_MODELS)?;
        Catalog::from_sources(&gpu_file, &gpu_text, &model_file, &model_text)
    }

    /// Every GPU, in file order.
    pub fn gpus(&self) -> &[Gpu] {
        &self.gpus
    }

    /// Every model, in file order.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The GPU with this slug or alias (case- and separator-insensitive).
    pub fn gpu(&self, name: &str) -> Result<&Gpu, CatalogError> {
        match self.gpu_index.get(&names::normalize(name)) {
            Some(&i) => Ok(&self.gpus[i]),
            None => Err(CatalogError::UnknownGpu {
                name: name.to_string(),
                suggestions: closest(
                    name,
                    self.gpus
                        .iter()
                        .map(|g| (g.slug.as_str(), g.aliases.as_slice())),
                ),
            }),
        }
    }

    /// The model with this slug or alias (case- and separator-insensitive).
    pub fn model(&self, name: &str) -> Result<&Model, CatalogError> {
        match self.model_index.get(&names::normalize(name)) {
            Some(&i) => Ok(&self.models[i]),
            None => Err(CatalogError::UnknownModel {
                name: name.to_string(),
                suggestions: closest(
                    name,
                    self.models
                        .iter()
                        .map(|m| (m.slug.as_str(), m.aliases.as_slice())),
                ),
            }),
        }
    }
}

/// The three slugs whose names are closest to `query`.
fn closest<'a>(query: &str, entries: impl Iterator<Item = (&'a str, &'a [String])>) -> Vec<String> {
    let query = names::normalize(query);
    let mut ranked: Vec<(usize, &str)> = entries
        .map(|(slug, aliases)| {
            let all = std::iter::once(slug).chain(aliases.iter().map(String::as_str));
            (names::distance_to(&query, all), slug)
        })
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .take(3)
        .map(|(_, s)| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests;
