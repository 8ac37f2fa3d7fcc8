//! The registry of fittable parameters: every name an experiment may free, fix or tie,
//! with its unit, its kind (which fixes its default bounds transform), its domain, the
//! models that use it, and whether it can have one copy per GPU, GPU×precision or model.
//! Each parameter is declared once, in `parameters!`: its name is the field it lives in,
//! so the experiment key, the `fitted.json` key and the accessor cannot drift apart.
//! [`ParamSet`] holds the parameters of every model and reads and writes them by [`Param`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::PerfModelKind;
use super::params::{EfficiencyOverride, ServingParams};
use super::reference::ReferenceParams;

/// What kind of quantity a parameter is; decides the default bounds transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A fraction in (0, 1]: logit between its bounds.
    Fraction,
    /// A positive quantity spanning decades (times, counts): logit of the log between its bounds.
    Positive,
}

/// The values a parameter file may give a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Domain {
    /// (0, 1].
    Fraction,
    /// [0, max]: upper limits far beyond any engine keep every derived time finite (an
    /// overhead of 1e308 s once made TTFT NaN while the prediction still said "feasible").
    UpTo(f64),
    /// [1, 1e9]: a count of sequences or tokens.
    Count,
}

impl Domain {
    /// Whether `v` lies in the domain.
    pub fn contains(self, v: f64) -> bool {
        match self {
            Domain::Fraction => v > 0.0 && v <= 1.0,
            Domain::UpTo(max) => v.is_finite() && (0.0..=max).contains(&v),
            Domain::Count => v.is_finite() && (1.0..=1e9).contains(&v),
        }
    }

    /// "`name` must be in …, got `v`", the message of a value outside the domain.
    pub fn violation(self, name: &str, v: f64) -> String {
        match self {
            Domain::Fraction => format!("{name} must be in (0, 1], got {v}"),
            Domain::UpTo(max) => format!("{name} must be in [0, {max}], got {v:e}"),
            Domain::Count => format!("{name} must be in [1, 1e9], got {v:e}"),
        }
    }
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
    /// One copy per weight precision in the data but the 16-bit ones, whose value is
    /// the global one (a factor of 1).
    Precision,
    /// One copy per engine family in the data, and the global value for rows of no known
    /// engine. A factor relative to the reference engine (TensorRT-LLM) has no copy for
    /// it nor a global one: both are 1 by definition.
    Engine,
}

/// A registered parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// The parameter.
    pub param: Param,
    /// Name as experiments and parameter files spell it.
    pub name: &'static str,
    /// Unit for reports.
    pub unit: &'static str,
    /// Kind (default transform).
    pub kind: ParamKind,
    /// Values a parameter file may give it.
    pub domain: Domain,
    /// Which models read it.
    pub models: &'static [PerfModelKind],
    /// Whether per-GPU / per-GPU×precision / per-model copies are supported.
    pub groupable: bool,
}

const PHYSICAL: &[PerfModelKind] = &[PerfModelKind::Roofline, PerfModelKind::Serving];
const SERVING: &[PerfModelKind] = &[PerfModelKind::Serving];
const REFERENCE: &[PerfModelKind] = &[PerfModelKind::Reference];

/// Declares every parameter once: its variant, the `ParamSet` field that holds it (whose
/// name is the parameter's name), its unit, kind, domain, models, and whether an
/// [`EfficiencyOverride`] holds per-group copies of it.
macro_rules! parameters {
    ($($variant:ident => $owner:ident.$field:ident, $unit:literal, $kind:ident, $domain:expr,
       $models:ident, grouped: $grouped:tt;)*) => {
        /// A fittable parameter.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Param {
            $(
                #[doc = concat!("`", stringify!($field), "` (", $unit, ").")]
                $variant,
            )*
        }

        /// Every fittable parameter, in declaration order.
        pub const PARAMETERS: &[ParamInfo] = &[$(ParamInfo {
            param: Param::$variant,
            name: stringify!($field),
            unit: $unit,
            kind: ParamKind::$kind,
            domain: $domain,
            models: $models,
            groupable: $grouped,
        },)*];

        impl Param {
            fn global_mut(self, set: &mut ParamSet) -> &mut f64 {
                match self {
                    $(Param::$variant => &mut set.$owner.$field,)*
                }
            }

            fn global(self, set: &ParamSet) -> f64 {
                match self {
                    $(Param::$variant => set.$owner.$field,)*
                }
            }

            /// The slot of this parameter in a per-group override, if it can have copies.
            pub fn grouped(self, o: &EfficiencyOverride) -> Option<Option<f64>> {
                match self {
                    $(Param::$variant => parameters!(@slot $grouped, o, $field),)*
                }
            }

            fn grouped_mut(self, o: &mut EfficiencyOverride) -> Option<&mut Option<f64>> {
                match self {
                    $(Param::$variant => parameters!(@slot_mut $grouped, o, $field),)*
                }
            }
        }
    };
    (@slot true, $o:ident, $field:ident) => { Some($o.$field) };
    (@slot false, $o:ident, $field:ident) => { None };
    (@slot_mut true, $o:ident, $field:ident) => { Some(&mut $o.$field) };
    (@slot_mut false, $o:ident, $field:ident) => { None };
}

