//! The row loop shared by the CSV readers: read a row, map it to an entry,
//! and turn what the csv crate reports into records.
//!
//! The csv crate is lenient: the only problems it reports in a row are a
//! field count other than the header's and bytes that are not UTF-8. It
//! has read the whole row by then, so such a row becomes
//! [`Record::Invalid`] and the next row is read. An I/O error ends the file
//! after one last invalid record saying so.

use std::sync::Arc;

use csv::{ErrorKind, StringRecord};

use super::lines::LineIndex;
use super::{CsvFile, CsvReader};
use crate::entry::{Entry, Origin, Record};

/// Records from the rows of a CSV file, each mapped by `map`.
pub(super) struct CsvRows<F> {
    reader: CsvReader,
    lines: LineIndex,
    row: StringRecord,
    file: Arc<str>,
    map: F,
    done: bool,
}

impl<F> CsvRows<F>
where
    F: FnMut(&StringRecord) -> Result<Entry, String>,
{
    /// The rows after the header of `csv`.
    pub(super) fn new(csv: CsvFile, file: Arc<str>, map: F) -> Self {
        let CsvFile { reader, lines, .. } = csv;
        CsvRows {
            reader,
            lines,
            row: StringRecord::new(),
            file,
            map,
            done: false,
        }
    }

    /// The origin of a record the csv crate places at `position`.
    fn origin(&self, position: Option<&csv::Position>) -> Origin {
        let line = match position {
            Some(position) => self.lines.line_at(position.byte()),
            None => self.reader.position().line(),
        };
        Origin {
            file: Arc::clone(&self.file),
            line,
        }
    }

    fn mapped(&mut self) -> Record {
        let origin = self.origin(self.row.position());
        match (self.map)(&self.row) {
            Ok(entry) => Record::Entry(origin, entry),
            Err(reason) => Record::Invalid(origin, reason),
        }
    }

    fn failed(&mut self, error: &csv::Error) -> Record {
        let origin = self.origin(error.position());
        let reason = match error.kind() {
            ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("the row has {len} fields, the header has {expected_len}")
            }
            ErrorKind::Utf8 { err, .. } => {
                format!("field {} is not valid UTF-8", err.field() + 1)
            }
            _ => {
                self.done = true;
                format!("reading stopped: {error}")
            }
        };
        Record::Invalid(origin, reason)
    }
}

impl<F> Iterator for CsvRows<F>
where
    F: FnMut(&StringRecord) -> Result<Entry, String>,
{
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        match self.reader.read_record(&mut self.row) {
            Ok(true) => Some(self.mapped()),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(error) => Some(self.failed(&error)),
        }
    }
}

/// The trimmed value of an optional column; `""` when the column is absent.
pub(super) fn field(row: &StringRecord, index: Option<usize>) -> &str {
    index.and_then(|i| row.get(i)).unwrap_or_default().trim()
}
