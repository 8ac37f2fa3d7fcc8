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

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9): the decode tail's Poisson counts too large to sum term by term, and the
/// parameter part of prediction intervals.
pub fn normal_quantile(q: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |p: f64| {
        let r = (-2.0 * p.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if q < 0.02425 {
        tail(q)
    } else if q > 1.0 - 0.02425 {
        -tail(1.0 - q)
    } else {
        let x = q - 0.5;
        let r = x * x;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * x
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
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
