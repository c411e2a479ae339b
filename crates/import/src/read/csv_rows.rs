//! The row loop shared by the CSV readers: read a row, map it to an entry,
//! and turn what the csv crate reports into records.
//!
//! The csv crate is lenient: the only problems it reports in a row are a
//! field count other than the header's and bytes that are not UTF-8. It
//! has read the whole row by then, so such a row becomes
//! [`Record::Invalid`] and the next row is read. An I/O error ends the file
//! after one last invalid record saying so.

use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use csv::{ErrorKind, StringRecord};

use crate::entry::{Entry, Origin, Record};

/// Records from the rows of a CSV file, each mapped by `map`.
pub(super) struct CsvRows<F> {
    reader: csv::Reader<BufReader<File>>,
    row: StringRecord,
    file: Arc<str>,
    map: F,
    done: bool,
}

impl<F> CsvRows<F>
where
    F: FnMut(&StringRecord) -> Result<Entry, String>,
{
    /// Rows read from `reader`, which is positioned after the header.
    pub(super) fn new(reader: csv::Reader<BufReader<File>>, file: Arc<str>, map: F) -> Self {
        CsvRows { reader, row: StringRecord::new(), file, map, done: false }
    }

    fn origin(&self, line: u64) -> Origin {
        Origin { file: Arc::clone(&self.file), line }
    }

    fn mapped(&mut self) -> Record {
        let line = self.row.position().map_or_else(|| self.reader.position().line(), |p| p.line());
        let origin = self.origin(line);
        match (self.map)(&self.row) {
            Ok(entry) => Record::Entry(origin, entry),
            Err(reason) => Record::Invalid(origin, reason),
        }
    }

    fn failed(&mut self, error: &csv::Error) -> Record {
        let line = error.position().map_or_else(|| self.reader.position().line(), |p| p.line());
        let reason = match error.kind() {
            ErrorKind::UnequalLengths { expected_len, len, .. } => {
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
        Record::Invalid(self.origin(line), reason)
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
