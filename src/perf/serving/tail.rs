//! The decode tail: inter-token latency at a percentile. A token gap is one decode step,
//! plus a stall for every prefill iteration the engine runs before the next step
//! (prefills preempt decoding, a chunked prefill one chunk at a time). The stalls in one
//! gap are counted as Poisson with the mean that the load model's mean ITL already
//! implies, `m = (ITL_mean − T_step) / T_stall`, so `T_step + K·T_stall` has exactly the
//! mean ITL and a tail that grows with load: at light load almost no gap is stalled (the
//! p99 gap is one step); as prefills become frequent the p99 gap carries one stall, then
//! several. Percentiles are of the per-token gaps (what vLLM and SGLang report as
//! `p99_itl`), which a per-request TPOT percentile never exceeds.
//!
//! The quantile of the discrete count is interpolated linearly within the count that
//! reaches the probability (the mid-distribution quantile), so a percentile ITL moves
//! continuously with load instead of jumping a whole stall at a time.
//!
//! ## References
//! - Generation stalls from prefill preemption, and chunked prefill bounding them:
//!   Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
//!   Sarathi-Serve" (OSDI 2024), §3.
//! - Poisson counts of arrivals in an interval: Kleinrock, *Queueing Systems*, vol. 1
//!   (1975), §2.
//! - Mid-distribution quantiles of discrete variables: Parzen, "Quantile probability and
//!   statistical data modeling", *Statistical Science* 19(4) (2004).

/// Stall counts beyond this many standard deviations above the mean carry no probability
/// a percentile up to p99.99 can reach.
const TAIL_SIGMAS: f64 = 12.0;

/// The time one stall adds to a token gap: a lone prefill of `isl` tokens, split into the
/// iterations a `chunk_tokens` budget per iteration gives it.
pub(super) fn stall_s(prefill_s: f64, isl: f64, chunk_tokens: f64) -> f64 {
    let iterations = if chunk_tokens > 0.0 {
        (isl / chunk_tokens).ceil().max(1.0)
    } else {
        1.0
    };
    prefill_s / iterations
}

/// The `q`-quantile token gap when decode steps take `step_s`, gaps average `mean_itl_s`
/// and each stall adds `stall_s`. `None` for `q` (the mean) returns the mean.
pub(super) fn itl_at(q: Option<f64>, step_s: f64, mean_itl_s: f64, stall_s: f64) -> f64 {
    let Some(q) = q else {
        return mean_itl_s;
    };
    let excess_s = mean_itl_s - step_s;
    if excess_s <= 0.0 || stall_s <= 0.0 || !excess_s.is_finite() || !stall_s.is_finite() {
        return mean_itl_s;
    }
    step_s + stall_s * poisson_quantile(q, excess_s / stall_s)
}

/// The mid-distribution `q`-quantile of a Poisson count with mean `mean`: the smallest k
/// whose CDF reaches q, less the share of P(K = k) that q leaves unreached. Zero while
/// P(K = 0) covers q.
pub(super) fn poisson_quantile(q: f64, mean: f64) -> f64 {
    let mut probability = (-mean).exp();
    let mut cdf = probability;
    if cdf >= q {
        return 0.0;
    }
    let last = (mean + TAIL_SIGMAS * mean.sqrt() + TAIL_SIGMAS).ceil();
    let mut k = 0.0;
    while k < last {
        k += 1.0;
        probability *= mean / k;
        let below = cdf;
        cdf += probability;
        if cdf >= q {
            return k - 1.0 + (q - below) / probability;
        }
    }
    // Only reached when `exp(−mean)` underflows; the normal approximation holds there.
    mean + mean.sqrt() * normal_quantile(q)
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for counts too large to sum term by term.
fn normal_quantile(q: f64) -> f64 {
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
    fn the_mean_is_the_load_models_mean() {
        assert!((itl_at(None, 0.02, 0.03, 0.1) - 0.03).abs() < 1e-15);
    }

    #[test]
    fn no_stalls_means_every_percentile_is_one_step() {
        assert!((itl_at(Some(0.99), 0.02, 0.02, 0.1) - 0.02).abs() < 1e-15);
        assert!((itl_at(Some(0.5), 0.02, 0.021, 0.1) - 0.02).abs() < 1e-15);
    }

    #[test]
    fn the_p99_gap_rises_with_the_stalls_per_gap() {
        let p99 = |mean_itl_s| itl_at(Some(0.99), 0.02, mean_itl_s, 0.1);
        // Below one stall per hundred gaps the p99 gap is a bare step.
        assert!((p99(0.0201) - 0.02).abs() < 1e-15 && (p99(0.021) - 0.02).abs() < 1e-15);
        let loads = [0.0211, 0.022, 0.025, 0.03, 0.05, 0.1, 0.3];
        for pair in loads.windows(2) {
            assert!(p99(pair[1]) > p99(pair[0]), "{pair:?}");
        }
        assert!(
            p99(0.025) > 0.025,
            "the p99 gap of a stalled load exceeds its mean"
        );
    }

    #[test]
    fn the_quantile_agrees_with_the_poisson_cdf() {
        // Poisson(2): P(K ≤ 3) = 0.857, P(K ≤ 4) = 0.947, P(K = 4) = 0.0902.
        let q = 0.9;
        let below = 0.857_123_460_498_547_2;
        let at_four = 0.090_223_522_157_741_82;
        let expected = 3.0 + (q - below) / at_four;
        assert!((poisson_quantile(q, 2.0) - expected).abs() < 1e-12);
    }

    #[test]
    fn the_quantile_is_continuous_where_the_count_steps() {
        // Where P(K ≤ 1) = 0.9 exactly, the quantile is 1 from either side.
        let mean = 0.531_811_608_389_612; // solves e^-m (1 + m) = 0.9
        let below = poisson_quantile(0.9, mean * (1.0 - 1e-9));
        let above = poisson_quantile(0.9, mean * (1.0 + 1e-9));
        assert!((below - above).abs() < 1e-6, "{below} vs {above}");
        assert!((below - 1.0).abs() < 1e-6);
    }

    #[test]
    fn huge_counts_fall_back_to_the_normal_approximation() {
        let q = poisson_quantile(0.99, 1e4);
        let expected = 1e4 + 100.0 * 2.326_347_874;
        assert!((q - expected).abs() < 1.0, "{q}");
    }

    #[test]
    fn stalls_split_into_prefill_chunks() {
        assert!((stall_s(0.4, 10_000.0, 2048.0) - 0.08).abs() < 1e-15);
        assert!((stall_s(0.4, 1000.0, 8192.0) - 0.4).abs() < 1e-15);
        assert!((stall_s(0.4, 1000.0, 0.0) - 0.4).abs() < 1e-15);
    }
}
