//! The registry of fittable parameters: every name an experiment may free, fix or tie,
//! with its unit, its kind (which fixes its default bounds transform), the models that use
//! it, and whether it can have one copy per GPU, GPU×precision or model. [`ParamSet`]
//! holds the parameters of every model and reads and writes them by name and group.

use serde::{Deserialize, Serialize};

use super::PerfModelKind;
use super::params::{EfficiencyOverride, ServingParams};
use super::seed::SeedParams;

/// What kind of quantity a parameter is; decides the default bounds transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A fraction in (0, 1]: logit between its bounds.
    Fraction,
    /// A positive quantity spanning decades (times, counts): logit of the log between its bounds.
    Positive,
}

/// Whether and how a parameter can have one copy per group.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tie {
    /// One value for everything.
    #[default]
    Global,
    /// One copy per GPU in the data.
    Gpu,
    /// One copy per GPU × weight precision in the data.
    GpuPrecision,
    /// One copy per model in the data.
    Model,
}

/// A registered parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Name as experiments spell it.
    pub name: &'static str,
    /// Unit for reports.
    pub unit: &'static str,
    /// Kind (default transform).
    pub kind: ParamKind,
    /// Which models read it.
    pub models: &'static [PerfModelKind],
    /// Whether per-GPU / per-GPU×precision / per-model copies are supported.
    pub groupable: bool,
}

const PHYSICAL: &[PerfModelKind] = &[PerfModelKind::Roofline, PerfModelKind::Serving];
const SERVING: &[PerfModelKind] = &[PerfModelKind::Serving];

/// Every fittable parameter.
pub const PARAMETERS: &[ParamInfo] = &[
    ParamInfo {
        name: "efficiency",
        unit: "fraction of TFLOPS",
        kind: ParamKind::Fraction,
        models: &[PerfModelKind::Seed],
        groupable: false,
    },
    ParamInfo {
        name: "prefill_efficiency",
        unit: "fraction of dense peak",
        kind: ParamKind::Fraction,
        models: PHYSICAL,
        groupable: true,
    },
    ParamInfo {
        name: "decode_efficiency",
        unit: "fraction of HBM bandwidth",
        kind: ParamKind::Fraction,
        models: PHYSICAL,
        groupable: true,
    },
    ParamInfo {
        name: "kv_read_efficiency",
        unit: "fraction of HBM bandwidth",
        kind: ParamKind::Fraction,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "link_efficiency",
        unit: "fraction of link bandwidth",
        kind: ParamKind::Fraction,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "allreduce_latency_s",
        unit: "s",
        kind: ParamKind::Positive,
        models: PHYSICAL,
        groupable: true,
    },
    ParamInfo {
        name: "step_overhead_s",
        unit: "s",
        kind: ParamKind::Positive,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "request_overhead_s",
        unit: "s",
        kind: ParamKind::Positive,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "tail_factor",
        unit: "× mean wait",
        kind: ParamKind::Positive,
        models: SERVING,
        groupable: false,
    },
    ParamInfo {
        name: "burst_factor",
        unit: "fraction of lockstep wait",
        kind: ParamKind::Fraction,
        models: SERVING,
        groupable: false,
    },
    ParamInfo {
        name: "memory_utilization",
        unit: "fraction of memory",
        kind: ParamKind::Fraction,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "reserve_gb",
        unit: "GB per GPU",
        kind: ParamKind::Positive,
        models: PHYSICAL,
        groupable: false,
    },
    ParamInfo {
        name: "max_running_batch",
        unit: "sequences",
        kind: ParamKind::Positive,
        models: SERVING,
        groupable: false,
    },
    ParamInfo {
        name: "max_prefill_tokens",
        unit: "tokens",
        kind: ParamKind::Positive,
        models: SERVING,
        groupable: false,
    },
];

/// The registered parameter called `name`.
pub fn info(name: &str) -> Option<&'static ParamInfo> {
    PARAMETERS.iter().find(|p| p.name == name)
}

/// The parameters of every model, read and written by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamSet {
    /// Parameters of `roofline` and `serving`.
    pub serving: ServingParams,
    /// Parameters of `seed`.
    pub seed: SeedParams,
}

