use super::*;
use crate::precision::Precision;

fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog parses")
}

const REQUIRED_GPUS: [&str; 22] = [
    "h100-sxm",
    "h100-pcie",
    "h100-nvl",
    "h200-sxm",
    "b100",
    "b200",
    "gb200",
    "a100-sxm-80gb",
    "a100-sxm-40gb",
    "a100-pcie-80gb",
    "l40s",
    "l40",
    "l4",
    "a10g",
    "a10",
    "rtx-6000-ada",
    "rtx-a6000",
    "rtx-4090",
    "v100-sxm2",
    "mi300x",
    "mi325x",
    "gh200",
];

const REQUIRED_MODELS: [&str; 22] = [
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "llama-3-8b",
    "llama-3-70b",
    "llama-3.3-70b",
    "llama-3.2-1b",
    "llama-3.2-3b",
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "mistral-7b-v0.3",
    "mixtral-8x7b",
    "qwen2.5-7b",
    "qwen2.5-32b",
    "qwen2.5-72b",
    "gemma-2-9b",
    "gemma-2-27b",
    "phi-3-mini",
    "gpt-j-6b",
    "falcon-180b",
    "mistral-7b-v0.1",
];

#[test]
fn every_required_entry_is_present_with_sources() {
    let c = catalog();
    for slug in REQUIRED_GPUS {
        let g = c.gpu(slug).unwrap();
        assert_eq!(g.slug, slug);
        assert!(!g.sources.is_empty(), "{slug} has no source");
    }
    for slug in REQUIRED_MODELS {
        let m = c.model(slug).unwrap();
        assert_eq!(m.slug, slug);
        assert!(!m.sources.is_empty(), "{slug} has no source");
    }
}

#[test]
fn derived_parameter_counts_match_published_within_one_percent() {
    for m in catalog().models() {
        let derived = m.total_params() as f64 / 1e9;
        let error = (derived - m.published_params_b).abs() / m.published_params_b;
        assert!(
            error < 0.01,
            "{}: derived {derived:.3}B vs published {}B ({:.2} %)",
            m.slug,
            m.published_params_b,
            error * 100.0
        );
        if let Some(active) = m.published_active_params_b {
            let derived = m.active_params() as f64 / 1e9;
            assert!(
                (derived - active).abs() / active < 0.01,
                "{} active {derived}",
                m.slug
            );
        }
    }
}

#[test]
fn kv_bytes_per_token_match_the_fact_sheet() {
    let c = catalog();
    let kib = |slug: &str| c.model(slug).unwrap().kv_bytes_per_token(Precision::Bf16) / 1024.0;
    assert!((kib("llama-3.1-8b") - 128.0).abs() < 1e-9);
    assert!((kib("llama-3.1-70b") - 320.0).abs() < 1e-9);
    assert!((kib("llama-2-7b") - 512.0).abs() < 1e-9);
    assert!((kib("gemma-2-9b") - 336.0).abs() < 1e-9);
    assert!((kib("qwen2.5-7b") - 56.0).abs() < 1e-9);
}

