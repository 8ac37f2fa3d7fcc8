//! Where a record is in its file. `LineIndex` maps byte offsets to 1-based lines (the csv
//! crate's own counter is one short on CRLF files and after leading comments);
//! `Indexed` builds the index while a stream passes through it, and refuses what is not
//! text, so a file is never held whole to be located.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

/// Maps byte offsets of a text to 1-based line numbers. The csv crate's own line counter
/// is one short on CRLF files (both real benchmark exports use CRLF) and after leading
/// comment lines; its byte offsets are exact, so lines are counted from them.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
    /// Whether each line (0-based) is a `#` comment: no record starts on one.
    comment: Vec<bool>,
    /// Bytes indexed so far.
    fed: usize,
    /// Whether the next byte fed starts a line.
    at_line_start: bool,
}

impl Default for LineIndex {
    fn default() -> Self {
        LineIndex {
            newlines: Vec::new(),
            comment: Vec::new(),
            fed: 0,
            at_line_start: true,
        }
    }
}

impl LineIndex {
    /// Indexes `text` once.
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut index = LineIndex::default();
        index.feed(text.as_bytes());
        index
    }

    /// Indexes the next `bytes` of a stream (the text so far is what was fed before).
    /// Memory is one offset per line, so a stream is indexed without holding its text.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.at_line_start {
                self.comment.push(b == b'#');
                self.at_line_start = false;
            }
            if b == b'\n' {
                self.newlines.push(self.fed);
                self.at_line_start = true;
            }
            self.fed += 1;
        }
    }

    /// The 1-based line of a record starting at byte `offset`. On CRLF files the csv
    /// crate reports a record as starting at the `\n` that ends the previous line, so a
    /// newline *at* the offset already belongs to the line before.
    pub(crate) fn line(&self, offset: u64) -> u64 {
        self.newlines.partition_point(|&n| (n as u64) <= offset) as u64 + 1
    }

    /// The line where a record or error at `position` starts. After leading comment
    /// lines the crate reports the comments' start, so comment lines are skipped.
    pub(crate) fn of(&self, position: Option<&csv::Position>) -> u64 {
        // Without a position (a read that failed mid-stream) the best place is the line
        // the reader had reached.
        let Some(p) = position else {
            return self.newlines.len() as u64 + 1;
        };
        let mut line = self.line(p.byte());
        while self
            .comment
            .get(line as usize - 1)
            .copied()
            .unwrap_or(false)
        {
            line += 1;
        }
        line
    }
}

/// The longest line a benchmark CSV may have. Real rows are under 300 bytes; a longer
/// "line" is binary data or a file of another kind, and reading it whole could exhaust
/// memory (`/dev/urandom` once hung `check-data`).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A reader that indexes lines as the bytes pass, and refuses what is not text: a NUL
/// byte, or a line longer than [`MAX_LINE_BYTES`].
pub(crate) struct Indexed<R> {
    pub(crate) inner: R,
    pub(crate) lines: Rc<RefCell<LineIndex>>,
    pub(crate) line_bytes: usize,
}

impl<R: Read> Read for Indexed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
        if chunk.contains(&0) {
            return Err(refuse("a NUL byte: this is not a text file"));
        }
        for &b in chunk {
            self.line_bytes = if b == b'\n' { 0 } else { self.line_bytes + 1 };
            if self.line_bytes > MAX_LINE_BYTES {
                return Err(refuse("a line over 1 MiB: this is not a benchmark CSV"));
            }
        }
        self.lines.borrow_mut().feed(chunk);
        Ok(n)
    }
}

/// The line index of a stream, as far as it has been read.
pub(crate) struct LinesSoFar<'a>(pub(crate) &'a Rc<RefCell<LineIndex>>);

impl LinesSoFar<'_> {
    pub(crate) fn of(&self, position: Option<&csv::Position>) -> u64 {
        self.0.borrow().of(position)
    }
}

#[cfg(test)]
mod tests {
    use super::LineIndex;

    fn record_lines(text: &str) -> Vec<u64> {
        let index = LineIndex::new(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        reader
            .records()
            .map(|r| index.of(r.unwrap().position()))
            .collect()
    }

    #[test]
    fn an_error_without_a_position_is_placed_on_the_line_reached() {
        assert_eq!(LineIndex::default().of(None), 1);
        assert_eq!(LineIndex::new("a\nb\n").of(None), 3);
    }

    #[test]
    fn lines_are_right_for_lf_crlf_and_leading_comments() {
        assert_eq!(record_lines("a,b\nc,d\ne,f\n"), vec![1, 2, 3]);
        assert_eq!(record_lines("a,b\r\nc,d\r\ne,f\r\n"), vec![1, 2, 3]);
        assert_eq!(record_lines("# x\n# y\na,b\nc,d\n"), vec![3, 4]);
        assert_eq!(record_lines("\"1,\n2\",b\nc,d\n"), vec![1, 3]);
    }
}