parameters! {
    Efficiency => reference.efficiency, "fraction of TFLOPS", Fraction, Domain::Fraction,
        REFERENCE, grouped: false;
    PrefillEfficiency => serving.prefill_efficiency, "fraction of dense peak", Fraction,
        Domain::Fraction, PHYSICAL, grouped: true;
    DecodeEfficiency => serving.decode_efficiency, "fraction of HBM bandwidth", Fraction,
        Domain::Fraction, PHYSICAL, grouped: true;
    KvReadEfficiency => serving.kv_read_efficiency, "fraction of HBM bandwidth", Fraction,
        Domain::Fraction, PHYSICAL, grouped: false;
    LinkEfficiency => serving.link_efficiency, "fraction of link bandwidth", Fraction,
        Domain::Fraction, PHYSICAL, grouped: false;
    AllreduceLatency => serving.allreduce_latency_s, "s", Positive, Domain::UpTo(1.0),
        PHYSICAL, grouped: true;
    StepOverhead => serving.step_overhead_s, "s", Positive, Domain::UpTo(60.0),
        PHYSICAL, grouped: true;
    LayerOverhead => serving.layer_overhead_s, "s per layer", Positive, Domain::UpTo(1.0),
        PHYSICAL, grouped: false;
    SequenceOverhead => serving.sequence_overhead_s, "s per sequence per step", Positive,
        Domain::UpTo(1.0), PHYSICAL, grouped: true;
    EnginePrefillFactor => serving.engine_prefill_factor, "× η_pre", Positive,
        Domain::UpTo(10.0), PHYSICAL, grouped: true;
    EngineDecodeFactor => serving.engine_decode_factor, "× η_dec", Positive,
        Domain::UpTo(10.0), PHYSICAL, grouped: true;
    PrecisionPrefillFactor => serving.precision_prefill_factor, "× η_pre", Positive,
        Domain::UpTo(10.0), PHYSICAL, grouped: true;
    PrecisionDecodeFactor => serving.precision_decode_factor, "× η_dec", Positive,
        Domain::UpTo(10.0), PHYSICAL, grouped: true;
    RequestOverhead => serving.request_overhead_s, "s", Positive, Domain::UpTo(3600.0),
        PHYSICAL, grouped: false;
    TailFactor => serving.tail_factor, "× mean wait", Positive, Domain::UpTo(1000.0),
        SERVING, grouped: false;
    BurstFactor => serving.burst_factor, "fraction of lockstep wait", Fraction,
        Domain::Fraction, SERVING, grouped: false;
    MemoryUtilization => serving.memory_utilization, "fraction of memory", Fraction,
        Domain::Fraction, PHYSICAL, grouped: false;
    ReserveGb => serving.reserve_gb, "GB per GPU", Positive, Domain::UpTo(1e6),
        PHYSICAL, grouped: false;
    MaxRunningBatch => serving.max_running_batch, "sequences", Positive, Domain::Count,
        SERVING, grouped: true;
    MaxPrefillTokens => serving.max_prefill_tokens, "tokens", Positive, Domain::Count,
        SERVING, grouped: false;
}

impl Param {
    /// Its registry entry.
    pub fn info(self) -> &'static ParamInfo {
        // The table is generated in variant order, so the discriminant indexes it.
        &PARAMETERS[self as usize]
    }

    /// Its name, as experiments and parameter files spell it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// For a factor relative to a reference group, the groups whose factor is 1 by
    /// definition (and not free): the reference engine (and engine-less rows, the empty
    /// group) for the engine factors; the 16-bit precisions for the precision factors.
    pub fn reference_groups(self) -> &'static [&'static str] {
        match self {
            Param::EnginePrefillFactor | Param::EngineDecodeFactor => &["", "trtllm"],
            Param::PrecisionPrefillFactor | Param::PrecisionDecodeFactor => &["", "fp16", "bf16"],
            _ => &[],
        }
    }
}

impl Serialize for Param {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Param, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name no parameter has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown parameter `{0}`")]
pub struct UnknownParam(pub String);

impl FromStr for Param {
    type Err = UnknownParam;
    fn from_str(name: &str) -> Result<Param, UnknownParam> {
        PARAMETERS
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.param)
            .ok_or_else(|| UnknownParam(name.to_string()))
    }
}

/// A per-group copy asked of a parameter that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{0}` cannot have a copy per group")]
pub struct NotGroupable(pub Param);

/// The parameters of every model, read and written by [`Param`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamSet {
    /// Parameters of `roofline` and `serving`.
    pub serving: ServingParams,
    /// Parameters of `reference` (`seed` in files written before 0.2).
    #[serde(alias = "seed")]
    pub reference: ReferenceParams,
}

