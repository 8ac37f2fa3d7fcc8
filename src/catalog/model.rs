//! Model architectures as the catalog stores them, and everything derived from them:
//! parameter counts (total and active), the parameters a forward pass multiplies by,
//! weight bytes per precision and KV-cache bytes per token.

use serde::{Deserialize, Serialize};

use crate::precision::Precision;

/// Feed-forward block kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FfnKind {
    /// Gated (SwiGLU/GeGLU): gate, up and down matrices.
    Gated,
    /// Plain GELU MLP: up and down matrices.
    Gelu,
}

impl FfnKind {
    /// Number of hidden×intermediate matrices.
    pub fn matrices(self) -> u64 {
        match self {
            FfnKind::Gated => 3,
            FfnKind::Gelu => 2,
        }
    }
}

/// Normalisation layer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    /// RMSNorm: a weight vector.
    #[default]
    Rms,
    /// LayerNorm: a weight and a bias vector.
    Layernorm,
}

/// Mixture-of-experts routing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    /// Experts per layer.
    pub experts: u64,
    /// Experts each token is routed to.
    pub active_experts: u64,
}

fn default_norms_per_layer() -> u64 {
    2
}

/// One model of the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Stable identifier, e.g. `llama-3.1-8b`.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// Other names found in real data.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Hidden size d.
    pub hidden: u64,
    /// Decoder layers L.
    pub layers: u64,
    /// Query heads h.
    pub heads: u64,
    /// Key/value heads h_kv (GQA/MQA when below `heads`).
    pub kv_heads: u64,
    /// Head dimension d_h.
    pub head_dim: u64,
    /// Feed-forward intermediate size (per expert for MoE).
    pub intermediate: u64,
    /// Feed-forward kind.
    pub ffn: FfnKind,
    /// Vocabulary size.
    pub vocab: u64,
    /// Whether the LM head shares the embedding matrix.
    pub tied_embeddings: bool,
    /// Bias on the q/k/v projections (Qwen2.5).
    #[serde(default)]
    pub qkv_bias: bool,
    /// Bias on the MLP matrices (GPT-J).
    #[serde(default)]
    pub mlp_bias: bool,
    /// Bias on the LM head (GPT-J).
    #[serde(default)]
    pub lm_head_bias: bool,
    /// Normalisation kind.
    #[serde(default)]
    pub norm: NormKind,
    /// Normalisation layers per decoder layer.
    #[serde(default = "default_norms_per_layer")]
    pub norms_per_layer: u64,
    /// Maximum context length in tokens.
    pub max_context: u64,
    /// Mixture-of-experts routing, if any.
    #[serde(default)]
    pub moe: Option<Moe>,
    /// Published total parameter count in billions (checked against the derived one).
    pub published_params_b: f64,
    /// Published active parameter count in billions (MoE).
    #[serde(default)]
    pub published_active_params_b: Option<f64>,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// Caveats worth reading.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Model {
    fn q_dim(&self) -> u64 {
        self.heads * self.head_dim
    }

    fn kv_dim(&self) -> u64 {
        self.kv_heads * self.head_dim
    }

    fn attention_params_per_layer(&self) -> u64 {
        let projections = self.hidden * (2 * self.q_dim() + 2 * self.kv_dim());
        let bias = if self.qkv_bias {
            self.q_dim() + 2 * self.kv_dim()
        } else {
            0
        };
        projections + bias
    }

    fn ffn_params_per_expert(&self) -> u64 {
        let matrices = self.ffn.matrices() * self.hidden * self.intermediate;
        let bias = if self.mlp_bias {
            (self.ffn.matrices() - 1) * self.intermediate + self.hidden
        } else {
            0
        };
        matrices + bias
    }

    fn norm_params(&self) -> u64 {
        match self.norm {
            NormKind::Rms => self.hidden,
            NormKind::Layernorm => 2 * self.hidden,
        }
    }

    /// Parameters of one decoder layer with `experts` experts present.
    fn layer_params(&self, experts: u64) -> u64 {
        let router = self.moe.as_ref().map_or(0, |m| self.hidden * m.experts);
        self.attention_params_per_layer()
            + experts * self.ffn_params_per_expert()
            + router
            + self.norms_per_layer * self.norm_params()
    }

    fn experts(&self) -> (u64, u64) {
        self.moe
            .as_ref()
            .map_or((1, 1), |m| (m.experts, m.active_experts))
    }

    /// Embedding-table parameters (a lookup, not a matmul).
    pub fn embedding_params(&self) -> u64 {
        self.vocab * self.hidden
    }

    /// LM-head parameters stored separately from the embedding table (0 when tied).
    pub fn lm_head_params(&self) -> u64 {
        if self.tied_embeddings {
            0
        } else {
            self.vocab * self.hidden + if self.lm_head_bias { self.vocab } else { 0 }
        }
    }

    /// Total parameters, derived from the architecture.
    pub fn total_params(&self) -> u64 {
        let (all, _) = self.experts();
        self.layers * self.layer_params(all)
            + self.embedding_params()
            + self.lm_head_params()
            + self.norm_params()
    }

    /// Parameters touched per token (total minus unrouted experts).
    pub fn active_params(&self) -> u64 {
        let (_, active) = self.experts();
        self.layers * self.layer_params(active)
            + self.embedding_params()
            + self.lm_head_params()
            + self.norm_params()
    }

    /// Parameters a token is multiplied by: active decoder layers plus the LM-head matmul
    /// (performed even when its matrix is tied to the embedding table). This is the
    /// N_act_nonembed of the FLOP count: the embedding lookup costs no FLOPs.
    pub fn matmul_params_per_token(&self) -> f64 {
        let (_, active) = self.experts();
        (self.layers * self.layer_params(active) + self.vocab * self.hidden) as f64
    }

    /// Parameters of every expert's feed-forward block, all layers (0 for dense models).
    pub fn expert_params(&self) -> u64 {
        self.moe.as_ref().map_or(0, |m| {
            self.layers * m.experts * self.ffn_params_per_expert()
        })
    }

    /// Bytes the weights occupy when stored in `precision`. Quantised checkpoints
    /// (fp8, int8, int4, fp4) keep the embedding table and LM head in 16 bits, as
    /// TensorRT-LLM and vLLM do, so only the decoder layers shrink.
    pub fn weight_bytes(&self, precision: Precision) -> f64 {
        let embedding_and_head = (self.embedding_params() + self.lm_head_params()) as f64;
        let body = self.total_params() as f64 - embedding_and_head;
        let head_bytes = precision.bytes().max(Precision::Fp16.bytes());
        body * precision.bytes() + embedding_and_head * head_bytes
    }

    /// KV-cache bytes per token of context: 2·L·h_kv·d_h·b_kv.
    pub fn kv_bytes_per_token(&self, kv_precision: Precision) -> f64 {
        (2 * self.layers * self.kv_heads * self.head_dim) as f64 * kv_precision.bytes()
    }

    /// Attention width h·d_h (differs from `hidden` for Gemma 2).
    pub fn attention_width(&self) -> f64 {
        self.q_dim() as f64
    }
}
