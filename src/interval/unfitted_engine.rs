//! The ranges for an engine the calibration has no rows of. The calibration's own table
//! comes from a cross-validation by source, in which almost every held-out row kept its
//! engine family in the fit; a prediction for an engine with no rows is a different
//! question, which a cross-validation that leaves each engine family out in turn
//! measures: every one of its residuals is a prediction of an engine the fit never saw.
//! Such a prediction takes the wider of the two tables' ranges for its group — what the
//! data do not determine widens the interval, it never narrows it.
//!
//! ## References
//! - Conditional ("Mondrian") conformal prediction, one calibration set per category of
//!   the input: Vovk, Gammerman & Shafer, *Algorithmic Learning in a Random World* (2005),
//!   §4.5.

use super::DiscrepancyTable;

impl DiscrepancyTable {
    /// This table, whose intervals take the ranges of `engines` (residuals of engine
    /// families held out) wherever those are wider at 80 %: the ranges for a prediction
    /// whose engine has no fitted rows. Scheme, row count and cells stay this table's;
    /// an interval says when the held-out engines' ranges set it.
    pub fn at_least(&self, engines: &DiscrepancyTable) -> DiscrepancyTable {
        DiscrepancyTable {
            engines: Some(Box::new(DiscrepancyTable {
                engines: None,
                ..engines.clone()
            })),
            ..self.clone()
        }
    }

    /// The residuals of the engine families held out whose ranges this table takes where
    /// wider, if it was made by [`DiscrepancyTable::at_least`].
    pub fn engines_held_out(&self) -> Option<usize> {
        self.engines.as_ref().map(|t| t.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Confidence, Key, Level, Regime};
    use super::*;
    use crate::scenario::Metric;

    fn key(metric: Metric) -> Key {
        Key {
            metric,
            regime: Regime::Static,
            level: Level::Own,
        }
    }

    /// `n` errors of `metric` spread evenly over 0–`largest`.
    fn residuals(metric: Metric, largest: f64, n: usize) -> Vec<(Key, f64)> {
        (0..n)
            .map(|i| (key(metric), largest * i as f64 / (n - 1) as f64))
            .collect()
    }

    #[test]
    fn an_interval_takes_the_held_out_engines_ranges_only_where_wider() {
        let own = DiscrepancyTable::from_residuals(
            "source",
            &[
                residuals(Metric::ItlS, 0.2, 200),
                residuals(Metric::TtftS, 0.9, 200),
            ]
            .concat(),
        );
        let engines = DiscrepancyTable::from_residuals(
            "engine",
            &[
                residuals(Metric::ItlS, 0.8, 150),
                residuals(Metric::E2eS, 0.5, 150),
            ]
            .concat(),
        );
        let merged = own.at_least(&engines);
        let c = Confidence::default();
        let hi = |t: &DiscrepancyTable, m: Metric| t.interval(key(m), 1.0, 0.0, c).unwrap().hi;
        // ITL: the held-out engines' errors are wider, so they set the range.
        assert!(hi(&merged, Metric::ItlS) > hi(&own, Metric::ItlS) + 0.3);
        assert!((hi(&merged, Metric::ItlS) - hi(&engines, Metric::ItlS)).abs() < 1e-12);
        // TTFT: the calibration's own ranges are wider.
        assert!((hi(&merged, Metric::TtftS) - hi(&own, Metric::TtftS)).abs() < 1e-12);
        // e2e: the engines' narrower group of its own does not narrow the calibration's
        // every-metric range.
        assert!(hi(&engines, Metric::E2eS) < hi(&own, Metric::E2eS));
        assert!((hi(&merged, Metric::E2eS) - hi(&own, Metric::E2eS)).abs() < 1e-12);
        assert_eq!(merged.cells(), own.cells());
        let p = |t: &DiscrepancyTable| t.probability_under(key(Metric::ItlS), 1.0, 0.0, 1.1);
        assert!(p(&merged).unwrap() < p(&own).unwrap());
    }
}
