//! Reading a text file whole, safely: the catalog, experiments, parameter files and tool
//! exports are read through here, so a wrong path (a device, a binary, a disk image) is a
//! prompt, clear error rather than a hang or an exhausted memory. It knows nothing of what
//! the text means.

use std::io::Read;
use std::path::Path;

/// The largest file read whole (tool exports, experiments, parameter files): far above
/// any real one, and a bound on what a wrong path (a device, a disk image) can cost.
pub const MAX_TEXT_BYTES: u64 = 1 << 30;

/// The text of `path`, refusing what is not text (a NUL byte, invalid UTF-8) or is larger
/// than [`MAX_TEXT_BYTES`] without reading further: `/dev/urandom` fails at once instead
/// of filling memory.
pub fn read(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let mut reader = std::io::BufReader::new(file).take(MAX_TEXT_BYTES + 1);
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        if chunk[..n].contains(&0) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a NUL byte: this is not a text file",
            ));
        }
        bytes.extend_from_slice(&chunk[..n]);
        if bytes.len() as u64 > MAX_TEXT_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "larger than 1 GiB: not a file this tool reads whole",
            ));
        }
    }
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// FNV-1a over 64 bits, fed in pieces: the stable content hash of provenance (not for
/// security). A file hashed as it streams gets the hash of its whole text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentHash(u64);

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash(0xcbf2_9ce4_8422_2325)
    }
}

impl ContentHash {
    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash as provenance files write it: `fnv1a64:` and 16 hex digits.
    pub fn finish(self) -> String {
        format!("fnv1a64:{:016x}", self.0)
    }
}

/// A place in a text file: `file:line:column`, both 1-based. Every error that points into
/// a file (benchmark CSV, catalog and experiment TOML, parameter JSON) carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePos {
    /// The file as given (or an embedded file's name).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column (characters; fields in a CSV).
    pub column: usize,
}

impl SourcePos {
    /// Line `line`, column `column` of `file`.
    pub fn new(file: &str, line: u64, column: usize) -> SourcePos {
        SourcePos {
            file: file.to_string(),
            line,
            column,
        }
    }

    /// The place of byte `offset` in `text` (clamped to its end).
    pub fn of_offset(file: &str, text: &str, offset: usize) -> SourcePos {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() as u64 + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        SourcePos::new(file, line, column)
    }
}

impl std::fmt::Display for SourcePos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_position_counts_lines_and_characters_from_one() {
        use super::SourcePos;
        assert_eq!(SourcePos::of_offset("f", "ab\ncd", 0).to_string(), "f:1:1");
        assert_eq!(SourcePos::of_offset("f", "ab\ncd", 4).to_string(), "f:2:2");
        assert_eq!(SourcePos::of_offset("f", "é\n", 99).to_string(), "f:2:1");
    }

    use super::*;

    fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("infercal-textfile-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn text_is_read_and_binary_refused() {
        assert_eq!(read(&file("ok", b"a,b\n")).unwrap(), "a,b\n");
        let nul = read(&file("nul", b"a\0b")).unwrap_err();
        assert!(nul.to_string().contains("NUL"), "{nul}");
        let latin1 = read(&file("latin1", b"caf\xe9")).unwrap_err();
        assert!(latin1.to_string().contains("UTF-8"), "{latin1}");
    }

    #[test]
    fn an_endless_device_is_refused_promptly() {
        let err = read(Path::new("/dev/urandom")).unwrap_err();
        assert!(err.kind() == std::io::ErrorKind::InvalidData, "{err}");
    }
}
