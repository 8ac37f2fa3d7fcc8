//! The reference calculator, reproduced exactly as it was published so that its
//! misses can be measured: FLOPs only, batch 1, one GPU whatever the memory, a single
//! efficiency factor, fp16 tensor rate. Its flaws are findings, not bugs to fix here.
//!
//! Per layer, attention FLOPs are `B·S·(H² + S·H)` and feed-forward FLOPs `2·B·S·H·F`.
//! Prefill FLOPs are L·(both at S = ISL); per-token FLOPs L·(both at S = 1). Latency is
//! FLOPs / (TFLOPS·10¹²·efficiency); TTFT = prefill latency; total = prefill + OSL·per-token;
//! req/s/GPU = B/total. The TTFT budget does not limit its throughput: the calculator
//! reports the TTFT beside the rate and leaves the comparison to the reader.
//!
//! ## References
//! - The sizing exercise's reference calculator (Task 4 of the reference plan): the
//!   formulas above and its TFLOPS table, [`ReferenceParams::published`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Bound, Breakdown, Outcome, PerfModel, Prediction};
use crate::precision::Precision;
use crate::scenario::{Condition, Scenario};

/// The calculator's parameters: one efficiency factor and its own TFLOPS table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferenceParams {
    /// Fraction of the TFLOPS figure achieved, (0, 1].
    pub efficiency: f64,
    /// FP16 TFLOPS the calculator used per GPU slug; GPUs not listed use the catalog's
    /// dense fp16 rate.
    pub tflops: BTreeMap<String, f64>,
}

impl ReferenceParams {
    /// The calculator as published: efficiency 0.3 and its TFLOPS table (H100 SXM 989.5,
    /// A100 SXM 312, L40S 366, A10G 125 — the last is the A10's figure, not the A10G's 70).
    pub fn published() -> ReferenceParams {
        let tflops = [
            ("h100-sxm", 989.5),
            ("a100-sxm-80gb", 312.0),
            ("l40s", 366.0),
            ("a10g", 125.0),
        ]
        .into_iter()
        .map(|(slug, t)| (slug.to_string(), t))
        .collect();
        ReferenceParams {
            efficiency: 0.3,
            tflops,
        }
    }
}

impl Default for ReferenceParams {
    fn default() -> Self {
        ReferenceParams::published()
    }
}

/// The reference calculator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferenceModel {
    /// Its parameters.
    pub params: ReferenceParams,
}

/// Attention plus feed-forward FLOPs of one layer for `batch` sequences of `seq` tokens.
fn layer_flops(batch: f64, seq: f64, hidden: f64, ffn: f64) -> f64 {
    let attention = batch * seq * (hidden * hidden + seq * hidden);
    let feed_forward = 2.0 * batch * seq * hidden * ffn;
    attention + feed_forward
}

