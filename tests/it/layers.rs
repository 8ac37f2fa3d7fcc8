//! The house's layers point one way: every `crate::` path in a library module names a
//! module on a lower floor (or its own). The floors are ARCHITECTURE.md's, bottom first;
//! a new module must be given one here before it can be used. Test code is exempt (it
//! may reach anywhere to build fixtures).

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;

/// Bottom floor first; modules on one floor do not use each other.
const FLOORS: &[&[&str]] = &[
    &["precision", "stats", "format", "textfile"],
    &["catalog", "engine"],
    &["scenario", "prices"],
    &["bench", "perf"],
    &["interval"],
    &["evaluate", "size", "chart"],
    &["experiment", "bias"],
    &["fit"],
    &["cv", "fitted"],
    &["findings"],
    &["report"],
];

fn floor(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|f| f.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no floor in tests/it/layers.rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_module_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let path = Regex::new(r"crate::(\w+)").unwrap();
    let mut upward = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let name = relative.to_string_lossy();
        if ["main", "lib", "cli"].contains(&module.as_str()) || name.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for used in path.captures_iter(code) {
            let used = &used[1];
            if used != module && floor(used) >= floor(&module) {
                upward.insert(format!("{name} uses crate::{used}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "arrows running up or sideways: {upward:#?}"
    );
}