#[test]
fn aliases_from_real_data_resolve() {
    let c = catalog();
    for (alias, slug) in [
        ("H100 SXM", "h100-sxm"),
        ("H100 80GB HBM3", "h100-sxm"),
        ("H100_80GB_HBM3", "h100-sxm"),
        ("NVIDIA H100 80GB HBM3", "h100-sxm"),
        ("A100-SXM4-80GB", "a100-sxm-80gb"),
        ("A100 SXM", "a100-sxm-80gb"),
        ("GH200 120GB", "gh200"),
        ("l40s", "l40s"),
    ] {
        assert_eq!(c.gpu(alias).unwrap().slug, slug, "{alias}");
    }
    for (alias, slug) in [
        ("LLaMA v2 70B", "llama-2-70b"),
        ("meta/llama3-8b-instruct", "llama-3-8b"),
        ("GPTJ 6B", "gpt-j-6b"),
        ("Falcon 180B", "falcon-180b"),
        ("Mistral 7B", "mistral-7b-v0.1"),
        ("Mixtral 8x7B", "mixtral-8x7b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
    ] {
        assert_eq!(c.model(alias).unwrap().slug, slug, "{alias}");
    }
}

#[test]
fn unknown_names_list_the_closest_slugs() {
    let c = catalog();
    match c.gpu("H100 SXM6") {
        Err(CatalogError::UnknownGpu { suggestions, .. }) => {
            assert_eq!(suggestions.len(), 3);
            assert_eq!(suggestions[0], "h100-sxm");
        }
        other => panic!("expected UnknownGpu, got {other:?}"),
    }
    let message = c.model("llama-3.1-7b").unwrap_err().to_string();
    assert!(message.contains("llama-3.1-8b"), "{message}");
}

#[test]
fn rates_are_dense_not_sparse() {
    let c = catalog();
    let h100 = c.gpu("h100-sxm").unwrap();
    assert!((h100.tflops.fp16 - 989.0).abs() < 1.0);
    assert!((h100.tensor_tflops(Precision::Fp8).unwrap() - 1979.0).abs() < 1.0);
    let l40s = c.gpu("l40s").unwrap();
    assert!((l40s.tflops.fp16 - 362.0).abs() < 1.0);
}

#[test]
fn compute_precision_follows_tensor_core_support() {
    let c = catalog();
    let a100 = c.gpu("a100-sxm-80gb").unwrap();
    assert_eq!(a100.compute_precision(Precision::Fp8), None);
    assert_eq!(
        a100.compute_precision(Precision::Int4),
        Some(Precision::Fp16)
    );
    let v100 = c.gpu("v100-sxm2").unwrap();
    assert_eq!(
        v100.compute_precision(Precision::Bf16),
        Some(Precision::Fp16)
    );
    let h100 = c.gpu("h100-sxm").unwrap();
    assert_eq!(h100.compute_precision(Precision::Fp4), None);
    let b200 = c.gpu("b200").unwrap();
    assert_eq!(b200.compute_precision(Precision::Fp4), Some(Precision::Fp4));
}

#[test]
fn quantised_weights_keep_embeddings_in_sixteen_bits() {
    let m = catalog().model("llama-3.1-70b").unwrap().clone();
    let fp16 = m.weight_bytes(Precision::Fp16);
    let fp8 = m.weight_bytes(Precision::Fp8);
    let embed_and_head = (m.embedding_params() + m.lm_head_params()) as f64;
    assert!((fp16 - 2.0 * m.total_params() as f64).abs() < 1.0);
    assert!((fp8 - (m.total_params() as f64 + embed_and_head)).abs() < 1.0);
}

#[test]
fn parse_errors_name_line_and_column() {
    let bad = "[[gpu]]\nslug = \"x\"\nmemory_gb = \"eighty\"\n";
    match Catalog::from_sources("g.toml", bad, "m.toml", EMBEDDED_MODELS) {
        Err(CatalogError::Parse { at, .. }) => {
            assert_eq!(at.file, "g.toml");
            assert!(at.line >= 1);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn a_shared_alias_is_refused() {
    let twice = EMBEDDED_GPUS.replace("aliases = [\"L4\"", "aliases = [\"L40S\"");
    let err = Catalog::from_sources("g.toml", &twice, "m.toml", EMBEDDED_MODELS).unwrap_err();
    assert!(err.to_string().contains("L40S"), "{err}");
}

#[test]
fn a_non_positive_spec_is_refused() {
    let zero = EMBEDDED_GPUS.replacen("memory_gb = 80", "memory_gb = 0", 1);
    let err = Catalog::from_sources("g.toml", &zero, "m.toml", EMBEDDED_MODELS).unwrap_err();
    assert!(err.to_string().contains("memory_gb"), "{err}");
}

/// The embedded GPU file with H100 NVL's link replaced by `link`.
fn with_nvl_link(link: &str) -> Result<Catalog, CatalogError> {
    let shipped = r#"link = { kind = "nvlink", gbps_per_dir = 300, bridged_gpus = 2, host_gbps_per_dir = 64 }"#;
    assert!(EMBEDDED_GPUS.contains(shipped));
    let edited = EMBEDDED_GPUS.replacen(shipped, link, 1);
    Catalog::from_sources("g.toml", &edited, "m.toml", EMBEDDED_MODELS)
}

#[test]
fn a_bridge_without_the_host_link_beyond_it_is_refused() {
    let err = with_nvl_link(r#"link = { kind = "nvlink", gbps_per_dir = 300, bridged_gpus = 2 }"#)
        .unwrap_err();
    assert!(err.to_string().contains("needs host_gbps_per_dir"), "{err}");
}

#[test]
fn a_host_link_without_a_bridge_is_refused() {
    let err =
        with_nvl_link(r#"link = { kind = "nvlink", gbps_per_dir = 300, host_gbps_per_dir = 64 }"#)
            .unwrap_err();
    assert!(err.to_string().contains("set bridged_gpus"), "{err}");
}

#[test]
fn a_bridge_of_one_gpu_is_refused() {
    let err = with_nvl_link(
        r#"link = { kind = "nvlink", gbps_per_dir = 300, bridged_gpus = 1, host_gbps_per_dir = 64 }"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
}

#[test]
fn a_tp_group_gets_the_bandwidth_of_its_slowest_hop() {
    let c = catalog();
    let at = |gpu: &str, tp: u32| c.gpu(gpu).unwrap().link.allreduce_gbps_per_dir(tp);
    // H100 NVL: the bridge within a pair, PCIe beyond it.
    assert!((at("h100-nvl", 2) - 300.0).abs() < 1e-9);
    assert!((at("h100-nvl", 4) - 64.0).abs() < 1e-9);
    // A uniform link: the same at every size.
    assert!((at("h100-sxm", 2) - at("h100-sxm", 8)).abs() < 1e-9);
}
