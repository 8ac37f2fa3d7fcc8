//! infercal: calibrated LLM-inference capacity planning.
//!
//! The crate answers "how many GPUs of which kind do I need to serve model M at R
//! requests/s under a time-to-first-token budget?" with an analytical performance model
//! whose efficiency and overhead parameters are fitted to benchmark rows. See
//! `ARCHITECTURE.md` for the code map; in short:
//!
//! - [`catalog`] holds GPU and model specs (embedded TOML, every number sourced);
//! - [`mod@bench`] loads and checks benchmark rows in one tidy CSV schema;
//! - [`scenario`] is one question to a performance model;
//! - [`perf`] holds the performance models behind one trait;
//! - [`evaluate`] predicts benchmark rows and summarises the errors;
//! - [`size`] ranks deployments for a target rate under a TTFT budget;
//! - [`report`] renders tables (Markdown, CSV, JSON) as strings.
//!
//! The library never prints and never exits: every failure is a typed error.
//!
//! ```
//! use infercal::catalog::Catalog;
//! use infercal::perf::{PerfModel, serving::ServingModel};
//! use infercal::scenario::{Condition, Deployment, Scenario, Stat};
//!
//! let catalog = Catalog::embedded()?;
//! let gpu = catalog.gpu("H100 80GB HBM3")?; // aliases from real data resolve
//! let scenario = Scenario {
//!     model: catalog.model("llama-3.1-70b")?,
//!     gpu,
//!     deployment: Deployment::assumed(gpu, None, None, None), // fp8, automatic TP
//!     isl: 5000,
//!     osl: 500,
//!     condition: Condition::TtftBudget { budget_s: 3.0, target_rps: Some(10.0), itl_budget_s: None },
//!     stat: Stat::Mean,
//! };
//! let answer = ServingModel::default().predict(&scenario).expect("70B fits two H100s");
//! assert!(answer.tp >= 2);
//! assert!(answer.ttft_s <= 3.0);
//! println!("{:.1} GPUs for 10 req/s", answer.gpus_for_target.unwrap());
//! # Ok::<(), infercal::catalog::CatalogError>(())
//! ```
#![deny(clippy::float_cmp)]
#![warn(missing_docs)]

pub mod bench;
pub mod bias;
pub mod catalog;
pub mod chart;
pub mod cv;
pub mod engine;
pub mod evaluate;
pub mod experiment;
pub mod findings;
pub mod fit;
pub mod fitted;
pub mod format;
pub mod interval;
pub mod perf;
pub mod precision;
pub mod prices;
pub mod report;
pub mod scenario;
pub mod size;
pub mod stats;
pub mod textfile;
