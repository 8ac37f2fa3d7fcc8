//! The parameter part of a prediction interval: how far the fitted parameters' own
//! uncertainty moves one prediction, by the delta method. Each free parameter a
//! prediction reads has a spread on the log scale (from its fitted 95 % interval, which the
//! fit maps back through its bounds transform); parameters that reach the model through
//! the same placed value (a GPU's prefill efficiency and its engine's and precision's
//! prefill factors all scale the placed prefill efficiency) share one *channel*, whose
//! effect on every figure is measured with one re-prediction a channel-sized step away.
//! The figure's log variance is `gᵀ Σ g` over the parameters read, Σ from the fitted
//! correlation. A parameter the data do not determine (no standard error: a flat
//! direction of the loss) gets the spread of the same parameter over the groups the data
//! do determine — a GPU the fit could not place is as uncertain as GPUs differ — and no
//! correlation: what the data do not determine widens the interval instead of vanishing.
//! Values a calibration derives rather than fits (an architecture's mean) have no
//! parameter part: the discrepancy table's level holds their error. It knows parameters
//! and models, not fits or files; `fitted` builds it from `fitted.json`.
//!
//! ## References
//! - The delta method, Var g(θ̂) ≈ ∇gᵀ Σ ∇g: Casella & Berger, *Statistical Inference*,
//!   2nd ed. (2002), §5.5.4; for nonlinear least squares with the Gauss–Newton covariance:
//!   Seber & Wild, *Nonlinear Regression* (1989), §5.1.
//! - Secant (finite-difference) derivatives with a step of one standard error, so the
//!   slope spans the range the parameter actually varies over: Bates & Watts, *Nonlinear
//!   Regression Analysis and Its Applications* (1988), §2.3.

use crate::perf::params::ServingParams;
use crate::perf::physics::{Deployed, PlacedParams, placement};
use crate::perf::reference::ReferenceParams;
use crate::perf::registry::{PARAMETERS, Param, ParamKind, ParamSet, Tie};
use crate::perf::{PerfModelKind, Prediction};
use crate::scenario::{Metric, Scenario};

/// 97.5 % point of the standard normal: a 95 % interval is ±1.96 standard deviations.
const Z_95: f64 = 1.959_963_984_540_054;

/// The log-scale spread of a parameter with no standard error and no determined sibling.
const UNDETERMINED_LOG_SD: f64 = std::f64::consts::LN_2;

/// The parameters whose values reach an instance through [`PlacedParams`], each a channel:
/// a per-engine (or per-GPU) copy is read where the placement has one, so each must be
/// looked up at its placement, never as the global value.
const PLACED: [Param; 6] = [
    Param::PrefillEfficiency,
    Param::DecodeEfficiency,
    Param::StepOverhead,
    Param::AllreduceLatency,
    Param::MaxRunningBatch,
    Param::SequenceOverhead,
];

/// One fitted parameter as the delta method sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertain {
    /// The parameter.
    pub param: Param,
    /// Its group (empty when global).
    pub group: String,
    /// Its fitted value.
    pub value: f64,
    /// Its 95 % interval, `None` when the data do not determine it.
    pub interval_95: Option<[f64; 2]>,
}

/// The fitted parameters' spreads and correlations, ready to propagate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParameterUncertainty {
    /// (parameter, group, log spread, determined by the data).
    entries: Vec<(Param, String, f64, bool)>,
    /// The entries of each parameter, indexed by `Param as usize`.
    by_param: Vec<Vec<usize>>,
    /// Covariance of the entries' log values (correlation × both spreads; 0 where the
    /// correlation is unknown), row-major.
    covariance: Vec<f64>,
}

/// Each metric's log standard deviation from the parameters (0 where none).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    figures: [f64; Metric::ALL.len()],
    /// Whether the prediction reads a parameter the data do not determine.
    pub undetermined: bool,
}

impl Spread {
    /// The log standard deviation of `metric`.
    pub fn of(&self, metric: Metric) -> f64 {
        Metric::ALL
            .iter()
            .position(|&m| m == metric)
            .map_or(0.0, |i| self.figures[i])
    }

    /// The largest log standard deviation over the figures.
    pub fn largest(&self) -> f64 {
        self.figures.iter().copied().fold(0.0, f64::max)
    }
}

