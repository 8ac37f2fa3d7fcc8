//! The rules an experiment must satisfy before anything runs. Each rule is one check with
//! one message naming the field; `tests.rs` has a test per rule.

use super::raw::{RawChoice, RawExperiment, RawFilter, RawParameter};
use super::validate_fit::{loss, search};
use super::{
    AssumptionSpace, ExperimentError, Filter, FreeSpec, Mode, Parameter, PrecisionChoice, Prior,
    TpChoice, ValidExperiment,
};
use crate::bench::Metric;
use crate::catalog::{Catalog, names};
use crate::perf::registry::{PARAMETERS, Param, ParamKind, Tie};
use crate::precision::Precision;

/// Largest number of hypothesis combinations an experiment may enumerate.
pub const MAX_HYPOTHESES: usize = 64;
/// The prior width (transformed units) when an experiment gives none: weak.
pub const DEFAULT_PRIOR_WIDTH: f64 = 3.0;

/// A rule an experiment breaks: the field and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct BrokenRule {
    /// The field, as a TOML path (`parameters.decode_efficiency.bounds`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// The rule `field` breaks.
pub(super) fn broken(field: impl Into<String>, problem: impl Into<String>) -> BrokenRule {
    BrokenRule {
        field: field.into(),
        problem: problem.into(),
    }
}

pub(super) type Check<T> = Result<T, BrokenRule>;

/// Validates `raw` (from `file`, whose text hashes to `hash`). `data_exists` says whether
/// a data file can be read (on disk or embedded); the check does no IO of its own.
pub fn validate(
    raw: RawExperiment,
    file: &str,
    hash: String,
    catalog: &Catalog,
    data_exists: &dyn Fn(&str) -> bool,
) -> Result<ValidExperiment, ExperimentError> {
    let fail = |rule: BrokenRule| ExperimentError::Invalid {
        file: file.to_string(),
        message: rule.to_string(),
    };
    check_name(&raw.name).map_err(fail)?;
    check_data(&raw.data, data_exists).map_err(fail)?;
    let parameters = raw
        .parameters
        .iter()
        .map(|(name, spec)| parameter(name, spec, raw.perf_model))
        .collect::<Check<Vec<_>>>()
        .map_err(fail)?;
    if !parameters.iter().any(|p| matches!(p.mode, Mode::Free(_))) {
        return Err(ExperimentError::Invalid {
            file: file.to_string(),
            message: "no free parameter: nothing to calibrate".into(),
        });
    }
    let search = search(
        &raw.search,
        parameters
            .iter()
            .filter(|p| matches!(p.mode, Mode::Free(_)))
            .count(),
    )
    .map_err(fail)?;
    let assumptions = assumptions(&raw, catalog).map_err(fail)?;
    Ok(ValidExperiment {
        name: raw.name,
        description: raw.description,
        perf_model: raw.perf_model,
        data: raw.data,
        filter: filter(&raw.filter, catalog).map_err(fail)?,
        assumptions,
        parameters,
        loss: loss(&raw.loss).map_err(fail)?,
        search,
        hash,
    })
}

fn check_name(name: &str) -> Check<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(broken(
            "name",
            format!(
                "`{name}` must be non-empty letters, digits, `-`, `_` or `.` (it names the output directory)"
            ),
        ))
    }
}

fn check_data(data: &[String], exists: &dyn Fn(&str) -> bool) -> Check<()> {
    if data.is_empty() {
        return Err(broken("data", "no benchmark files listed"));
    }
    match data.iter().find(|f| !exists(f)) {
        Some(f) => Err(broken(
            "data",
            format!("file `{f}` not found (neither on disk nor embedded)"),
        )),
        None => Ok(()),
    }
}

fn closest_parameter(name: &str) -> String {
    names::closest_three(name, PARAMETERS.iter().map(|p| p.name))
}