fn scalar<'a>(p: &'a mut ServingParams, name: &str) -> Option<&'a mut f64> {
    Some(match name {
        "prefill_efficiency" => &mut p.prefill_efficiency,
        "decode_efficiency" => &mut p.decode_efficiency,
        "kv_read_efficiency" => &mut p.kv_read_efficiency,
        "link_efficiency" => &mut p.link_efficiency,
        "allreduce_latency_s" => &mut p.allreduce_latency_s,
        "step_overhead_s" => &mut p.step_overhead_s,
        "request_overhead_s" => &mut p.request_overhead_s,
        "tail_factor" => &mut p.tail_factor,
        "burst_factor" => &mut p.burst_factor,
        "memory_utilization" => &mut p.memory_utilization,
        "reserve_gb" => &mut p.reserve_gb,
        "max_running_batch" => &mut p.max_running_batch,
        "max_prefill_tokens" => &mut p.max_prefill_tokens,
        _ => return None,
    })
}

fn slot<'a>(o: &'a mut EfficiencyOverride, name: &str) -> Option<&'a mut Option<f64>> {
    match name {
        "prefill_efficiency" => Some(&mut o.prefill_efficiency),
        "decode_efficiency" => Some(&mut o.decode_efficiency),
        "allreduce_latency_s" => Some(&mut o.allreduce_latency_s),
        _ => None,
    }
}

impl ParamSet {
    /// Sets parameter `name` (for `group` under `tie`) to `value`. Unknown names and
    /// ties a parameter does not support are errors naming both.
    pub fn set(&mut self, name: &str, tie: Tie, group: &str, value: f64) -> Result<(), String> {
        if name == "efficiency" {
            self.seed.efficiency = value;
            return Ok(());
        }
        let overrides = match tie {
            Tie::Global => {
                let field = scalar(&mut self.serving, name)
                    .ok_or_else(|| format!("unknown parameter `{name}`"))?;
                *field = value;
                return Ok(());
            }
            Tie::Gpu => &mut self.serving.per_gpu,
            Tie::GpuPrecision => &mut self.serving.per_gpu_precision,
            Tie::Model => &mut self.serving.per_model,
        };
        let entry = overrides.entry(group.to_string()).or_default();
        let field = slot(entry, name)
            .ok_or_else(|| format!("parameter `{name}` cannot have a copy per group"))?;
        *field = Some(value);
        Ok(())
    }

    /// The value parameter `name` has for `group` under `tie` (the global value when the
    /// group has no override).
    pub fn get(&self, name: &str, tie: Tie, group: &str) -> Option<f64> {
        if name == "efficiency" {
            return Some(self.seed.efficiency);
        }
        let mut copy = self.serving.clone();
        let global = *scalar(&mut copy, name)?;
        let overrides = match tie {
            Tie::Global => return Some(global),
            Tie::Gpu => &self.serving.per_gpu,
            Tie::GpuPrecision => &self.serving.per_gpu_precision,
            Tie::Model => &self.serving.per_model,
        };
        let grouped = overrides.get(group).and_then(|o| match name {
            "prefill_efficiency" => o.prefill_efficiency,
            "decode_efficiency" => o.decode_efficiency,
            "allreduce_latency_s" => o.allreduce_latency_s,
            _ => None,
        });
        Some(grouped.unwrap_or(global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_parameter_can_be_set_and_read_back() {
        for p in PARAMETERS {
            let mut set = ParamSet::default();
            set.set(p.name, Tie::Global, "", 0.123).unwrap();
            assert!(
                (set.get(p.name, Tie::Global, "").unwrap() - 0.123).abs() < 1e-12,
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn grouped_copies_override_only_their_group() {
        let mut set = ParamSet::default();
        set.set("decode_efficiency", Tie::Gpu, "l40s", 0.5).unwrap();
        assert!((set.get("decode_efficiency", Tie::Gpu, "l40s").unwrap() - 0.5).abs() < 1e-12);
        assert!((set.get("decode_efficiency", Tie::Gpu, "h100-sxm").unwrap() - 0.75).abs() < 1e-12);
        assert!(set.set("tail_factor", Tie::Gpu, "l40s", 1.0).is_err());
        assert!(set.set("no_such", Tie::Global, "", 1.0).is_err());
    }
}