impl PerfModel for ReferenceModel {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn predict(&self, s: &Scenario<'_>) -> Outcome {
        let batch = match s.condition {
            Condition::StaticBatch { batch_size } => f64::from(batch_size),
            _ => 1.0,
        };
        let (hidden, ffn) = (s.model.hidden as f64, s.model.intermediate as f64);
        let layers = s.model.layers as f64;
        let tflops = self
            .params
            .tflops
            .get(&s.gpu.slug)
            .copied()
            .unwrap_or(s.gpu.tflops.fp16);
        let flops_per_s = tflops * 1e12 * self.params.efficiency;
        let prefill_s = layers * layer_flops(batch, f64::from(s.isl), hidden, ffn) / flops_per_s;
        let per_token_s = layers * layer_flops(batch, 1.0, hidden, ffn) / flops_per_s;
        let total_s = prefill_s + f64::from(s.osl) * per_token_s;
        let req_per_s = batch / total_s;
        let target = match s.condition {
            Condition::TtftBudget { target_rps, .. } => target_rps,
            _ => None,
        };
        Prediction {
            tp: 1,
            precision: Precision::Fp16,
            ttft_s: prefill_s,
            itl_s: per_token_s,
            e2e_s: total_s,
            output_tok_s: batch * f64::from(s.osl) / total_s,
            req_per_s,
            req_per_s_per_gpu: req_per_s,
            gpus_for_target: target.map(|r| r / req_per_s),
            instances_for_target: target.map(|r| (r / req_per_s).ceil() as u64),
            running_batch: batch,
            kv_capacity_tokens: None,
            breakdown: Breakdown {
                prefill_s,
                decode_step_s: per_token_s,
                queue_wait_s: 0.0,
                allreduce_s: 0.0,
                decode_bound: Bound::Compute,
            },
        }
        .checked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::scenario::{Deployment, Stat};

    /// The calculator's published outputs for ISL 5000 / OSL 500: (model, gpu, TTFT s,
    /// total s, req/s/GPU).
    const PUBLISHED: [(&str, &str, f64, f64, f64); 7] = [
        ("llama-3.1-8b", "h100-sxm", 0.083381, 0.090615, 11.0357),
        ("llama-3.1-8b", "a100-sxm-80gb", 0.264441, 0.287384, 3.47966),
        ("llama-3.1-8b", "l40s", 0.225425, 0.244983, 4.08191),
        ("llama-3.1-8b", "a10g", 0.660044, 0.717312, 1.39409),
        ("llama-3.1-70b", "h100-sxm", 0.778617, 0.850960, 1.17514),
        (
            "llama-3.1-70b",
            "a100-sxm-80gb",
            2.469363,
            2.698798,
            0.370535,
        ),
        ("llama-3.1-70b", "l40s", 2.105031, 2.300615, 0.434666),
    ];

    #[test]
    fn reproduces_the_published_table_to_a_tenth_of_a_percent() {
        let catalog = Catalog::embedded().unwrap();
        let model = ReferenceModel::default();
        for (m, g, ttft, total, rate) in PUBLISHED {
            let scenario = Scenario {
                model: catalog.model(m).unwrap(),
                gpu: catalog.gpu(g).unwrap(),
                deployment: Deployment::default(),
                isl: 5000,
                osl: 500,
                condition: Condition::TtftBudget {
                    budget_s: 3.0,
                    target_rps: Some(10.0),
                    itl_budget_s: None,
                },
                stat: Stat::Mean,
            };
            let p = model.predict(&scenario).unwrap();
            for (name, got, want) in [
                ("ttft", p.ttft_s, ttft),
                ("total", p.e2e_s, total),
                ("rate", p.req_per_s_per_gpu, rate),
            ] {
                assert!(
                    (got - want).abs() / want < 1e-3,
                    "{m}/{g} {name}: {got} vs {want}"
                );
            }
            let gpus = p.gpus_for_target.unwrap();
            assert!((gpus - 10.0 / rate).abs() / gpus < 1e-3);
        }
    }

    #[test]
    fn static_batch_scales_flops_and_rate_together() {
        let catalog = Catalog::embedded().unwrap();
        let mut scenario = Scenario {
            model: catalog.model("llama-3.1-8b").unwrap(),
            gpu: catalog.gpu("h100-sxm").unwrap(),
            deployment: Deployment::default(),
            isl: 5000,
            osl: 500,
            condition: Condition::Saturated,
            stat: Stat::Mean,
        };
        let one = ReferenceModel::default().predict(&scenario).unwrap();
        scenario.condition = Condition::StaticBatch { batch_size: 4 };
        let four = ReferenceModel::default().predict(&scenario).unwrap();
        // The calculator's batch multiplies FLOPs and requests alike: no batching gain.
        assert!((four.req_per_s - one.req_per_s).abs() / one.req_per_s < 1e-12);
        assert!((four.e2e_s - 4.0 * one.e2e_s).abs() / four.e2e_s < 1e-12);
    }
}