/// The log spread of each parameter: half its 95 % interval in log units over 1.96, or for
/// one without an interval, the spread of its determined siblings' log values.
fn log_spreads(parameters: &[Uncertain]) -> Vec<f64> {
    let determined = |p: &Uncertain| {
        p.interval_95
            .filter(|[lo, hi]| *lo > 0.0 && hi >= lo && hi.is_finite())
            .map(|[lo, hi]| (hi.ln() - lo.ln()) / (2.0 * Z_95))
    };
    parameters
        .iter()
        .map(|p| {
            determined(p).unwrap_or_else(|| {
                let logs: Vec<f64> = parameters
                    .iter()
                    .filter(|s| s.param == p.param && s.value > 0.0 && determined(s).is_some())
                    .map(|s| s.value.ln())
                    .collect();
                sample_sd(&logs).unwrap_or(UNDETERMINED_LOG_SD)
            })
        })
        .collect()
}

/// The sample standard deviation of at least two values.
fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    Some((ss / (n - 1.0)).sqrt())
}

impl ParameterUncertainty {
    /// The uncertainty of `parameters` (the free ones of a calibration) with their
    /// `correlation` (`None` where a parameter is not determined; its rows and columns
    /// are then taken as uncorrelated).
    pub fn new(parameters: &[Uncertain], correlation: &[Vec<Option<f64>>]) -> Self {
        let spreads = log_spreads(parameters);
        let n = parameters.len();
        let mut matrix = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let known = correlation
                    .get(i)
                    .and_then(|row| row.get(j))
                    .copied()
                    .flatten();
                let both_determined =
                    parameters[i].interval_95.is_some() && parameters[j].interval_95.is_some();
                let r = match known {
                    _ if i == j => 1.0,
                    Some(r) if both_determined && r.is_finite() => r.clamp(-1.0, 1.0),
                    _ => 0.0,
                };
                matrix[i * n + j] = r * spreads[i] * spreads[j];
            }
        }
        let mut by_param = vec![Vec::new(); PARAMETERS.len()];
        for (i, p) in parameters.iter().enumerate() {
            by_param[p.param as usize].push(i);
        }
        ParameterUncertainty {
            entries: parameters
                .iter()
                .zip(spreads.iter().copied())
                .map(|(p, s)| (p.param, p.group.clone(), s, p.interval_95.is_some()))
                .collect(),
            by_param,
            covariance: matrix,
        }
    }

    /// The entry of `param` whose group `is_group` accepts, if the calibration fitted it.
    fn entry(&self, param: Param, is_group: impl Fn(&str) -> bool) -> Option<usize> {
        let of_param = self.by_param.get(param as usize)?;
        of_param
            .iter()
            .copied()
            .find(|&e| is_group(&self.entries[e].1))
    }
}

/// Which placed value (index into [`PLACED`]) a grouped parameter scales.
fn placed_channel(param: Param) -> Option<usize> {
    match param {
        Param::PrefillEfficiency | Param::EnginePrefillFactor | Param::PrecisionPrefillFactor => {
            Some(0)
        }
        Param::DecodeEfficiency | Param::EngineDecodeFactor | Param::PrecisionDecodeFactor => {
            Some(1)
        }
        other => PLACED.iter().position(|&p| p == other),
    }
}

/// Most parameters one channel carries: a GPU's efficiency with its engine's and its
/// precision's factors.
const MOST_PER_CHANNEL: usize = 3;

/// A way one or more parameters reach the model, and the entries that take it (held
/// inline: this is built for every prediction).
#[derive(Debug)]
struct Channel {
    /// A placed value (index into [`PLACED`]) or a global parameter.
    via: Result<usize, Param>,
    slots: [usize; MOST_PER_CHANNEL],
    count: usize,
}

impl Channel {
    fn entries(&self) -> &[usize] {
        &self.slots[..self.count]
    }
}

/// `placed` with channel `index` scaled by `factor`.
fn scaled(mut placed: PlacedParams, index: usize, factor: f64) -> PlacedParams {
    let field = match index {
        0 => &mut placed.prefill_efficiency,
        1 => &mut placed.decode_efficiency,
        2 => &mut placed.step_overhead_s,
        3 => &mut placed.allreduce_latency_s,
        4 => &mut placed.max_running_batch,
        _ => &mut placed.sequence_overhead_s,
    };
    *field *= factor;
    placed
}

