//! The README tells the truth: every output pasted in it sits between
//! `<!-- output: infercal ARGS -->` and `<!-- end output -->`, and this test runs each
//! command (in a fresh directory, as a new user would) and compares its stdout with the
//! block. Run times are masked; nothing else is. Blocks marked `output(slow)` or
//! `output(union_comparison)` take minutes and are checked by the slow guards
//! (`cargo test -- --ignored`). Blocks marked `output(walkthrough)` are one session: they
//! run in order in one directory, each seeing the files the earlier ones wrote.
//!
//! To regenerate the blocks after a deliberate change, run the check with
//! `INFERCAL_BLESS_README=1`: the README is rewritten with fresh outputs, so every pasted
//! figure still comes from a real run.

use std::sync::Mutex;

use regex::Regex;

use crate::{infercal_in, scratch_dir, stderr, stdout};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// One pasted output.
struct Block {
    /// The arguments after `infercal`.
    args: Vec<String>,
    /// `None` for the fast suite, else the group of slow guards it belongs to.
    group: Option<String>,
    /// Byte range of the content between the markers.
    content: std::ops::Range<usize>,
    /// The fence line (```text) the content is wrapped in, if any.
    fence: Option<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let start = Regex::new(r"<!-- output(?:\((\w+)\))?: infercal ([^>]*?) -->\n").unwrap();
    let mut found = Vec::new();
    for m in start.captures_iter(text) {
        let whole = m.get(0).unwrap();
        let end = text[whole.end()..]
            .find("<!-- end output -->")
            .map(|i| whole.end() + i)
            .unwrap_or_else(|| panic!("README: no `<!-- end output -->` after {}", &m[0]));
        let content = &text[whole.end()..end];
        let fence = content
            .starts_with("```")
            .then(|| content.lines().next().unwrap_or("```").to_string());
        found.push(Block {
            args: m[2].split_whitespace().map(String::from).collect(),
            group: m.get(1).map(|g| g.as_str().to_string()),
            content: whole.end()..end,
            fence,
        });
    }
    found
}

/// The text a block holds, without its fence.
fn unfenced(content: &str, fence: Option<&String>) -> String {
    match fence {
        Some(_) => {
            let inner = content.split_once('\n').map_or("", |(_, rest)| rest);
            inner
                .trim_end()
                .strip_suffix("```")
                .unwrap_or(inner)
                .to_string()
        }
        None => content.to_string(),
    }
}

/// Run times vary from run to run; every other character must match.
fn masked(text: &str) -> String {
    let seconds = Regex::new(r"\b(in|took|taking|scratch;) [0-9]+(\.[0-9]+)? s\b").unwrap();
    let mut lines: Vec<String> = Vec::new();
    // The run-time column, counted from the right: a header cell such as
    // "median |ln ratio|" holds pipes of its own, so counts from the left disagree
    // between the header and the rows.
    let mut wall_from_end: Option<usize> = None;
    for line in text.trim().lines() {
        let line = seconds.replace_all(line.trim_end(), "$1 … s").into_owned();
        let cells: Vec<&str> = line.split('|').collect();
        if let Some(i) = cells.iter().position(|c| c.trim() == "wall s") {
            wall_from_end = Some(cells.len() - 1 - i);
            lines.push(line);
            continue;
        }
        if !line.starts_with('|') {
            wall_from_end = None;
        }
        match wall_from_end {
            Some(k) if cells.len() > k && !line.contains("---") => {
                let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
                let i = cells.len() - 1 - k;
                cells[i] = " … ".into();
                lines.push(cells.join("|"));
            }
            _ => lines.push(line),
        }
    }
    lines.join("\n")
}

