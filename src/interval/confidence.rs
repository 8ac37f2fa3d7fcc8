//! The confidence of an interval: a share in 0.01–0.99, checked once where it enters.

use std::fmt;

use super::DEFAULT_CONFIDENCE;

/// Why a confidence is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("confidence {0} is outside 0.01–0.99 (0.8 is an 80 % interval)")]
pub struct BadConfidence(pub f64);

/// A confidence in 0.01–0.99, checked once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence(pub(super) f64);

impl Confidence {
    /// `value` if it is in 0.01–0.99.
    pub fn new(value: f64) -> Result<Confidence, BadConfidence> {
        if (0.01..=0.99).contains(&value) {
            Ok(Confidence(value))
        } else {
            Err(BadConfidence(value))
        }
    }

    /// The confidence.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Confidence(DEFAULT_CONFIDENCE)
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", (self.0 * 1000.0).round() / 10.0)
    }
}