impl ParameterUncertainty {
    /// The channels through which `s` reads the fitted parameters under `serving`: each
    /// grouped parameter at the group that supplies its value (the most specific override,
    /// else the global value), each global one the model uses.
    fn channels(
        &self,
        kind: PerfModelKind,
        serving: &ServingParams,
        s: &Scenario<'_>,
    ) -> Vec<Channel> {
        let at = placement(s);
        let overrides = serving.overrides_of(&at);
        // The group each override level is keyed by (level 0, GPU × precision, is matched
        // without building its key: this runs for every prediction).
        let names = [
            "",
            at.gpu,
            at.architecture,
            at.model,
            at.engine.map_or("", |e| e.as_str()),
            at.precision.as_str(),
        ];
        let gpu_precision = |g: &str| {
            let rest = g.strip_prefix(at.gpu).and_then(|r| r.strip_prefix(':'));
            rest == Some(at.precision.as_str())
        };
        let mut channels: Vec<Channel> = Vec::with_capacity(PARAMETERS.len());
        for info in PARAMETERS.iter().filter(|i| i.models.contains(&kind)) {
            let param = info.param;
            let (via, level) = match placed_channel(param) {
                Some(index) => {
                    let level = overrides
                        .iter()
                        .position(|o| o.and_then(|o| param.grouped(o).flatten()).is_some());
                    (Ok(index), level)
                }
                None => (Err(param), None),
            };
            let found = match level {
                Some(0) => self.entry(param, gpu_precision),
                Some(l) => self.entry(param, |g| g == names[l]),
                None => self.entry(param, str::is_empty),
            };
            let Some(entry) = found else {
                continue;
            };
            match channels.iter_mut().find(|c| c.via == via) {
                Some(channel) if channel.count < MOST_PER_CHANNEL => {
                    channel.slots[channel.count] = entry;
                    channel.count += 1;
                }
                // No channel carries more: `placed_channel` maps at most three parameters
                // to one.
                Some(_) => {}
                None => channels.push(Channel {
                    via,
                    slots: [entry; MOST_PER_CHANNEL],
                    count: 1,
                }),
            }
        }
        channels
    }

    /// Each figure's log standard deviation from the parameters for scenario `s` under
    /// `set` with model `kind`; zero for every figure when `s` is infeasible.
    pub fn spread(&self, kind: PerfModelKind, set: &ParamSet, s: &Scenario<'_>) -> Spread {
        // Not through `with_params`: a model of its own would copy every override. The
        // deployment and placement resolved for the baseline serve the re-predictions.
        let Ok(deployed) = Deployed::new(s) else {
            return Spread::default();
        };
        let placed = PlacedParams::of(&set.serving, &placement(s));
        match kind.predict_deployed_with(set, s, &deployed, &placed) {
            Ok(baseline) => self.spread_resolved(kind, set, s, (&deployed, placed), &baseline),
            Err(_) => Spread::default(),
        }
    }

    /// As [`ParameterUncertainty::spread`], for a caller that already has the scenario's
    /// prediction `baseline` under `set`.
    pub fn spread_around(
        &self,
        kind: PerfModelKind,
        set: &ParamSet,
        s: &Scenario<'_>,
        baseline: &Prediction,
    ) -> Spread {
        let Ok(deployed) = Deployed::new(s) else {
            return Spread::default();
        };
        let placed = PlacedParams::of(&set.serving, &placement(s));
        self.spread_resolved(kind, set, s, (&deployed, placed), baseline)
    }

