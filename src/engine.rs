//! Serving engines as a modelled dimension: the engine families whose efficiency and
//! per-step overhead a calibration may fit apart (TensorRT-LLM, vLLM, SGLang, llama.cpp,
//! DeepSpeed-MII), and how a free-text engine name in data (`trtllm-0.9.0`,
//! `vllm-0.6.1`, `llama.cpp`) maps onto its family. Owns nothing else: the values per
//! family live in the parameter set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::format::UnknownChoice;

/// An engine family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// NVIDIA TensorRT-LLM (and NIMs on its backend).
    Trtllm,
    /// vLLM.
    Vllm,
    /// SGLang.
    Sglang,
    /// llama.cpp.
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// DeepSpeed-MII / FastGen.
    DeepspeedMii,
}

impl Engine {
    /// The family the engine factors are relative to (its factors are 1, as are those of
    /// rows of no known engine): TensorRT-LLM, because most of the measured data ran on
    /// it.
    pub const REFERENCE: Engine = Engine::Trtllm;

    /// Every family, in a stable order.
    pub const ALL: [Engine; 5] = [
        Engine::Trtllm,
        Engine::Vllm,
        Engine::Sglang,
        Engine::LlamaCpp,
        Engine::DeepspeedMii,
    ];

    /// The family's name, as data and flags spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Trtllm => "trtllm",
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
            Engine::LlamaCpp => "llama.cpp",
            Engine::DeepspeedMii => "deepspeed-mii",
        }
    }

    /// The family of an engine name from data: the name without a trailing `-<version>`
    /// (`trtllm-0.9.0` → trtllm), case-insensitive. `None` for an empty or unknown name:
    /// such rows are modelled with the engine-independent values.
    pub fn family_of(name: &str) -> Option<Engine> {
        let name = name.trim().to_ascii_lowercase();
        let family = match name.rsplit_once('-') {
            Some((family, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => family,
            _ => name.as_str(),
        };
        let family = match family {
            "tensorrt-llm" | "trt-llm" | "tensorrt_llm" => "trtllm",
            "llamacpp" | "llama-cpp" => "llama.cpp",
            other => other,
        };
        Engine::ALL.into_iter().find(|e| e.as_str() == family)
    }

    /// The family name of an engine name from data, or `no engine` when it names none
    /// the model knows (for grouping rows in summaries and folds).
    pub fn label_of(name: &str) -> &'static str {
        Engine::family_of(name).map_or("no engine", Engine::as_str)
    }

    /// The version part of an engine name (`vllm-0.6.1` → `0.6.1`), if it has one.
    pub fn version_of(name: &str) -> Option<&str> {
        name.trim()
            .rsplit_once('-')
            .map(|(_, v)| v)
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Engine {
    type Err = UnknownChoice;

    /// A family name, or an engine name with a version (`vllm-0.6.1`).
    fn from_str(s: &str) -> Result<Engine, UnknownChoice> {
        Engine::family_of(s).ok_or_else(|| UnknownChoice {
            what: "engine",
            given: s.to_string(),
            expected: format!(
                "expected one of {}",
                Engine::ALL.map(Engine::as_str).join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_name_maps_to_its_family() {
        assert_eq!(Engine::family_of("trtllm-0.9.0"), Some(Engine::Trtllm));
        assert_eq!(Engine::family_of("vllm-0.6.1"), Some(Engine::Vllm));
        assert_eq!(Engine::family_of("TensorRT-LLM"), Some(Engine::Trtllm));
        assert_eq!(
            Engine::family_of("deepspeed-mii"),
            Some(Engine::DeepspeedMii)
        );
        assert_eq!(Engine::family_of("llama.cpp"), Some(Engine::LlamaCpp));
        assert_eq!(Engine::version_of("vllm-0.5.3"), Some("0.5.3"));
        assert_eq!(Engine::version_of("deepspeed-mii"), None);
    }

    #[test]
    fn an_empty_or_unknown_name_has_no_family() {
        assert_eq!(Engine::family_of(""), None);
        assert_eq!(Engine::family_of("my-engine"), None);
        let err = "my-engine".parse::<Engine>().unwrap_err();
        assert!(err.to_string().contains("trtllm"), "{err}");
    }

    #[test]
    fn serde_uses_the_family_names() {
        let json = serde_json::to_string(&Engine::LlamaCpp).unwrap();
        assert_eq!(json, "\"llama.cpp\"");
        let back: Engine = serde_json::from_str("\"deepspeed-mii\"").unwrap();
        assert_eq!(back, Engine::DeepspeedMii);
    }
}
