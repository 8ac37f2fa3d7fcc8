//! `infercal list` and `infercal show`: the catalog as tables and spec sheets.

use anyhow::Result;
use infercal::catalog::{Catalog, Gpu, Model};
use infercal::precision::Precision;
use infercal::report::{csv_table, markdown_table, sig};
use serde_json::json;

use super::args::{Kind, ListArgs, RecordFormat, ShowArgs, TableFormat};

const GPU_HEADER: [&str; 11] = [
    "slug",
    "name",
    "memory_gb",
    "memory_bw_gbps",
    "fp16_tflops",
    "fp8_tflops",
    "int8_tops",
    "fp4_tflops",
    "link",
    "link_gbps_per_dir",
    "tdp_w",
];
const MODEL_HEADER: [&str; 10] = [
    "slug",
    "name",
    "params_b",
    "active_params_b",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "kv_kib_per_token_bf16",
    "max_context",
];

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| sig(v, 4))
}

fn gpu_cells(g: &Gpu) -> Vec<String> {
    vec![
        g.slug.clone(),
        g.name.clone(),
        sig(g.memory_gb, 4),
        sig(g.memory_bw_gbps, 4),
        sig(g.tflops.fp16, 4),
        opt(g.tflops.fp8),
        opt(g.tflops.int8),
        opt(g.tflops.fp4),
        format!("{:?}", g.link.kind).to_lowercase(),
        sig(g.link.gbps_per_dir, 4),
        opt(g.tdp_w),
    ]
}

fn model_cells(m: &Model) -> Vec<String> {
    vec![
        m.slug.clone(),
        m.name.clone(),
        sig(m.total_params() as f64 / 1e9, 4),
        sig(m.active_params() as f64 / 1e9, 4),
        m.layers.to_string(),
        m.hidden.to_string(),
        m.heads.to_string(),
        m.kv_heads.to_string(),
        sig(m.kv_bytes_per_token(Precision::Bf16) / 1024.0, 4),
        m.max_context.to_string(),
    ]
}

/// `infercal list gpus|models`.
pub fn list(catalog: &Catalog, args: &ListArgs) -> Result<String> {
    let (header, rows): (&[&str], Vec<Vec<String>>) = match args.kind {
        Kind::Gpu => (&GPU_HEADER, catalog.gpus().iter().map(gpu_cells).collect()),
        Kind::Model => (
            &MODEL_HEADER,
            catalog.models().iter().map(model_cells).collect(),
        ),
    };
    Ok(match args.format {
        TableFormat::Md => {
            let right: Vec<bool> = header
                .iter()
                .map(|h| *h != "slug" && *h != "name" && *h != "link")
                .collect();
            markdown_table(header, &right, &rows)
        }
        TableFormat::Csv => csv_table(header, &rows),
        TableFormat::Json => {
            let value = match args.kind {
                Kind::Gpu => serde_json::to_value(catalog.gpus())?,
                Kind::Model => serde_json::to_value(catalog.models())?,
            };
            serde_json::to_string_pretty(&value)? + "\n"
        }
    })
}

/// `infercal show gpu|model NAME`.
pub fn show(catalog: &Catalog, args: &ShowArgs) -> Result<String> {
    match args.kind {
        Kind::Gpu => {
            let g = catalog.gpu(&args.name)?;
            Ok(match args.format {
                RecordFormat::Json => serde_json::to_string_pretty(g)? + "\n",
                RecordFormat::Table => gpu_sheet(g),
            })
        }
        Kind::Model => {
            let m = catalog.model(&args.name)?;
            Ok(match args.format {
                RecordFormat::Json => serde_json::to_string_pretty(&model_json(m))? + "\n",
                RecordFormat::Table => model_sheet(m),
            })
        }
    }
}

