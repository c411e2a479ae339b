//! The line a CSV record starts on.
//!
//! The csv crate's `Position::line` is the line just after the previous
//! record's terminator, which is not always where the next record starts:
//! for a CRLF file the terminator it stops at is the `\r`, so the `\n` still
//! lies ahead and every line is one short, and blank lines it skips are not
//! counted either. Its byte offset has the same meaning, but that is exact
//! enough to fix up: the record starts at the first byte at or after it
//! that is not a line break.
//!
//! [`Tracked`] sits between the file and the csv reader and notes where each
//! `\r` and `\n` it passes through is; [`LineIndex::line_at`] turns an offset
//! into a line. Breaks are forgotten once the parser is past them, so memory
//! holds those of the bytes the csv reader buffered ahead plus one record,
//! and the file is read once, which keeps pipes working.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Wraps `inner`, returning the reader to parse and the index that tells
/// lines for offsets in it (offset 0 being the first byte `inner` yields).
pub(super) fn tracked<R: Read>(inner: R) -> (Tracked<R>, LineIndex) {
    let breaks = Arc::new(Mutex::new(Breaks {
        pending: VecDeque::new(),
        read: 0,
        line: 1,
    }));
    (
        Tracked {
            inner,
            breaks: Arc::clone(&breaks),
        },
        LineIndex(breaks),
    )
}

/// Line breaks read and not yet passed.
#[derive(Debug)]
struct Breaks {
    /// Offset of each `\r` or `\n` read and not yet passed, and whether it
    /// is a `\n`.
    pending: VecDeque<(u64, bool)>,
    /// Bytes read so far.
    read: u64,
    /// The line at the offset of the last query.
    line: u64,
}

/// A reader noting the line breaks that pass through it.
pub(super) struct Tracked<R> {
    inner: R,
    breaks: Arc<Mutex<Breaks>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        let mut breaks = lock(&self.breaks);
        let start = breaks.read;
        for (at, &byte) in (start..).zip(&buf[..read]) {
            if byte == b'\n' || byte == b'\r' {
                breaks.pending.push_back((at, byte == b'\n'));
            }
        }
        breaks.read = start + read as u64;
        Ok(read)
    }
}

/// Tells the line of offsets read through a [`Tracked`].
#[derive(Debug, Clone)]
pub(super) struct LineIndex(Arc<Mutex<Breaks>>);

impl LineIndex {
    /// The line (1-based) of the first byte at or after `offset` that is not
    /// a line break. Offsets must not go backwards from one call to the next,
    /// and the bytes up to that first byte must have been read.
    pub(super) fn line_at(&self, offset: u64) -> u64 {
        let mut breaks = lock(&self.0);
        let mut cursor = offset;
        while let Some(&(at, is_newline)) = breaks.pending.front() {
            if at > cursor {
                break;
            }
            if at == cursor {
                // A break where the record would start: skip it.
                cursor += 1;
            }
            breaks.pending.pop_front();
            // A line ends at `\n`, `\r\n` or a lone `\r` (old Mac files).
            // The byte after a `\r` passed here has been read, so a `\n`
            // there is already pending.
            let ends_crlf = !is_newline
                && breaks
                    .pending
                    .front()
                    .is_some_and(|&(next, newline)| newline && next == at + 1);
            breaks.line += u64::from(!ends_crlf);
        }
        breaks.line
    }
}

/// Locks the shared state; a panic elsewhere cannot leave it inconsistent
/// in a way that matters for a line number, so poisoning is ignored.
fn lock(breaks: &Mutex<Breaks>) -> MutexGuard<'_, Breaks> {
    breaks.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of_records(input: &str) -> Vec<u64> {
        let (reader, index) = tracked(input.as_bytes());
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        csv.byte_records()
            .map(|record| {
                let record = record.expect("a record");
                let offset = record.position().map_or(0, csv::Position::byte);
                index.line_at(offset)
            })
            .collect()
    }

    #[test]
    fn records_start_on_the_right_line_with_lf_crlf_cr_and_blank_lines() {
        assert_eq!(lines_of_records("a\nb\nc\n"), [1, 2, 3]);
        assert_eq!(lines_of_records("a\r\nb\r\nc"), [1, 2, 3]);
        assert_eq!(lines_of_records("a\n\n\nb\r\n\r\nc\n"), [1, 4, 6]);
        assert_eq!(lines_of_records("\"x\r\ny\",1\r\nb\r\n"), [1, 3]);
        assert_eq!(lines_of_records("a\rb\rc"), [1, 2, 3]);
        assert_eq!(lines_of_records("\"x\ry\",1\rb\r\rc"), [1, 3, 5]);
    }
}
