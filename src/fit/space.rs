//! The parameter space the optimiser searches: every free parameter (one copy per group
//! when tied) mapped to an unbounded coordinate u by a bounds transform, the fixed values
//! applied once, and the Gaussian priors in u. Nelder-Mead and the grid work in u; the
//! performance model sees natural units.
//!
//! ## References
//! - Bounds by reparameterisation (logistic): Nocedal & Wright, *Numerical Optimization*
//!   (2006), §17.1; the delta method for the back-transform: Casella & Berger (2002), §5.5.4.

use crate::experiment::{FreeSpec, Mode, Prior, ValidExperiment};
use crate::perf::registry::{NotGroupable, Param, ParamKind, ParamSet, Tie};

/// σ(u) = 1/(1+e^−u).
pub fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// ln(p/(1−p)), for p strictly inside (0, 1).
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// One free coordinate.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeParam {
    /// The parameter.
    pub name: Param,
    /// How it is tied.
    pub tie: Tie,
    /// The group this copy belongs to (empty for global).
    pub group: String,
    /// Bounds, init, prior, kind.
    pub spec: FreeSpec,
}

impl FreeParam {
    /// The fraction of the bounds' span (linear or logarithmic) that `value` sits at.
    fn fraction_of(&self, value: f64) -> f64 {
        let s = &self.spec;
        match s.kind {
            ParamKind::Fraction => (value - s.lo) / (s.hi - s.lo),
            ParamKind::Positive => (value.ln() - s.lo.ln()) / (s.hi.ln() - s.lo.ln()),
        }
    }

    /// Natural value at coordinate `u`.
    pub fn natural(&self, u: f64) -> f64 {
        let s = &self.spec;
        let p = sigmoid(u);
        match s.kind {
            ParamKind::Fraction => s.lo + (s.hi - s.lo) * p,
            ParamKind::Positive => (s.lo.ln() + (s.hi.ln() - s.lo.ln()) * p).exp(),
        }
    }

    /// dθ/du at `u` (for the delta method).
    pub fn derivative(&self, u: f64) -> f64 {
        let s = &self.spec;
        let p = sigmoid(u);
        match s.kind {
            ParamKind::Fraction => (s.hi - s.lo) * p * (1.0 - p),
            ParamKind::Positive => self.natural(u) * (s.hi.ln() - s.lo.ln()) * p * (1.0 - p),
        }
    }

    /// Coordinate of a natural value strictly inside the bounds.
    pub fn coordinate(&self, value: f64) -> f64 {
        logit(self.fraction_of(value).clamp(1e-9, 1.0 - 1e-9))
    }

    /// Coordinate of the point a unit-cube sample `p` in (0, 1) names.
    pub fn coordinate_of_sample(&self, p: f64) -> f64 {
        logit(p.clamp(1e-6, 1.0 - 1e-6))
    }

    /// Whether `u` sits within 0.5 % of the span from a bound.
    pub fn at_bound(&self, u: f64) -> bool {
        let p = sigmoid(u);
        !(0.005..=0.995).contains(&p)
    }

    fn prior(&self) -> (f64, f64) {
        let Prior { center, width } = self.spec.prior;
        (self.coordinate(center), width)
    }
}

/// A calibration a space starts from (a fine-tune): its values are both where every
/// free copy starts and the centre of its prior, and every parameter not freed keeps the
/// calibration's value.
pub struct Start<'a> {
    /// The calibration's parameters.
    pub base: &'a ParamSet,
    /// The value a placement (parameter, tie, group) has under the calibration, as a
    /// prediction would use it (a GPU's own value, else its architecture's, else global).
    pub centre: &'a (dyn Fn(Param, Tie, &str) -> f64 + Sync),
}

/// The search space of one experiment on one data set.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpace {
    /// Fixed values applied; free ones at their initial values.
    pub base: ParamSet,
    /// Free coordinates, in experiment order, groups sorted.
    pub free: Vec<FreeParam>,
    /// For each free coordinate, the coordinate its prior is centred on instead of the
    /// fixed centre: an engine's copy shrinks towards the free global value (hierarchical
    /// shrinkage), so an engine with few rows borrows from all of them.
    parent: Vec<Option<usize>>,
}

impl ParamSpace {
    /// Builds the space: fixed parameters set on the defaults; each free parameter once,
    /// or once per group in `groups(tie)` when tied.
    pub fn new(
        experiment: &ValidExperiment,
        groups: &dyn Fn(Tie) -> Vec<String>,
    ) -> Result<ParamSpace, NotGroupable> {
        Self::build(experiment, groups, None)
    }

    /// The space of a fine-tune: `start`'s calibration with the experiment's free
    /// parameters freed for the groups in the data only, each starting at and drawn
    /// towards the calibration's value. Tied parameters get no free global copy (that
    /// would move every GPU's or engine's answer on a few rows of one).
    pub fn around(
        experiment: &ValidExperiment,
        groups: &dyn Fn(Tie) -> Vec<String>,
        start: &Start<'_>,
    ) -> Result<ParamSpace, NotGroupable> {
        Self::build(experiment, groups, Some(start))
    }