fn gpu_sheet(g: &Gpu) -> String {
    let mut out = format!("{} ({})\n\n", g.name, g.slug);
    let lines = [
        ("aliases", g.aliases.join(", ")),
        ("architecture", g.architecture.clone()),
        ("memory", format!("{} GB", sig(g.memory_gb, 4))),
        (
            "memory bandwidth",
            format!("{} GB/s", sig(g.memory_bw_gbps, 4)),
        ),
        (
            "dense fp16 / bf16",
            format!("{} / {} TFLOPS", sig(g.tflops.fp16, 4), opt(g.tflops.bf16)),
        ),
        ("dense fp8", opt(g.tflops.fp8)),
        ("dense int8", opt(g.tflops.int8)),
        ("dense fp4", opt(g.tflops.fp4)),
        (
            "supported weight precisions",
            g.supported_precisions()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "GPU-to-GPU link",
            format!(
                "{:?}, {} GB/s per direction{}",
                g.link.kind,
                sig(g.link.gbps_per_dir, 4),
                g.link
                    .topology()
                    .map_or(String::new(), |topology| format!(" ({topology})"))
            ),
        ),
        (
            "TDP",
            g.tdp_w
                .map_or("not published".into(), |w| format!("{} W", sig(w, 4))),
        ),
    ];
    for (key, value) in lines {
        let value = if value.is_empty() {
            "—".to_string()
        } else {
            value
        };
        out.push_str(&format!("{key:<28} {value}\n"));
    }
    if let Some(notes) = &g.notes {
        out.push_str(&format!("{:<28} {notes}\n", "notes"));
    }
    out.push_str(&format!("{:<28} {}\n", "sources", g.sources.join("; ")));
    out
}

const SHOWN_PRECISIONS: [Precision; 5] = [
    Precision::Fp16,
    Precision::Fp8,
    Precision::Int8,
    Precision::Int4,
    Precision::Fp4,
];

fn model_sheet(m: &Model) -> String {
    let mut out = format!("{} ({})\n\n", m.name, m.slug);
    let moe = m.moe.as_ref().map_or("dense".to_string(), |e| {
        format!("{} experts, {} active", e.experts, e.active_experts)
    });
    let lines = [
        ("aliases", m.aliases.join(", ")),
        ("layers / hidden", format!("{} / {}", m.layers, m.hidden)),
        (
            "heads / KV heads / head dim",
            format!("{} / {} / {}", m.heads, m.kv_heads, m.head_dim),
        ),
        (
            "feed-forward",
            format!("{:?}, intermediate {}", m.ffn, m.intermediate).to_lowercase(),
        ),
        (
            "vocab / tied embeddings",
            format!("{} / {}", m.vocab, m.tied_embeddings),
        ),
        ("mixture of experts", moe),
        ("max context", m.max_context.to_string()),
        (
            "parameters (derived)",
            format!(
                "{:.3} B total, {:.3} B active",
                m.total_params() as f64 / 1e9,
                m.active_params() as f64 / 1e9
            ),
        ),
        (
            "parameters (published)",
            format!("{} B", m.published_params_b),
        ),
    ];
    for (key, value) in lines {
        out.push_str(&format!("{key:<30} {value}\n"));
    }
    out.push_str("\nprecision  weights GB  KV KiB/token\n");
    for p in SHOWN_PRECISIONS {
        out.push_str(&format!(
            "{:<10} {:>10.2}  {:>12}\n",
            p.to_string(),
            m.weight_bytes(p) / 1e9,
            sig(m.kv_bytes_per_token(p) / 1024.0, 4)
        ));
    }
    if let Some(notes) = &m.notes {
        out.push_str(&format!("\nnotes: {notes}\n"));
    }
    out.push_str(&format!("sources: {}\n", m.sources.join("; ")));
    out
}

fn model_json(m: &Model) -> serde_json::Value {
    let per_precision: serde_json::Map<String, serde_json::Value> = SHOWN_PRECISIONS
        .iter()
        .map(|p| {
            (
                p.to_string(),
                json!({
                    "weight_bytes": m.weight_bytes(*p),
                    "kv_bytes_per_token": m.kv_bytes_per_token(*p),
                }),
            )
        })
        .collect();
    json!({
        "spec": m,
        "derived": {
            "total_params": m.total_params(),
            "active_params": m.active_params(),
            "matmul_params_per_token": m.matmul_params_per_token(),
            "per_precision": per_precision,
        }
    })
}
