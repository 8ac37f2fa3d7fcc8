//! Numeric precisions for weights, KV cache and tensor math, and how many bytes each
//! element takes. Owns the parsing of precision names found in experiments and data
//! (`fp16`, `bf16`, `fp8`, `int8`, `int4`/`awq`, `fp4`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A storage or compute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE half precision.
    Fp16,
    /// bfloat16.
    Bf16,
    /// 8-bit floating point (E4M3), Hopper/Ada/Blackwell/CDNA3 tensor cores.
    Fp8,
    /// 8-bit integer (W8A8 SmoothQuant style: both operands int8).
    Int8,
    /// 4-bit integer weights only (AWQ/GPTQ); math runs in fp16.
    Int4,
    /// 4-bit floating point (NVFP4), Blackwell tensor cores only.
    Fp4,
}

impl Precision {
    /// Every precision, in a stable order (for listings and error messages).
    pub const ALL: [Precision; 6] = [
        Precision::Fp16,
        Precision::Bf16,
        Precision::Fp8,
        Precision::Int8,
        Precision::Int4,
        Precision::Fp4,
    ];

    /// Bytes one element occupies in memory.
    pub fn bytes(self) -> f64 {
        match self {
            Precision::Fp16 | Precision::Bf16 => 2.0,
            Precision::Fp8 | Precision::Int8 => 1.0,
            Precision::Int4 | Precision::Fp4 => 0.5,
        }
    }

    /// The canonical lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
            Precision::Fp4 => "fp4",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a known precision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision `{0}`; expected one of fp16, bf16, fp8, int8, int4 (awq), fp4")]
pub struct UnknownPrecision(pub String);

impl FromStr for Precision {
    type Err = UnknownPrecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fp16" | "float16" | "half" | "f16" => Ok(Precision::Fp16),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "fp8" | "float8" | "e4m3" | "fp8_e4m3" => Ok(Precision::Fp8),
            "int8" | "w8a8" | "i8" => Ok(Precision::Int8),
            "int4" | "awq" | "gptq" | "w4a16" | "int4_awq" => Ok(Precision::Int4),
            "fp4" | "nvfp4" => Ok(Precision::Fp4),
            _ => Err(UnknownPrecision(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_case_insensitively() {
        assert_eq!("BF16".parse::<Precision>(), Ok(Precision::Bf16));
        assert_eq!("awq".parse::<Precision>(), Ok(Precision::Int4));
        assert_eq!("float16".parse::<Precision>(), Ok(Precision::Fp16));
        assert!("fp32".parse::<Precision>().is_err());
    }

    #[test]
    fn round_trips_through_display() {
        for p in Precision::ALL {
            assert_eq!(p.to_string().parse::<Precision>(), Ok(p));
        }
    }

    #[test]
    fn byte_widths() {
        assert!((Precision::Fp16.bytes() - 2.0).abs() < 1e-12);
        assert!((Precision::Fp8.bytes() - 1.0).abs() < 1e-12);
        assert!((Precision::Int4.bytes() - 0.5).abs() < 1e-12);
    }
}