    /// As [`ParameterUncertainty::spread_around`], with the scenario's deployment
    /// resolved and its placement's parameters looked up.
    fn spread_resolved(
        &self,
        kind: PerfModelKind,
        set: &ParamSet,
        s: &Scenario<'_>,
        (deployed, placed): (&Deployed, PlacedParams),
        baseline: &Prediction,
    ) -> Spread {
        // The reference calculator's TFLOPS table is copied only for the model that reads it.
        let reference = match kind {
            PerfModelKind::Reference => set.reference.clone(),
            _ => ReferenceParams {
                efficiency: set.reference.efficiency,
                tflops: Default::default(),
            },
        };
        let mut bare = ParamSet {
            serving: set.serving.scalars(),
            reference,
        };
        let channels = self.channels(kind, &set.serving, s);
        let mut predict_at = |channel: &Channel, step: f64| -> Option<Prediction> {
            match channel.via {
                Ok(index) => {
                    let moved = scaled(placed, index, step.exp());
                    kind.predict_deployed_with(&bare, s, deployed, &moved).ok()
                }
                Err(param) => {
                    // Moved in place and put back: a copy per channel would cost more
                    // than the prediction.
                    let value = bare.get(param, Tie::Global, "");
                    // A global value is always settable; nothing to report.
                    let _ = bare.set(param, Tie::Global, "", value * step.exp());
                    let p = kind.predict_deployed_with(&bare, s, deployed, &placed).ok();
                    let _ = bare.set(param, Tie::Global, "", value);
                    p
                }
            }
        };
        let slopes: Vec<[f64; Metric::ALL.len()]> = channels
            .iter()
            .map(|c| self.slopes(c, baseline, |step| predict_at(c, step)))
            .collect();
        self.combine(&channels, &slopes)
    }

    /// d ln(figure) / d ln(value) along `channel`, by a secant one channel spread long:
    /// downwards for fractions (which sit near their cap of 1), upwards otherwise, and the
    /// other way when that step makes the scenario infeasible.
    fn slopes(
        &self,
        channel: &Channel,
        baseline: &Prediction,
        mut predict: impl FnMut(f64) -> Option<Prediction>,
    ) -> [f64; Metric::ALL.len()] {
        let spread: f64 = channel
            .entries()
            .iter()
            .map(|&e| self.entries[e].2.powi(2))
            .sum::<f64>()
            .sqrt()
            .clamp(1e-3, 1.0);
        let downwards = match channel.via {
            Ok(index) => index < 2,
            Err(param) => param.info().kind == ParamKind::Fraction,
        };
        let first = if downwards { -spread } else { spread };
        let mut slopes = [0.0; Metric::ALL.len()];
        let Some((step, moved)) = [first, -first]
            .into_iter()
            .find_map(|step| predict(step).map(|p| (step, p)))
        else {
            return slopes;
        };
        for (slope, &metric) in slopes.iter_mut().zip(&Metric::ALL) {
            if let (Some(a), Some(b)) = (baseline.metric(metric), moved.metric(metric))
                && a > 0.0
                && b > 0.0
            {
                let log_ratio = (b / a).ln();
                if log_ratio.is_finite() {
                    *slope = log_ratio / step;
                }
            }
        }
        slopes
    }

    /// `gᵀ Σ g` per figure over the channels' entries, as a standard deviation. Entries of
    /// one channel share its slope, so Σ is first summed into a channel × channel block;
    /// the block is symmetric, so each pair of channels is visited once, and a pair the
    /// fit found uncorrelated adds nothing.
    fn combine(&self, channels: &[Channel], slopes: &[[f64; Metric::ALL.len()]]) -> Spread {
        let n = self.entries.len();
        let covariance = |a: &Channel, b: &Channel| -> f64 {
            let mut sum = 0.0;
            for &i in a.entries() {
                let row = &self.covariance[i * n..(i + 1) * n];
                for &j in b.entries() {
                    sum += row[j];
                }
            }
            sum
        };
        let mut variance = [0.0; Metric::ALL.len()];
        for (a, (channel_a, slope_a)) in channels.iter().zip(slopes).enumerate() {
            for (b, (channel_b, slope_b)) in channels.iter().zip(slopes).enumerate().skip(a) {
                let w = covariance(channel_a, channel_b);
                if w.abs() < f64::MIN_POSITIVE {
                    continue;
                }
                let w = if a == b { w } else { 2.0 * w };
                for m in 0..Metric::ALL.len() {
                    variance[m] += w * slope_a[m] * slope_b[m];
                }
            }
        }
        let figures = variance.map(|v| v.max(0.0).sqrt());
        let undetermined = channels
            .iter()
            .flat_map(Channel::entries)
            .any(|&e| !self.entries[e].3);
        Spread {
            figures,
            undetermined,
        }
    }
}

#[cfg(test)]
#[path = "parameter_tests.rs"]
mod tests;
