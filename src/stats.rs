//! Small, allocation-light summary statistics used by reports and fit summaries: medians,
//! percentiles and the error measures a capacity planner reads (APE, |log ratio|).

/// The `q`-quantile (0..=1) of `values` by linear interpolation between order statistics;
/// `None` for an empty slice. NaNs are ignored.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    quantile_of_sorted(&sorted, q)
}

/// The `q`-quantile (0..=1) of `sorted` (ascending, no NaN) by linear interpolation between
/// order statistics; `None` for an empty slice. For many quantiles of one sample, sort once
/// and call this.
pub fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let weight = position - below as f64;
    Some(sorted[below] * (1.0 - weight) + sorted[above] * weight)
}

/// The median of `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// Absolute percentage error of a prediction, in percent.
pub fn ape(predicted: f64, measured: f64) -> f64 {
    100.0 * (predicted - measured).abs() / measured.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert!((median(&[3.0, 1.0, 2.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]).unwrap() - 2.5).abs() < 1e-12);
        assert!(median(&[]).is_none());
    }

    #[test]
    fn quantile_interpolates() {
        let v = [0.0, 10.0];
        assert!((quantile(&v, 0.9).unwrap() - 9.0).abs() < 1e-12);
    }

    #[test]
    fn ape_is_symmetric_in_sign() {
        assert!((ape(150.0, 100.0) - 50.0).abs() < 1e-12);
        assert!((ape(50.0, 100.0) - 50.0).abs() < 1e-12);
    }
}
