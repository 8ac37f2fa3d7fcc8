//! End-to-end tests: run the `infercal` binary as a user would and check its output,
//! its exit code and that it never panics. One test binary, modules per command.

mod calibrate;
mod catalog;
mod compare;
mod data;
mod edges;
mod findings;
mod finetune;
mod fuzz;
mod intervals;
mod layers;
mod readme;
mod serving;
mod slo;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `infercal` with `args`.
pub fn infercal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infercal"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs `infercal` with `args` in directory `dir`, as a user in that directory would.
pub fn infercal_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infercal"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "infercal-it-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    // A process id is reused across runs: a directory left by an earlier run with the
    // same id would hold files a test's `--out` must not find (calibrate refuses them).
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Asserts a run failed with exit code 2 and exactly one line on stderr, no panic.
pub fn assert_one_line_bad_input(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    err
}