/// Copies into `dir` each file of the repository an argument names by a relative path
/// (`--prices data/prices-example.toml`): a new user runs the README's commands from a
/// checkout, where those files are.
fn with_repository_files(dir: &std::path::Path, args: &[&str]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for arg in args {
        let source = root.join(arg);
        if arg.contains('/') && source.is_file() {
            let target = dir.join(arg);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

/// The group whose blocks share one directory, in order.
const WALKTHROUGH: &str = "walkthrough";

/// `block`'s command run in `dir` (a fresh directory when `None`).
fn fresh_output(block: &Block, dir: Option<&std::path::Path>) -> String {
    let args: Vec<&str> = block.args.iter().map(String::as_str).collect();
    if args == ["calibrate"] {
        // The slowest command of the fast suite: run once for every test that needs it.
        return crate::calibrate::default_calibration().1.clone();
    }
    let dir = dir.map_or_else(scratch_dir, std::path::Path::to_path_buf);
    with_repository_files(&dir, &args);
    let run = infercal_in(&dir, &args);
    assert!(
        run.status.success(),
        "README command `infercal {}` failed: {}",
        args.join(" "),
        stderr(&run)
    );
    stdout(&run)
}

fn check(group: Option<&str>) {
    // One check rewrites the README at a time when blessing.
    static README_LOCK: Mutex<()> = Mutex::new(());
    let _guard = README_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let text = std::fs::read_to_string(README).unwrap();
    let all = blocks(&text);
    assert!(all.len() >= 5, "the README's pasted outputs are marked");
    let bless = std::env::var_os("INFERCAL_BLESS_README").is_some();
    let mut blessed = text.clone();
    let selected: Vec<&Block> = all.iter().filter(|b| b.group.as_deref() == group).collect();
    let shared = (group == Some(WALKTHROUGH)).then(scratch_dir);
    let outputs: Vec<String> = selected
        .iter()
        .map(|b| fresh_output(b, shared.as_deref()))
        .collect();
    for (block, fresh) in selected.into_iter().zip(outputs).rev() {
        let pasted = unfenced(&text[block.content.clone()], block.fence.as_ref());
        if bless {
            let body = match &block.fence {
                Some(fence) => format!("{fence}\n{}\n```\n", fresh.trim_end()),
                None => format!("{}\n", fresh.trim_end()),
            };
            blessed.replace_range(block.content.clone(), &body);
            continue;
        }
        let (fresh, pasted) = (masked(&fresh), masked(&pasted));
        for (i, (a, b)) in pasted.lines().zip(fresh.lines()).enumerate() {
            assert_eq!(
                a,
                b,
                "README block `infercal {}`, line {} differs from a fresh run \
                 (regenerate: INFERCAL_BLESS_README=1 cargo test readme{})",
                block.args.join(" "),
                i + 1,
                if group.is_some_and(|g| g != WALKTHROUGH) {
                    " -- --ignored"
                } else {
                    ""
                }
            );
        }
        assert_eq!(
            pasted.lines().count(),
            fresh.lines().count(),
            "README block `infercal {}` has a different length than a fresh run",
            block.args.join(" ")
        );
    }
    if bless && blessed != text {
        std::fs::write(README, blessed).unwrap();
    }
}

#[test]
fn the_readme_outputs_match_a_fresh_run() {
    check(None);
}

#[test]
fn the_readme_walkthrough_matches_a_fresh_session() {
    check(Some(WALKTHROUGH));
}

#[test]
#[ignore = "slow guard (the README's cross-validation outputs, minutes): cargo test -- --ignored"]
fn the_readme_slow_outputs_match_a_fresh_run() {
    check(Some("slow"));
}

#[test]
#[ignore = "slowest guard (the README's union comparison, ~2 min): cargo test -- --ignored"]
fn the_readme_union_comparison_output_matches_a_fresh_run() {
    check(Some("union_comparison"));
}

#[test]
fn the_mask_hides_run_times_only() {
    assert_eq!(
        masked("loss 1.5, 8052 evaluations in 4.58 s"),
        "loss 1.5, 8052 evaluations in … s"
    );
    let table = "| rank | wall s |\n|---:|---:|\n| 1 | 200.4 |";
    assert_eq!(masked(table), "| rank | wall s |\n|---:|---:|\n| 1 | … |");
    let piped = "| median |ln ratio| | AIC | wall s |\n|---:|---:|---:|\n| 0.225 | -47.36 | 11.2 |";
    assert_eq!(
        masked(piped),
        "| median |ln ratio| | AIC | wall s |\n|---:|---:|---:|\n| 0.225 | -47.36 | … |"
    );
    assert_ne!(masked("loss 1.5"), masked("loss 1.6"));
}
