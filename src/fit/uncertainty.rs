//! Parameter uncertainty at the optimum: the Jacobian of the weighted log residuals by
//! central differences in the unbounded coordinates, the Gauss-Newton covariance
//! `s²·(JᵀJ)⁻¹` with `s² = SSE/(m−n)` (Cholesky; the SVD pseudo-inverse when JᵀJ is
//! singular), back to natural units by the delta method, correlations, and flags for
//! parameters the data cannot identify (a near-zero singular direction) or that sit on a
//! bound. Only rows with a measured number and a feasible prediction inform it.
//!
//! ## References
//! - Bates & Watts, *Nonlinear Regression Analysis and Its Applications* (1988), §2.3
//!   (Gauss-Newton covariance); Golub & Van Loan, *Matrix Computations* (2013), §5.5
//!   (SVD pseudo-inverse and numerical rank).

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::objective::Objective;
use super::space::FreeParam;
use crate::interval::{ParameterUncertainty, Uncertain};

/// Central-difference step in the unbounded coordinates.
const STEP: f64 = 1e-4;
/// Singular values below this fraction of the largest count as zero.
const RANK_TOLERANCE: f64 = 1e-8;
/// A parameter whose share of a null direction exceeds this is not identified.
const NULL_SHARE: f64 = 0.3;

/// Why a fitted value should not be trusted. Serialised as its sentence, which is what
/// `fitted.json` and the reports show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Flag {
    /// Within 0.5 % of the span from a bound: the bound, not the data, set it.
    AtBound,
    /// On a flat direction of the loss: the data do not determine it.
    NotIdentified,
    /// No more informative rows than free parameters: no standard error at all.
    TooFewRows {
        /// Informative rows.
        rows: usize,
        /// Free parameters.
        parameters: usize,
    },
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::AtBound => f.write_str("at a bound"),
            Flag::NotIdentified => {
                f.write_str("not identified by the data (a flat direction of the loss)")
            }
            Flag::TooFewRows { rows, parameters } => write!(
                f,
                "{rows} informative rows for {parameters} parameters: no standard error"
            ),
        }
    }
}

impl From<Flag> for String {
    fn from(flag: Flag) -> String {
        flag.to_string()
    }
}

/// A sentence no [`Flag`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown parameter flag `{0}`")]
pub struct UnknownFlag(String);

impl TryFrom<String> for Flag {
    type Error = UnknownFlag;
    fn try_from(text: String) -> Result<Flag, UnknownFlag> {
        for flag in [Flag::AtBound, Flag::NotIdentified] {
            if text == flag.to_string() {
                return Ok(flag);
            }
        }
        let counts = text
            .strip_suffix(" parameters: no standard error")
            .and_then(|t| t.split_once(" informative rows for "))
            .and_then(|(rows, parameters)| Some((rows.parse().ok()?, parameters.parse().ok()?)));
        match counts {
            Some((rows, parameters)) => Ok(Flag::TooFewRows { rows, parameters }),
            None => Err(UnknownFlag(text)),
        }
    }
}

/// One free parameter's uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uncertainty {
    /// Standard error in natural units (`None` when it cannot be estimated).
    pub std_error: Option<f64>,
    /// 95 % interval in natural units (the u-interval mapped back: stays inside bounds).
    pub interval_95: Option<[f64; 2]>,
    /// Why the estimate should not be trusted, if it should not.
    pub flags: Vec<Flag>,
}

/// The uncertainty of every free parameter and their correlations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyReport {
    /// Per free parameter, in space order.
    pub parameters: Vec<Uncertainty>,
    /// Correlation matrix of the free parameters (empty when not estimable).
    pub correlation: Vec<Vec<f64>>,
    /// Residuals used (m).
    pub observations: usize,
    /// Numerical rank of the Jacobian: how many parameter directions the data determine.
    pub rank: usize,
}

/// Rows of the Jacobian built at a time: JᵀJ is summed block by block, so a million rows
/// never hold a million-by-n matrix (46 parameters: 368 MB); 65,536 rows of 46 columns
/// are 24 MB. Data of fewer rows are one block, the plain product.
const JACOBIAN_BLOCK_ROWS: usize = 1 << 16;

/// Weighted log ratios of the rows `keep` at `u` (`None` where the row is predicted
/// infeasible there: its penalty is a step, not a slope).
fn log_ratios(objective: &Objective<'_>, h: usize, u: &[f64], keep: &[u32]) -> Vec<Option<f64>> {
    let predictions = objective.predictions_of(h, u, keep);
    (keep.iter().zip(predictions))
        .map(|(&i, predicted)| weighted_log_ratio(objective, i as usize, predicted))
        .collect()
}

/// Row `i`'s weighted log ratio given its prediction.
fn weighted_log_ratio(objective: &Objective<'_>, i: usize, predicted: Option<f64>) -> Option<f64> {
    let measured = objective.rows()[i].value.value()?;
    Some((predicted? / measured).ln() * objective.weights()[i].sqrt())
}

