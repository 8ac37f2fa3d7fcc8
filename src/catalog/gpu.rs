//! GPU specifications as the catalog stores them, and the derived quantities the
//! performance models need (bytes, bytes/s, FLOP/s for a precision).

use serde::{Deserialize, Serialize};

use crate::precision::Precision;

/// Dense tensor-core rates in TFLOPS (TOPS for int8). A missing rate means the GPU has no
/// tensor cores for that type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorRates {
    /// FP16 tensor rate with FP32 accumulate.
    pub fp16: f64,
    /// BF16 tensor rate (absent on Volta).
    pub bf16: Option<f64>,
    /// FP8 tensor rate (Hopper, Ada, Blackwell, CDNA3).
    pub fp8: Option<f64>,
    /// INT8 tensor rate in TOPS.
    pub int8: Option<f64>,
    /// FP4 tensor rate (Blackwell).
    pub fp4: Option<f64>,
}

/// Kind of GPU-to-GPU interconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// NVIDIA NVLink (SXM boards or bridges).
    Nvlink,
    /// PCI Express through the host.
    Pcie,
    /// AMD Infinity Fabric.
    InfinityFabric,
}

/// The GPU-to-GPU link used by tensor-parallel all-reduce, with its topology where the
/// bandwidth a TP group gets depends on its size (bridged boards).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What carries the traffic.
    pub kind: LinkKind,
    /// Bandwidth in GB/s in one direction.
    pub gbps_per_dir: f64,
    /// Bridged boards (H100 NVL): one bridge joins this many GPUs; a TP group larger than
    /// a bridge's passes its all-reduce through the host at `host_gbps_per_dir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridged_gpus: Option<u32>,
    /// The host link a group larger than a bridge crosses, GB/s per direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_gbps_per_dir: Option<f64>,
}

impl Link {
    /// The bandwidth, GB/s per direction, of a ring all-reduce over `tp` GPUs: the
    /// slowest hop of the ring.
    pub fn allreduce_gbps_per_dir(&self, tp: u32) -> f64 {
        match (self.bridged_gpus, self.host_gbps_per_dir) {
            (Some(bridged), Some(host)) if tp > bridged => host,
            _ => self.gbps_per_dir,
        }
    }

    /// The topology in words, for listings (`bridged 2 GPUs at a time, 64 GB/s through
    /// the host beyond`), or nothing for a uniform link.
    pub fn topology(&self) -> Option<String> {
        match (self.bridged_gpus, self.host_gbps_per_dir) {
            (Some(gpus), Some(host)) => Some(format!(
                "bridged {gpus} GPUs at a time, {host} GB/s through the host beyond"
            )),
            _ => None,
        }
    }
}

/// One GPU of the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Stable identifier, e.g. `h100-sxm`.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// Other names found in real data (case- and separator-insensitive).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Micro-architecture (`hopper`, `ampere`, `ada`, ...).
    pub architecture: String,
    /// Device memory in GB (1e9 bytes).
    pub memory_gb: f64,
    /// Device memory bandwidth in GB/s.
    pub memory_bw_gbps: f64,
    /// Dense tensor rates.
    pub tflops: TensorRates,
    /// GPU-to-GPU link.
    pub link: Link,
    /// Board power in watts, where published.
    pub tdp_w: Option<f64>,
    /// Where every number comes from.
    pub sources: Vec<String>,
    /// Caveats worth reading.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Gpu {
    /// The dense tensor rate in TFLOPS for math in `precision`, or `None` when the GPU
    /// has no tensor cores for it. Weight-only int4 has no rate of its own: its math
    /// runs in fp16 (see [`Gpu::compute_precision`]).
    pub fn tensor_tflops(&self, precision: Precision) -> Option<f64> {
        match precision {
            Precision::Fp16 => Some(self.tflops.fp16),
            Precision::Bf16 => self.tflops.bf16,
            Precision::Fp8 => self.tflops.fp8,
            Precision::Int8 => self.tflops.int8,
            Precision::Fp4 => self.tflops.fp4,
            Precision::Int4 => None,
        }
    }

    /// The precision the tensor cores run at when weights are stored in `weights`: the
    /// weight type itself where the GPU has tensor cores for it, fp16 for weight-only
    /// int4, bf16 falling back to fp16 on GPUs without bf16. `None` when the GPU cannot
    /// run that weight type at all (fp8 on Ampere, fp4 before Blackwell).
    pub fn compute_precision(&self, weights: Precision) -> Option<Precision> {
        match weights {
            Precision::Int4 | Precision::Fp16 => Some(Precision::Fp16),
            Precision::Bf16 if self.tflops.bf16.is_none() => Some(Precision::Fp16),
            p => self.tensor_tflops(p).map(|_| p),
        }
    }

    /// Device memory in bytes.
    pub fn memory_bytes(&self) -> f64 {
        self.memory_gb * 1e9
    }

    /// Device memory bandwidth in bytes/s.
    pub fn memory_bw_bytes_per_s(&self) -> f64 {
        self.memory_bw_gbps * 1e9
    }

    /// Precisions this GPU can store and compute (for listings).
    pub fn supported_precisions(&self) -> Vec<Precision> {
        Precision::ALL
            .into_iter()
            .filter(|p| self.compute_precision(*p).is_some())
            .collect()
    }
}
