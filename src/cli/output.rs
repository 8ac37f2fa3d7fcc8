//! Writing results so that no reader ever sees a half-written file or a mix of two runs.
//! A single file is written to a temporary name beside its target, flushed, and renamed
//! over it. A command's set of files (`calibrate`'s fitted.json, report.md, … or `cv`'s
//! cv.md, cv.csv, cv.svg) is written whole into a fresh staging directory beside `--out`,
//! with a `manifest.json` last, and the directory is renamed into place: a concurrent run
//! or a failure leaves the previous complete set or the new one, never parts of both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use super::BadInput;

/// Writes `contents` to `path` atomically (temp file in the same directory + rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", unique()));
    let written = write_synced(&temp, contents).and_then(|()| {
        std::fs::rename(&temp, path)
            .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn write_synced(path: &Path, contents: &[u8]) -> Result<()> {
    write_streamed(path, |w| Ok(w.write_all(contents)?))
}

/// Creates `path`, lets `write` fill it through a buffer, and syncs it to disk.
fn write_streamed(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut buffered = std::io::BufWriter::new(file);
    write(&mut buffered).with_context(|| format!("writing {}", path.display()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("flushing {}", path.display()))
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A name no other run of this or another process picks: pid and a counter.
fn unique() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The name of the manifest every result set ends with.
pub const MANIFEST: &str = "manifest.json";

/// A set of result files being written: staged in a hidden directory beside the target,
/// moved into place whole by [`ResultSet::commit`], removed if dropped uncommitted.
pub struct ResultSet {
    target: PathBuf,
    staging: PathBuf,
    files: Vec<String>,
    committed: bool,
}

impl ResultSet {
    /// Starts a set that will replace `target`. Fails before any work is done when the
    /// target's directory cannot be written, or when `target` holds files other than
    /// those this command writes (`known`): a set replaces only a set.
    pub fn begin(target: &Path, known: &[&str]) -> Result<ResultSet> {
        refuse_foreign_files(target, known)?;
        let parent = parent_of(target);
        std::fs::create_dir_all(parent).map_err(|e| {
            BadInput(format!(
                "--out {}: cannot create {}: {e}",
                target.display(),
                parent.display()
            ))
        })?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let staging = parent.join(format!(".{name}.staging-{}", unique()));
        std::fs::create_dir(&staging).map_err(|e| {
            BadInput(format!(
                "--out {}: cannot write in {}: {e}",
                target.display(),
                parent.display()
            ))
        })?;
        Ok(ResultSet {
            target: target.to_path_buf(),
            staging,
            files: Vec::new(),
            committed: false,
        })
    }

    /// Adds one file to the set.
    pub fn write(&mut self, name: &str, contents: &[u8]) -> Result<()> {
        write_synced(&self.staging.join(name), contents)?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Adds file `name`, written by `write` as a stream (for files too large to build in
    /// memory first).
    pub fn write_with(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
    ) -> Result<()> {
        write_streamed(&self.staging.join(name), write)?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Writes the manifest and moves the set to the target, replacing the set there.
    pub fn commit(self, command: &str) -> Result<PathBuf> {
        let target = self.target.clone();
        self.commit_to(&target, command, false)
    }

    /// Writes the manifest and moves the set *beside* the target, as
    /// `<target>.interrupted`: an interrupted run never replaces the last complete one.
    pub fn commit_interrupted(self, command: &str) -> Result<PathBuf> {
        let mut name = self.target.as_os_str().to_owned();
        name.push(".interrupted");
        self.commit_to(&PathBuf::from(name), command, true)
    }

    /// Commits the set in place, or beside it when the run was `interrupted`; returns
    /// where it went and the exit status that says which (0, or 130).
    pub fn finish(self, command: &str, interrupted: bool) -> Result<(PathBuf, u8)> {
        if interrupted {
            Ok((self.commit_interrupted(command)?, super::INTERRUPTED))
        } else {
            Ok((self.commit(command)?, 0))
        }
    }

    fn commit_to(mut self, target: &Path, command: &str, interrupted: bool) -> Result<PathBuf> {
        let manifest = serde_json::json!({
            "command": command,
            "files": self.files,
            "complete": !interrupted,
            "interrupted": interrupted,
            "version": env!("CARGO_PKG_VERSION"),
        });
        let text = serde_json::to_string_pretty(&manifest)? + "\n";
        write_synced(&self.staging.join(MANIFEST), text.as_bytes())?;
        replace_dir(&self.staging, target)?;
        self.committed = true;
        Ok(target.to_path_buf())
    }
}

impl Drop for ResultSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Refuses a target that holds anything but a previous set of this command's files: it
/// would be replaced whole.
fn refuse_foreign_files(target: &Path, known: &[&str]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(target) else {
        if target.exists() && !target.is_dir() {
            bail!(BadInput(format!(
                "--out {} is a file, not a directory",
                target.display()
            )));
        }
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && !known.contains(&name.as_str()) {
            bail!(BadInput(format!(
                "--out {} holds `{name}`, which this command did not write; the result set replaces the whole directory, so choose a new or empty one",
                target.display()
            )));
        }
    }
    Ok(())
}

/// Moves directory `from` to `to`, replacing a directory already there. rename(2) cannot
/// replace a non-empty directory, so the old one is first renamed aside; when another run
/// commits or moves it in between, the loop tries again (a bounded number of times).
/// Readers see the old set, then (briefly) none, then the new one.
fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    let mut retired = Vec::new();
    let mut last_error = None;
    for _ in 0..100 {
        let Err(e) = std::fs::rename(from, to) else {
            for old in retired {
                let _ = std::fs::remove_dir_all(old);
            }
            return Ok(());
        };
        if to.is_dir() {
            let aside = parent_of(to).join(format!(
                ".{}.old-{}",
                to.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                unique()
            ));
            // Failing to move it aside means another run moved it first (or committed
            // a new one since): try again either way, up to the bound.
            if std::fs::rename(to, &aside).is_ok() {
                retired.push(aside);
            }
        } else if to.exists() {
            return Err(e)
                .with_context(|| format!("moving {} to {}", from.display(), to.display()));
        }
        // Otherwise another run moved the target aside between the failed rename and the
        // look: try again.
        last_error = Some(e);
    }
    let why = last_error.map_or_else(String::new, |e| format!(": {e}"));
    bail!(
        "replacing {}: other runs kept replacing it{why}",
        to.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("infercal-output-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn set(target: &Path, contents: &str) -> Result<PathBuf> {
        let mut set = ResultSet::begin(target, &["a.txt", "b.txt"])?;
        set.write("a.txt", contents.as_bytes())?;
        set.write("b.txt", contents.as_bytes())?;
        set.commit("test")
    }

    #[test]
    fn a_set_replaces_the_previous_set_whole() {
        let target = scratch().join("out");
        set(&target, "one").unwrap();
        set(&target, "two").unwrap();
        for f in ["a.txt", "b.txt"] {
            assert_eq!(std::fs::read_to_string(target.join(f)).unwrap(), "two");
        }
        let manifest = std::fs::read_to_string(target.join(MANIFEST)).unwrap();
        assert!(manifest.contains("\"complete\": true"), "{manifest}");
        let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["out"], "no staging or retired directories");
    }

    #[test]
    fn concurrent_sets_never_mix() {
        let target = scratch().join("out");
        std::thread::scope(|s| {
            for i in 0..8 {
                let target = &target;
                s.spawn(move || set(target, &format!("run {i}")).unwrap());
            }
        });
        let a = std::fs::read_to_string(target.join("a.txt")).unwrap();
        let b = std::fs::read_to_string(target.join("b.txt")).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_dropped_set_leaves_nothing_and_keeps_the_old_one() {
        let target = scratch().join("out");
        set(&target, "one").unwrap();
        {
            let mut failed = ResultSet::begin(&target, &["a.txt", "b.txt"]).unwrap();
            failed.write("a.txt", b"half").unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(target.join("a.txt")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_dir(target.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn an_interrupted_set_goes_beside_the_complete_one() {
        let target = scratch().join("out");
        set(&target, "one").unwrap();
        let mut partial = ResultSet::begin(&target, &["a.txt", "b.txt"]).unwrap();
        partial.write("a.txt", b"partial").unwrap();
        let beside = partial.commit_interrupted("test").unwrap();
        assert_eq!(beside, target.with_file_name("out.interrupted"));
        assert_eq!(
            std::fs::read_to_string(target.join("a.txt")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_to_string(beside.join("a.txt")).unwrap(),
            "partial"
        );
    }

    #[test]
    fn a_directory_of_other_files_is_not_replaced() {
        let target = scratch();
        std::fs::write(target.join("thesis.tex"), "precious").unwrap();
        let err = ResultSet::begin(&target, &["a.txt"]).err().unwrap();
        assert!(err.to_string().contains("thesis.tex"), "{err}");
    }

    #[test]
    fn an_unwritable_place_fails_before_any_work() {
        let file = scratch().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(ResultSet::begin(&file.join("out"), &[]).is_err());
        assert!(ResultSet::begin(&file, &[]).is_err());
    }
}