/// Column `j` of the Jacobian over the rows `keep`: central differences, one-sided where
/// a step crosses the feasibility edge of a row, zero where both do.
fn column(
    objective: &Objective<'_>,
    h: usize,
    u: &[f64],
    j: usize,
    keep: &[u32],
    at: &[Option<f64>],
) -> DVector<f64> {
    let (mut up, mut down) = (u.to_vec(), u.to_vec());
    up[j] += STEP;
    down[j] -= STEP;
    let (up, down) = (
        log_ratios(objective, h, &up, keep),
        log_ratios(objective, h, &down, keep),
    );
    DVector::from_iterator(
        keep.len(),
        (0..keep.len()).map(|k| match (up[k], at[k], down[k]) {
            (Some(a), _, Some(b)) => (a - b) / (2.0 * STEP),
            (Some(a), Some(c), None) => (a - c) / STEP,
            (None, Some(c), Some(b)) => (c - b) / STEP,
            _ => 0.0,
        }),
    )
}

/// JᵀJ over the rows `keep` (their log ratios at `u` in `at`), the Jacobian built
/// `block_rows` rows at a time.
fn normal_matrix(
    objective: &Objective<'_>,
    (h, u): (usize, &[f64]),
    keep: &[u32],
    at: &[Option<f64>],
    block_rows: usize,
) -> DMatrix<f64> {
    let n = u.len();
    let mut jtj: Option<DMatrix<f64>> = None;
    for (rows, at) in keep.chunks(block_rows).zip(at.chunks(block_rows)) {
        let mut block = DMatrix::<f64>::zeros(rows.len(), n);
        for j in 0..n {
            block.set_column(j, &column(objective, h, u, j, rows, at));
        }
        let product = block.transpose() * &block;
        // The first block's product is taken as it is, so one block is exactly JᵀJ.
        jtj = Some(match jtj {
            None => product,
            Some(sum) => sum + product,
        });
    }
    jtj.unwrap_or_else(|| DMatrix::zeros(n, n))
}

/// Estimates the uncertainty of the optimum `u` under hypothesis `h`.
pub fn estimate(objective: &Objective<'_>, h: usize, u: &[f64]) -> UncertaintyReport {
    let n = u.len();
    let (keep, at) = {
        let predictions = objective.predictions(h, u);
        let keep: Vec<u32> = (0..predictions.len())
            .filter(|&i| {
                objective.rows()[i].value.value().is_some()
                    && predictions[i].is_some()
                    && objective.weights()[i] > 0.0
            })
            .map(|i| i as u32)
            .collect();
        let at: Vec<Option<f64>> = (keep.iter())
            .map(|&i| weighted_log_ratio(objective, i as usize, predictions[i as usize]))
            .collect();
        (keep, at)
    };
    let m = keep.len();
    let r0 = DVector::from_iterator(m, at.iter().map(|r| r.unwrap_or(0.0)));
    let jtj = normal_matrix(objective, (h, u), &keep, &at, JACOBIAN_BLOCK_ROWS);
    let bound_flags: Vec<Vec<Flag>> = objective
        .space
        .free
        .iter()
        .zip(u)
        .map(|(f, &x)| {
            if f.at_bound(x) {
                vec![Flag::AtBound]
            } else {
                Vec::new()
            }
        })
        .collect();
    if m <= n {
        return too_few_rows(bound_flags, m, numerical_rank(&jtj));
    }
    let s2 = r0.norm_squared() / (m - n) as f64;
    let (inverse, not_identified) = invert(&jtj);
    let covariance = inverse * s2;
    let parameters = (0..n)
        .map(|i| {
            let mut flags = bound_flags[i].clone();
            if not_identified[i] {
                flags.push(Flag::NotIdentified);
            }
            let variance = Some(covariance[(i, i)])
                .filter(|v| v.is_finite() && *v > 0.0 && !not_identified[i]);
            natural_uncertainty(&objective.space.free[i], u[i], variance, flags)
        })
        .collect();
    UncertaintyReport {
        parameters,
        correlation: correlation(&covariance),
        observations: m,
        rank: numerical_rank(&jtj),
    }
}

/// No more informative rows (`m`) than parameters: every estimate flagged, none with a
/// standard error.
fn too_few_rows(bound_flags: Vec<Vec<Flag>>, m: usize, rank: usize) -> UncertaintyReport {
    let n = bound_flags.len();
    let parameters = bound_flags
        .into_iter()
        .map(|mut flags| {
            flags.push(Flag::TooFewRows {
                rows: m,
                parameters: n,
            });
            Uncertainty {
                std_error: None,
                interval_95: None,
                flags,
            }
        })
        .collect();
    UncertaintyReport {
        parameters,
        correlation: Vec::new(),
        observations: m,
        rank,
    }
}

