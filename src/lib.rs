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
//! - [`report`] renders tables (Markdown, CSV, JSON) as strings.
//!
//! The library never prints and never exits: every failure is a typed error.
#![deny(clippy::float_cmp)]
#![warn(missing_docs)]

pub mod bench;
pub mod catalog;
pub mod evaluate;
pub mod perf;
pub mod precision;
pub mod report;
pub mod scenario;
pub mod size;
pub mod stats;