fn parameter(
    name: &str,
    spec: &RawParameter,
    model: crate::perf::PerfModelKind,
) -> Check<Parameter> {
    let info = name
        .parse::<Param>()
        .map_err(|_| {
            broken(
                format!("parameters.{name}"),
                format!("unknown parameter; closest: {}", closest_parameter(name)),
            )
        })?
        .info();
    if !info.models.contains(&model) {
        return Err(broken(
            format!("parameters.{name}"),
            format!("not a parameter of the `{model}` model"),
        ));
    }
    if spec.per != Tie::Global && !info.groupable {
        return Err(broken(
            format!("parameters.{name}"),
            "cannot be tied per group (only prefill_efficiency and decode_efficiency can)",
        ));
    }
    let mode = match spec.mode.as_str() {
        "fixed" => Mode::Fixed(fixed_value(name, spec, info.kind)?),
        "free" => Mode::Free(free_spec(name, spec, info.kind)?),
        other => {
            return Err(broken(
                format!("parameters.{name}.mode"),
                format!("expected `free` or `fixed`, found `{other}`"),
            ));
        }
    };
    Ok(Parameter {
        name: info.param,
        tie: spec.per,
        mode,
    })
}

fn in_domain(kind: ParamKind, v: f64) -> bool {
    match kind {
        ParamKind::Fraction => v > 0.0 && v <= 1.0,
        ParamKind::Positive => v.is_finite() && v > 0.0,
    }
}

fn domain_text(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Fraction => "in (0, 1]",
        ParamKind::Positive => "positive",
    }
}

fn fixed_value(name: &str, spec: &RawParameter, kind: ParamKind) -> Check<f64> {
    let v = spec.value.ok_or_else(|| {
        broken(
            format!("parameters.{name}"),
            "a fixed parameter needs `value`",
        )
    })?;
    if !in_domain(kind, v) {
        return Err(broken(
            format!("parameters.{name}.value"),
            format!("{v} must be {}", domain_text(kind)),
        ));
    }
    Ok(v)
}

/// The prior of a free parameter: as given (a positive width, a centre inside the
/// bounds), else a weak one centred on `init`.
fn prior(name: &str, spec: &RawParameter, lo: f64, hi: f64, init: f64) -> Check<Prior> {
    Ok(match spec.prior {
        Some(p) if !(p.width > 0.0 && p.width.is_finite()) => {
            return Err(broken(
                format!("parameters.{name}.prior.width"),
                format!("{} must be positive", p.width),
            ));
        }
        Some(p) if !(lo < p.center && p.center < hi) => {
            return Err(broken(
                format!("parameters.{name}.prior.center"),
                format!("{} is outside the bounds ({lo}, {hi})", p.center),
            ));
        }
        Some(p) => Prior {
            center: p.center,
            width: p.width,
        },
        None => Prior {
            center: init,
            width: DEFAULT_PRIOR_WIDTH,
        },
    })
}

fn free_spec(name: &str, spec: &RawParameter, kind: ParamKind) -> Check<FreeSpec> {
    let [lo, hi] = spec.bounds.ok_or_else(|| {
        broken(
            format!("parameters.{name}"),
            "a free parameter needs `bounds = [lo, hi]`",
        )
    })?;
    if lo >= hi {
        return Err(broken(
            format!("parameters.{name}.bounds"),
            format!("lo ({lo}) must be below hi ({hi})"),
        ));
    }
    if !in_domain(kind, lo) || !in_domain(kind, hi) {
        return Err(broken(
            format!("parameters.{name}.bounds"),
            format!("both must be {}", domain_text(kind)),
        ));
    }
    let init = spec.init.ok_or_else(|| {
        broken(
            format!("parameters.{name}"),
            "a free parameter needs `init`",
        )
    })?;
    if !(lo < init && init < hi) {
        return Err(broken(
            format!("parameters.{name}.init"),
            format!("{init} is outside the bounds ({lo}, {hi})"),
        ));
    }
    let prior = prior(name, spec, lo, hi, init)?;
    if spec.value.is_some() {
        return Err(broken(
            format!("parameters.{name}"),
            "`value` is for fixed parameters; a free one has `init`",
        ));
    }
    Ok(FreeSpec {
        init,
        lo,
        hi,
        prior,
        kind,
    })
}

fn metric_names(names: &[String], field: &str) -> Check<Vec<Metric>> {
    names
        .iter()
        .map(|m| {
            m.parse::<Metric>()
                .map_err(|e| broken(field.to_string(), e.to_string()))
        })
        .collect()
}

