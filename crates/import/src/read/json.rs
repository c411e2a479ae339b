//! A JSON array of entries, read one element at a time.
//!
//! serde_json parses from a reader by pulling bytes, while an iterator is
//! pulled by its caller; the two are joined by running the parse on a thread
//! of its own. A [`Visitor::visit_seq`] deserialises each element alone and
//! sends its record through a bounded channel, so memory holds one element
//! and a few records in flight, never the array. When the caller drops the
//! iterator, the next send fails and the parse stops.
//!
//! Lines: serde_json reads its input one byte at a time, so a reader
//! wrapper sees each byte as it is parsed. Before each element the visitor
//! marks a boundary; the wrapper notes the line of the first byte after it
//! that is neither white space nor a comma, which is where the element
//! starts. A syntax error ends the file with one invalid record at the line
//! serde_json reports, as nothing after it can be trusted.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use serde::de::{self, Deserializer as _, SeqAccess, Visitor};
use serde_json::Value;

use super::native;
use super::{OpenError, ReadOptions, Records, open_file};
use crate::entry::{Origin, Record};

/// Records parsed ahead of the caller; enough to keep the parser busy.
const IN_FLIGHT: usize = 64;

/// Starts parsing the file on a thread and returns its records.
pub(super) fn open(
    path: &Path,
    file: Arc<str>,
    options: &ReadOptions,
) -> Result<Records, OpenError> {
    let reader = open_file(path, &file)?;
    let (sender, receiver) = mpsc::sync_channel(IN_FLIGHT);
    let parse = Parse {
        file: Arc::clone(&file),
        default_project: options.default_project.clone(),
    };
    thread::Builder::new()
        .name("json-reader".to_owned())
        .spawn(move || parse.run(reader, &sender))
        .map_err(|error| OpenError::Thread {
            file: file.to_string(),
            error,
        })?;
    Ok(Records::new(Received(receiver)))
}

/// The records the parsing thread sends, in order.
struct Received(Receiver<Record>);

impl Iterator for Received {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        self.0.recv().ok()
    }
}

/// What the parsing thread needs to make records.
struct Parse {
    file: Arc<str>,
    default_project: Option<String>,
}

impl Parse {
    fn run(self, reader: impl Read, sender: &SyncSender<Record>) {
        let lines = Rc::new(Lines::default());
        let counted = LineCounter {
            inner: reader,
            lines: Rc::clone(&lines),
        };
        let mut parser = serde_json::Deserializer::from_reader(counted);
        let elements = Elements {
            parse: &self,
            lines: &lines,
            sender,
        };
        let result = parser.deserialize_seq(elements).and_then(|()| parser.end());
        if let Err(error) = result {
            // serde_json reports line 0 for I/O errors, which have no place.
            let line = u64::try_from(error.line())
                .ok()
                .filter(|&line| line > 0)
                .unwrap_or_else(|| lines.current());
            let reason = if error.is_io() {
                format!("reading stopped: {error}")
            } else {
                format!("{}; nothing after it was read", native::malformed(&error))
            };
            // A send fails only when the caller has stopped listening.
            let _ = sender.send(Record::Invalid(self.origin(line), reason));
        }
    }

    fn origin(&self, line: u64) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            line,
        }
    }

    fn record(&self, value: Value, line: u64) -> Record {
        let origin = self.origin(line);
        match native::from_json(value).and_then(|f| f.into_entry(self.default_project.as_deref())) {
            Ok(entry) => Record::Entry(origin, entry),
            Err(reason) => Record::Invalid(origin, reason),
        }
    }
}

/// Visits the top-level array, handing out each element as it is parsed.
struct Elements<'a> {
    parse: &'a Parse,
    lines: &'a Lines,
    sender: &'a SyncSender<Record>,
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.lines.mark();
            let Some(value) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            let record = self.parse.record(value, self.lines.start());
            if self.sender.send(record).is_err() {
                return Err(de::Error::custom("the records are no longer wanted"));
            }
        }
    }
}

/// Line bookkeeping shared by the reader wrapper and the visitor.
#[derive(Debug)]
struct Lines {
    /// The line of the byte read last (1-based).
    current: Cell<u64>,
    /// Whether the first significant byte after a boundary is still to come.
    waiting: Cell<bool>,
    /// The line of that byte, once seen.
    start: Cell<u64>,
}

impl Default for Lines {
    fn default() -> Self {
        Lines {
            current: Cell::new(1),
            waiting: Cell::new(false),
            start: Cell::new(1),
        }
    }
}

impl Lines {
    fn mark(&self) {
        self.waiting.set(true);
    }

    fn start(&self) -> u64 {
        self.start.get()
    }

    fn current(&self) -> u64 {
        self.current.get()
    }

