//! Newline-delimited JSON: one object with the API's fields per line.
//!
//! Lines are independent, so a line that is not valid JSON is invalid on its
//! own and the next one is read. Blank lines are skipped (editors and shell
//! pipelines leave them). Lines are read as bytes, so one that is not UTF-8
//! is reported by the JSON parser like any other bad line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use super::native;
use super::{OpenError, ReadOptions, Records, open_file};
use crate::entry::{Origin, Record};

/// Opens the file and returns its records.
pub(super) fn open(
    path: &Path,
    file: Arc<str>,
    options: &ReadOptions,
) -> Result<Records, OpenError> {
    let reader = open_file(path, &file)?;
    Ok(Records::new(Lines {
        reader,
        file,
        default_project: options.default_project.clone(),
        buffer: Vec::new(),
        line: 0,
        done: false,
    }))
}

/// The records of the lines of one file.
struct Lines {
    reader: BufReader<File>,
    file: Arc<str>,
    default_project: Option<String>,
    buffer: Vec<u8>,
    /// The line in `buffer`.
    line: u64,
    done: bool,
}

impl Lines {
    fn origin(&self) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            line: self.line,
        }
    }

    fn record(&self) -> Record {
        let parsed = serde_json::from_slice(self.buffer.trim_ascii_end())
            .map_err(|error| native::malformed(&error))
            .and_then(native::from_json)
            .and_then(|fields| fields.into_entry(self.default_project.as_deref()));
        match parsed {
            Ok(entry) => Record::Entry(self.origin(), entry),
            Err(reason) => Record::Invalid(self.origin(), reason),
        }
    }
}

impl Iterator for Lines {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while !self.done {
            self.buffer.clear();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut self.buffer) {
                Ok(0) => self.done = true,
                Ok(_) if self.buffer.trim_ascii().is_empty() => {}
                Ok(_) => return Some(self.record()),
                Err(error) => {
                    self.done = true;
                    return Some(Record::Invalid(
                        self.origin(),
                        format!("reading stopped: {error}"),
                    ));
                }
            }
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono_tz::Tz;

    use super::super::open;
    use super::*;
    use crate::entry::Entry;

    #[test]
    fn a_bad_ndjson_line_is_invalid_and_the_lines_after_it_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.ndjson");
        let content = "{\"user_id\":\"u-1\",\"date\":\"2025-03-03T09:00:00+01:00\",\"project\":\"P\",\"hours\":1}\n\
                       \n\
                       {\"user_id\":\"u-2\",\"date\":\n\
                       {\"user_id\":\"u-3\",\"date\":\"2025-03-03\",\"project\":\"P\",\"hours\":1}\r\n\
                       {\"user_id\":\"u-4\",\"date\":\"2025-03-04T08:00:00Z\",\"hours\":2,\"billable\":false}";
        std::fs::write(&path, content).unwrap();
        let options = ReadOptions {
            default_project: Some("Internal".into()),
            ..ReadOptions::new(Tz::UTC)
        };

        let records: Vec<Record> = open(&path, &options).unwrap().collect();

        let at = |line| Origin {
            file: Arc::from(path.display().to_string()),
            line,
        };
        let first = Entry {
            user_id: "u-1".into(),
            date: "2025-03-03T09:00:00+01:00".into(),
            project: "P".into(),
            hours: 1.0,
            description: None,
            task: None,
            billable: None,
        };
        let last = Entry {
            user_id: "u-4".into(),
            date: "2025-03-04T08:00:00Z".into(),
            project: "Internal".into(),
            hours: 2.0,
            billable: Some(false),
            ..first.clone()
        };
        assert_eq!(
            records,
            [
                Record::Entry(at(1), first),
                Record::Invalid(at(3), "malformed JSON at column 24: EOF while parsing a value".into()),
                Record::Invalid(
                    at(4),
                    "date \"2025-03-03\" is not an RFC 3339 date-time such as 2025-03-03T09:00:00+01:00"
                        .into()
                ),
                Record::Entry(at(5), last),
            ]
        );
    }
}