impl ParamSet {
    /// Sets `param` (for `group` under `tie`) to `value`; a per-group copy of a parameter
    /// that cannot have one is an error. The empty group is the global value (under
    /// [`Tie::Engine`], the reference engine's).
    pub fn set(
        &mut self,
        param: Param,
        tie: Tie,
        group: &str,
        value: f64,
    ) -> Result<(), NotGroupable> {
        let tie = if group.is_empty() { Tie::Global } else { tie };
        let overrides = match tie {
            Tie::Global => {
                *param.global_mut(self) = value;
                return Ok(());
            }
            Tie::Gpu => &mut self.serving.per_gpu,
            Tie::GpuPrecision => &mut self.serving.per_gpu_precision,
            Tie::Model => &mut self.serving.per_model,
            Tie::Engine => &mut self.serving.per_engine,
            Tie::Precision => &mut self.serving.per_precision,
        };
        let entry = overrides.entry(group.to_string()).or_default();
        *param.grouped_mut(entry).ok_or(NotGroupable(param))? = Some(value);
        Ok(())
    }

    /// The value `param` has for `group` under `tie` (the global value when the group has
    /// no override).
    pub fn get(&self, param: Param, tie: Tie, group: &str) -> f64 {
        let global = param.global(self);
        let overrides = match tie {
            Tie::Global => return global,
            Tie::Gpu => &self.serving.per_gpu,
            Tie::GpuPrecision => &self.serving.per_gpu_precision,
            Tie::Model => &self.serving.per_model,
            Tie::Engine => &self.serving.per_engine,
            Tie::Precision => &self.serving.per_precision,
        };
        overrides
            .get(group)
            .and_then(|o| param.grouped(o).flatten())
            .unwrap_or(global)
    }
}

/// Why a parameter set cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidParams {
    /// A parameter (or a group's copy, `group.name`) outside its domain.
    #[error("{}", domain.violation(name, *value))]
    OutOfDomain {
        /// The parameter, prefixed with its group for a per-group copy.
        name: String,
        /// The value given.
        value: f64,
        /// Its domain.
        domain: Domain,
    },
    /// `auto_tp_min_kv_share` outside [0, 1).
    #[error("auto_tp_min_kv_share must be in [0, 1), got {0}")]
    AutoTpShare(f64),
    /// A concurrency level of 0.
    #[error("concurrency_sweep: levels must be at least 1")]
    ZeroConcurrency,
}

impl ParamSet {
    /// Checks every value, global and per group, is in its parameter's domain.
    pub fn validate(&self) -> Result<(), InvalidParams> {
        let serving = &self.serving;
        for p in PARAMETERS {
            let value = p.param.global(self);
            if !p.domain.contains(value) {
                return Err(InvalidParams::OutOfDomain {
                    name: p.name.to_string(),
                    value,
                    domain: p.domain,
                });
            }
        }
        if !(0.0..1.0).contains(&serving.auto_tp_min_kv_share) {
            return Err(InvalidParams::AutoTpShare(serving.auto_tp_min_kv_share));
        }
        if serving.concurrency_sweep.contains(&0) {
            return Err(InvalidParams::ZeroConcurrency);
        }
        let overrides = serving
            .per_gpu
            .iter()
            .chain(&serving.per_gpu_precision)
            .chain(&serving.per_architecture)
            .chain(&serving.per_model)
            .chain(&serving.per_engine)
            .chain(&serving.per_precision);
        for (key, o) in overrides {
            for p in PARAMETERS {
                if let Some(Some(value)) = p.param.grouped(o)
                    && !p.domain.contains(value)
                {
                    return Err(InvalidParams::OutOfDomain {
                        name: format!("{key}.{}", p.name),
                        value,
                        domain: p.domain,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_parameter_can_be_set_and_read_back() {
        for p in PARAMETERS {
            let mut set = ParamSet::default();
            set.set(p.param, Tie::Global, "", 0.123).unwrap();
            assert!(
                (set.get(p.param, Tie::Global, "") - 0.123).abs() < 1e-12,
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn the_table_is_indexed_by_the_parameter_and_names_parse_back() {
        for p in PARAMETERS {
            assert_eq!(p.param.info().name, p.name);
            assert_eq!(p.name.parse::<Param>().unwrap(), p.param);
        }
        assert!("no_such".parse::<Param>().is_err());
    }

    #[test]
    fn exactly_the_override_fields_are_groupable() {
        let o = EfficiencyOverride::default();
        for p in PARAMETERS {
            assert_eq!(p.param.grouped(&o).is_some(), p.groupable, "{}", p.name);
        }
    }

    #[test]
    fn grouped_copies_override_only_their_group() {
        let mut set = ParamSet::default();
        set.set(Param::DecodeEfficiency, Tie::Gpu, "l40s", 0.5)
            .unwrap();
        assert!((set.get(Param::DecodeEfficiency, Tie::Gpu, "l40s") - 0.5).abs() < 1e-12);
        assert!((set.get(Param::DecodeEfficiency, Tie::Gpu, "h100-sxm") - 0.75).abs() < 1e-12);
        assert!(set.set(Param::TailFactor, Tie::Gpu, "l40s", 1.0).is_err());
    }
}