    fn build(
        experiment: &ValidExperiment,
        groups: &dyn Fn(Tie) -> Vec<String>,
        start: Option<&Start<'_>>,
    ) -> Result<ParamSpace, NotGroupable> {
        let mut base = start.map_or_else(ParamSet::default, |s| s.base.clone());
        if start.is_none() {
            base.serving.concurrency_sweep = experiment.assumptions.concurrency_sweep.clone();
        }
        let mut free = Vec::new();
        for p in &experiment.parameters {
            match p.mode {
                Mode::Fixed(value) => base.set(p.name, Tie::Global, "", value)?,
                Mode::Free(spec) => {
                    // A group absent from the data (a GPU held out by cross-validation)
                    // falls back to the global value: the prior's centre.
                    if start.is_none() && p.tie != Tie::Global && p.tie != Tie::Engine {
                        base.set(p.name, Tie::Global, "", spec.prior.center)?;
                    }
                    let mut copies = if p.tie == Tie::Global {
                        vec![String::new()]
                    } else {
                        groups(p.tie)
                    };
                    if start.is_some() && p.tie != Tie::Global {
                        copies.retain(|g| !g.is_empty());
                    }
                    // A factor relative to a reference (TensorRT-LLM, 16-bit weights) is 1
                    // for it by definition: freeing that copy too would trade it against
                    // every GPU's efficiency.
                    let reference = p.name.reference_groups();
                    copies.retain(|g| !reference.contains(&g.as_str()));
                    for group in copies {
                        let spec = match start {
                            Some(s) => spec.centred_on((s.centre)(p.name, p.tie, &group)),
                            None => spec,
                        };
                        base.set(p.name, p.tie, &group, spec.init)?;
                        free.push(FreeParam {
                            name: p.name,
                            tie: p.tie,
                            group,
                            spec,
                        });
                    }
                }
            }
        }
        let parent = free
            .iter()
            .map(|f| {
                (f.tie == Tie::Engine && !f.group.is_empty())
                    .then(|| {
                        free.iter()
                            .position(|g| g.name == f.name && g.group.is_empty())
                    })
                    .flatten()
            })
            .collect();
        Ok(ParamSpace { base, free, parent })
    }

    /// Number of free coordinates.
    pub fn dim(&self) -> usize {
        self.free.len()
    }

    /// The coordinates of the initial values.
    pub fn initial(&self) -> Vec<f64> {
        self.free
            .iter()
            .map(|f| f.coordinate(f.spec.init))
            .collect()
    }

    /// The parameter set at coordinates `u`.
    pub fn params_at(&self, u: &[f64]) -> ParamSet {
        let mut set = self.base.clone();
        for (f, &x) in self.free.iter().zip(u) {
            // Registered names and supported ties were checked when the space was built.
            let _ = set.set(f.name, f.tie, &f.group, f.natural(x));
        }
        set
    }

    /// ½·Σ((u − u₀)/w)²: the priors' contribution to the loss, u₀ being the parent's
    /// coordinate for an engine's copy with a free global value.
    pub fn prior_penalty(&self, u: &[f64]) -> f64 {
        self.prior_residuals(u).map(|z| 0.5 * z * z).sum()
    }

    /// Each free parameter's `(u − u₀)/w`: the priors as residuals of a sum of squares
    /// (zero for a parameter without a prior, whose width is infinite).
    pub fn prior_residuals<'a>(&'a self, u: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
        self.free
            .iter()
            .zip(u)
            .zip(&self.parent)
            .map(|((f, &x), parent)| {
                let (center, width) = f.prior();
                let center = parent.map_or(center, |i| u[i]);
                (x - center) / width
            })
    }
}

/// A parameter's display label: `name`, or `name[group]` for one group's copy.
pub fn label(param: Param, group: &str) -> String {
    if group.is_empty() {
        param.to_string()
    } else {
        format!("{param}[{group}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(kind: ParamKind, lo: f64, hi: f64) -> FreeParam {
        let spec = FreeSpec {
            init: (lo + hi) / 2.0,
            lo,
            hi,
            prior: Prior {
                center: (lo + hi) / 2.0,
                width: 1.0,
            },
            kind,
        };
        FreeParam {
            name: Param::PrefillEfficiency,
            tie: Tie::Global,
            group: String::new(),
            spec,
        }
    }

    #[test]
    fn transforms_round_trip_and_stay_inside_bounds() {
        for p in [
            param(ParamKind::Fraction, 0.1, 0.9),
            param(ParamKind::Positive, 1e-4, 0.5),
        ] {
            for value in [p.spec.lo * 1.01, p.spec.init, p.spec.hi * 0.99] {
                let back = p.natural(p.coordinate(value));
                assert!((back - value).abs() < 1e-9 * value, "{value} -> {back}");
            }
            for u in [-50.0, -3.0, 0.0, 3.0, 50.0] {
                let v = p.natural(u);
                assert!(v >= p.spec.lo && v <= p.spec.hi, "{u} -> {v}");
            }
        }
    }

    #[test]
    fn derivative_matches_finite_differences() {
        for p in [
            param(ParamKind::Fraction, 0.1, 0.9),
            param(ParamKind::Positive, 1e-4, 0.5),
        ] {
            for u in [-2.0, 0.0, 1.5] {
                let h = 1e-6;
                let numeric = (p.natural(u + h) - p.natural(u - h)) / (2.0 * h);
                assert!((numeric - p.derivative(u)).abs() < 1e-6 * numeric.abs().max(1e-12));
            }
        }
    }

    #[test]
    fn positive_parameters_sample_logarithmically() {
        let p = param(ParamKind::Positive, 1e-4, 1.0);
        // The middle of the unit interval is the geometric middle of the bounds.
        assert!((p.natural(p.coordinate_of_sample(0.5)) - 1e-2).abs() < 1e-9);
    }

    #[test]
    fn bounds_are_detected() {
        let p = param(ParamKind::Fraction, 0.1, 0.9);
        assert!(p.at_bound(10.0) && p.at_bound(-10.0) && !p.at_bound(0.0));
    }
}