    fn observe(&self, byte: u8) {
        if self.waiting.get() && !matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',') {
            self.waiting.set(false);
            self.start.set(self.current.get());
        }
        if byte == b'\n' {
            self.current.set(self.current.get() + 1);
        }
    }
}

/// Passes reads through, showing every byte to [`Lines`].
struct LineCounter<R> {
    inner: R,
    lines: Rc<Lines>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        for &byte in &buf[..read] {
            self.lines.observe(byte);
        }
        Ok(read)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;

    use chrono_tz::Tz;

    use super::super::open;
    use super::*;
    use crate::entry::Entry;

    fn write(dir: &tempfile::TempDir, content: &str) -> PathBuf {
        let path = dir.path().join("entries.json");
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Each record as "line: entry's user_id" or "line: reason".
    fn summary(records: impl Iterator<Item = Record>) -> Vec<String> {
        records
            .map(|record| match record {
                Record::Entry(origin, entry) => format!("{}: {}", origin.line, entry.user_id),
                Record::Invalid(origin, reason) | Record::Skipped(origin, reason) => {
                    format!("{}: {reason}", origin.line)
                }
            })
            .collect()
    }

    fn read(content: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, content);
        summary(open(&path, &ReadOptions::new(Tz::UTC)).unwrap())
    }

    #[test]
    fn a_json_array_yields_each_element_with_the_line_it_starts_on() {
        let content = "\u{feff}[\n  {\"user_id\": \"u-1\", \"date\": \"2025-03-03T09:00:00+01:00\",\n\
                       \"project\": \"P\", \"hours\": 2.5},\n\n  {\n    \"user_id\": \"u-2\",\n\
                       \"date\": \"2025-03-04T10:00:00Z\", \"project\": \"P\", \"hours\": 30\n  }\n\
                       , {\"user_id\": \"u-3\", \"date\": \"2025-03-05T10:00:00Z\", \
                       \"project\": \"P\", \"hours\": 1, \"minutes\": 3}, 17\n]\n";

        let records = read(content);

        assert_eq!(
            records,
            [
                "2: u-1",
                "5: hours must be greater than 0 and at most 24, got 30",
                "9: unknown field \"minutes\"",
                "9: an entry must be a JSON object, got 17",
            ]
        );
    }

    #[test]
    fn a_json_entry_has_all_its_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            r#"[{"user_id":"u","date":"2025-03-03T09:00:00+01:00","project":"P","hours":0.5,
                "description":"d","task":null,"billable":true}]"#,
        );

        let records: Vec<Record> = open(&path, &ReadOptions::new(Tz::UTC)).unwrap().collect();

        let expected = Entry {
            user_id: "u".into(),
            date: "2025-03-03T09:00:00+01:00".into(),
            project: "P".into(),
            hours: 0.5,
            description: Some("d".into()),
            task: None,
            billable: Some(true),
        };
        let file = Arc::from(path.display().to_string());
        assert_eq!(records, [Record::Entry(Origin { file, line: 1 }, expected)]);
    }

    #[test]
    fn malformed_json_ends_the_file_with_an_invalid_record_at_its_line() {
        let content = "[\n{\"user_id\":\"u\",\"date\":\"2025-03-03T09:00:00Z\",\"project\":\"P\",\"hours\":1},\n\
                       {\"user_id\": \"u\",\n \"hours\" 1},\n{\"user_id\":\"never read\"}]";

        let records = read(content);

        assert_eq!(
            records,
            [
                "2: u",
                "4: malformed JSON at column 10: expected `:`; nothing after it was read"
            ]
        );
    }

    #[test]
    fn a_json_file_that_is_not_an_array_is_one_invalid_record() {
        let records = read("\n{\"user_id\": \"u\"}");

        assert_eq!(
            records,
            [
                "2: malformed JSON at column 1: invalid type: map, expected a JSON array of entries; nothing after it was read"
            ]
        );
    }

    #[test]
    fn trailing_data_after_the_array_is_reported() {
        let records = read("[]\n[]");

        assert_eq!(
            records,
            ["2: malformed JSON at column 1: trailing characters; nothing after it was read"]
        );
    }

    #[test]
    fn a_large_array_streams_through_the_bounded_channel_and_can_be_abandoned() {
        let element = r#"{"user_id":"u","date":"2025-03-03T09:00:00Z","project":"P","hours":1}"#;
        let content = format!("[{}]", vec![element; 10 * IN_FLIGHT].join(",\n"));
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, &content);

        let mut records = open(&path, &ReadOptions::new(Tz::UTC)).unwrap();
        let first_two: Vec<String> = summary(records.by_ref().take(2));
        drop(records);
        let all = open(&path, &ReadOptions::new(Tz::UTC)).unwrap().count();

        assert_eq!(first_two, ["1: u", "2: u"]);
        assert_eq!(all, 10 * IN_FLIGHT);
    }
}
