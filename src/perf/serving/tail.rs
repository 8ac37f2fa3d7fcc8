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
    mean + mean.sqrt() * crate::stats::normal_quantile(q)
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