/// A free parameter's uncertainty in natural units from its variance in the unbounded
/// coordinate at `u` (`None`: not estimable): the delta method for the standard error,
/// the u-interval mapped back for the 95 % interval.
fn natural_uncertainty(
    f: &FreeParam,
    u: f64,
    variance: Option<f64>,
    flags: Vec<Flag>,
) -> Uncertainty {
    let Some(variance) = variance else {
        return Uncertainty {
            std_error: None,
            interval_95: None,
            flags,
        };
    };
    let se_u = variance.sqrt();
    Uncertainty {
        std_error: Some(f.derivative(u).abs() * se_u),
        interval_95: Some([f.natural(u - 1.96 * se_u), f.natural(u + 1.96 * se_u)]),
        flags,
    }
}

/// Correlations from a covariance (NaN where a variance is zero or undefined).
fn correlation(covariance: &DMatrix<f64>) -> Vec<Vec<f64>> {
    let n = covariance.nrows();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let denom = (covariance[(i, i)] * covariance[(j, j)]).sqrt();
                    if denom > 0.0 && denom.is_finite() {
                        covariance[(i, j)] / denom
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect()
}

/// Singular values of JᵀJ above the rank tolerance.
fn numerical_rank(jtj: &DMatrix<f64>) -> usize {
    if jtj.nrows() == 0 {
        return 0;
    }
    let singular = jtj.clone().singular_values();
    let largest = singular.max();
    singular
        .iter()
        .filter(|s| **s > RANK_TOLERANCE * largest)
        .count()
}

/// (JᵀJ)⁻¹ by Cholesky, or the SVD pseudo-inverse when singular, with whether each
/// parameter takes part in a null direction.
fn invert(jtj: &DMatrix<f64>) -> (DMatrix<f64>, Vec<bool>) {
    let n = jtj.nrows();
    let svd = jtj.clone().svd(true, true);
    let largest = svd.singular_values.max();
    let mut not_identified = vec![false; n];
    if let Some(v_t) = &svd.v_t {
        for (k, sigma) in svd.singular_values.iter().enumerate() {
            if *sigma <= RANK_TOLERANCE * largest {
                for (i, flagged) in not_identified.iter_mut().enumerate() {
                    *flagged |= v_t[(k, i)].abs() > NULL_SHARE;
                }
            }
        }
    }
    if let Some(cholesky) = jtj.clone().cholesky()
        && !not_identified.contains(&true)
    {
        return (cholesky.inverse(), not_identified);
    }
    let pseudo = svd
        .pseudo_inverse(RANK_TOLERANCE * largest)
        .unwrap_or_else(|_| DMatrix::from_element(n, n, f64::NAN));
    (pseudo, not_identified)
}
/// The free parameters of `estimates` as prediction intervals propagate them, with their
/// `correlation` (indexed as `estimates`; `None` where a parameter is undetermined).
pub fn parameter_uncertainty(
    estimates: &[super::Estimate],
    correlation: &[Vec<Option<f64>>],
) -> ParameterUncertainty {
    let free: Vec<usize> = (0..estimates.len())
        .filter(|&i| estimates[i].free)
        .collect();
    let parameters: Vec<Uncertain> = free
        .iter()
        .map(|&i| Uncertain {
            param: estimates[i].name,
            group: estimates[i].group.clone(),
            value: estimates[i].value,
            interval_95: estimates[i].interval_95,
        })
        .collect();
    let correlation: Vec<Vec<Option<f64>>> = free
        .iter()
        .map(|&i| {
            free.iter()
                .map(|&j| {
                    correlation
                        .get(i)
                        .and_then(|row| row.get(j))
                        .copied()
                        .flatten()
                })
                .collect()
        })
        .collect();
    ParameterUncertainty::new(&parameters, &correlation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::embedded_rows;
    use crate::catalog::Catalog;

    #[test]
    fn the_normal_matrix_summed_by_blocks_is_the_one_of_all_rows() {
        let catalog = Catalog::embedded().unwrap();
        let e = crate::experiment::shipped("serving-per-gpu", &catalog)
            .unwrap()
            .unwrap();
        let rows = embedded_rows(&e.data, &catalog).unwrap();
        let objective = crate::fit::prepare(&e, &rows, &catalog).unwrap();
        let u = objective.space.initial();
        let keep: Vec<u32> = (0..rows.len() as u32).collect();
        let predictions = objective.predictions_of(0, &u, &keep);
        let at: Vec<Option<f64>> = (keep.iter().zip(predictions))
            .map(|(&i, p)| weighted_log_ratio(&objective, i as usize, p))
            .collect();
        let whole = normal_matrix(&objective, (0, &u), &keep, &at, keep.len());
        let blocks = normal_matrix(&objective, (0, &u), &keep, &at, 7);
        let scale = whole.norm();
        assert!(scale > 0.0);
        assert!((whole - blocks).norm() <= 1e-12 * scale);
    }
}
