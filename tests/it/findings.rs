//! `infercal findings`: the committed FINDINGS.md is what a fresh run produces, apart
//! from the line that states the run time.

use crate::{infercal, scratch_dir};

fn without_run_time(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with(infercal::report::findings::RUN_TIME_PREFIX))
        .collect()
}

#[test]
#[ignore = "slow guard (minutes on 2 cores): cargo test -- --ignored"]
fn committed_findings_match_a_fresh_run() {
    let path = scratch_dir().join("FINDINGS.md");
    let out = infercal(&["findings", "--out", &path.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read_to_string(&path).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/FINDINGS.md"))
        .expect("FINDINGS.md is committed");
    let (fresh, committed) = (without_run_time(&fresh), without_run_time(&committed));
    for (i, (a, b)) in fresh.iter().zip(&committed).enumerate() {
        assert_eq!(
            a,
            b,
            "FINDINGS.md line {} differs from a fresh run: regenerate it with `infercal findings`",
            i + 1
        );
    }
    assert_eq!(
        fresh.len(),
        committed.len(),
        "FINDINGS.md length differs from a fresh run"
    );
}