fn filter(raw: &RawFilter, catalog: &Catalog) -> Check<Filter> {
    let gpus = raw
        .gpus
        .iter()
        .map(|g| {
            catalog
                .gpu(g)
                .map(|g| g.slug.clone())
                .map_err(|e| broken("filter.gpus", e.to_string()))
        })
        .collect::<Check<_>>()?;
    let models = raw
        .models
        .iter()
        .map(|m| {
            catalog
                .model(m)
                .map(|m| m.slug.clone())
                .map_err(|e| broken("filter.models", e.to_string()))
        })
        .collect::<Check<_>>()?;
    Ok(Filter {
        metrics: metric_names(&raw.metrics, "filter.metrics")?,
        gpus,
        models,
        sources: raw.sources.clone(),
    })
}

fn choices(raw: &RawChoice) -> Vec<&toml::Value> {
    match raw {
        RawChoice::One(v) => vec![v],
        RawChoice::Many(vs) => vs.iter().collect(),
    }
}

fn precision_choice(field: &str, v: &toml::Value) -> Check<PrecisionChoice> {
    match v.as_str() {
        Some("auto") => Ok(PrecisionChoice::Auto),
        Some(s) => s
            .parse::<Precision>()
            .map(PrecisionChoice::Fixed)
            .map_err(|e| broken(field.to_string(), e.to_string())),
        None => Err(broken(
            field.to_string(),
            format!("expected a precision name or \"auto\", found {v}"),
        )),
    }
}

fn tp_choice(field: &str, v: &toml::Value) -> Check<TpChoice> {
    match (v.as_str(), v.as_integer()) {
        (Some("auto"), _) => Ok(TpChoice::Auto),
        (_, Some(n)) if (1..=64).contains(&n) => Ok(TpChoice::Fixed(n as u32)),
        _ => Err(broken(
            field.to_string(),
            format!("expected a TP degree from 1 to 64 or \"auto\", found {v}"),
        )),
    }
}

fn assumptions(raw: &RawExperiment, catalog: &Catalog) -> Check<AssumptionSpace> {
    let mut space = AssumptionSpace::default();
    if raw.assumptions.concurrency_sweep.contains(&0) {
        return Err(broken(
            "assumptions.concurrency_sweep",
            "levels must be at least 1",
        ));
    }
    space.concurrency_sweep = raw.assumptions.concurrency_sweep.clone();
    for (key, choice) in &raw.assumptions.precision {
        let slug = if key == "default" {
            key.clone()
        } else {
            catalog
                .gpu(key)
                .map_err(|e| broken("assumptions.precision", e.to_string()))?
                .slug
                .clone()
        };
        let field = format!("assumptions.precision.{key}");
        let list = choices(choice)
            .into_iter()
            .map(|v| precision_choice(&field, v))
            .collect::<Check<Vec<_>>>()?;
        space.precision.insert(slug, dedup_nonempty(list, &field)?);
    }
    for (key, choice) in &raw.assumptions.tp {
        let slug = if key == "default" {
            key.clone()
        } else {
            catalog
                .model(key)
                .map_err(|e| broken("assumptions.tp", e.to_string()))?
                .slug
                .clone()
        };
        let field = format!("assumptions.tp.{key}");
        let list = choices(choice)
            .into_iter()
            .map(|v| tp_choice(&field, v))
            .collect::<Check<Vec<_>>>()?;
        space.tp.insert(slug, dedup_nonempty(list, &field)?);
    }
    let combinations = space
        .precision
        .values()
        .map(Vec::len)
        .product::<usize>()
        .saturating_mul(space.tp.values().map(Vec::len).product::<usize>());
    if combinations > MAX_HYPOTHESES {
        return Err(broken(
            "assumptions",
            format!("{combinations} hypothesis combinations, at most {MAX_HYPOTHESES}"),
        ));
    }
    Ok(space)
}

fn dedup_nonempty<T: PartialEq>(list: Vec<T>, field: &str) -> Check<Vec<T>> {
    if list.is_empty() {
        return Err(broken(field.to_string(), "an empty list of choices"));
    }
    let mut out: Vec<T> = Vec::with_capacity(list.len());
    for item in list {
        if out.contains(&item) {
            return Err(broken(field.to_string(), "a choice is listed twice"));
        }
        out.push(item);
    }
    Ok(out)
}
