//! Readers: each turns one export file into a stream of [`Record`]s.
//!
//! Decisions this module embodies:
//!
//! - **Streaming.** [`open`] reads only the header (or nothing) and returns an
//!   iterator that reads on demand, so memory stays at one record however big
//!   the file is. CSV goes through `csv::Reader` (which buffers by itself),
//!   NDJSON line by line, and a JSON array element by element on a thread of
//!   its own (see `json`).
//! - **Row problems are records, file problems are errors.** A row that
//!   cannot be used is [`Record::Invalid`] with file, line and a reason that
//!   names the field, and the reading goes on. Only what no row can get past
//!   (the file cannot be opened, the format is unknown, the header lacks a
//!   column) is an [`OpenError`] from [`open`].
//! - **Lines are where a record starts**, 1-based, counting every line of the
//!   file: the header is line 1, and a quoted field spanning three lines moves
//!   the rows after it by three.
//! - **Format detection** goes by the extension (`.json`, `.ndjson`/`.jsonl`,
//!   `.csv`, in any case); a `.csv` file whose header has one of Toggl's own
//!   column names (`Email`, `User`, `Start date`, `Start time`, `Duration`)
//!   is a Toggl export, anything else is the API's own CSV. Any one name is
//!   enough so that a Toggl file missing a column is told which one, instead
//!   of being read as native CSV with "unknown column" errors.
//! - A UTF-8 byte order mark at the start of any file is skipped: Toggl writes
//!   one, and other tools do when a spreadsheet saved the file.

mod csv_rows;
mod error;
mod json;
mod lines;
mod native;
mod native_csv;
mod ndjson;
mod toggl;
mod user_map;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use chrono_tz::Tz;

use crate::entry::Record;

pub use error::{OpenError, ParseFormatError, TimeZoneError};
pub use user_map::UserMap;

/// The formats [`open`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Toggl Track's Detailed report, "Download as CSV" (`toggl-csv`).
    TogglCsv,
    /// A JSON array of objects with the API's fields (`json`).
    Json,
    /// One JSON object with the API's fields per line (`ndjson`).
    Ndjson,
    /// CSV whose header names the API's fields (`csv`).
    Csv,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 4] = [Format::TogglCsv, Format::Json, Format::Ndjson, Format::Csv];

    /// The name `--format` takes and [`Display`](fmt::Display) writes.
    pub fn name(self) -> &'static str {
        match self {
            Format::TogglCsv => "toggl-csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses a format name, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseFormatError { name: s.to_owned() })
    }
}

/// How to read a file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The format; `None` (the default) detects it from the file name and,
    /// for `.csv`, the header.
    pub format: Option<Format>,
    /// The exporter's time zone, for formats that write local wall-clock
    /// times without an offset (Toggl CSV).
    pub tz: Tz,
    /// Maps the identity an export writes (Toggl: the email) to a `user_id`;
    /// an identity it does not map is used as the `user_id` as it is. Native
    /// formats carry a `user_id` already and are not mapped. Default: none.
    pub user_map: Option<Arc<UserMap>>,
    /// The project for a row without one; with `None` (the default) such a
    /// row is [`Record::Invalid`].
    pub default_project: Option<String>,
}

impl ReadOptions {
    /// Options that detect the format, map no users and have no default
    /// project.
    pub fn new(tz: Tz) -> Self {
        ReadOptions {
            format: None,
            tz,
            user_map: None,
            default_project: None,
        }
    }
}

/// The records of one file, read as they are asked for.
pub struct Records(Box<dyn Iterator<Item = Record> + Send>);

impl Records {
    fn new(records: impl Iterator<Item = Record> + Send + 'static) -> Self {
        Records(Box::new(records))
    }
}

impl Iterator for Records {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        self.0.next()
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records").finish_non_exhaustive()
    }
}

/// Opens an export and returns its records.
///
/// Only the header (for CSV) is read here; the rows are read as the
/// iterator is advanced. Each record's origin names the file as `path`
/// displays.
///
/// # Errors
///
/// When the file cannot be opened, its format is neither given nor told by
/// its name, or its header lacks a required column (or, for native CSV, has
/// one the API does not know).
pub fn open(path: &Path, options: &ReadOptions) -> Result<Records, OpenError> {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let format = match options.format {
        Some(format) => Some(format),
        None => format_from_name(path, &file)?,
    };
    match format {
        Some(Format::Json) => json::open(path, file, options),
        Some(Format::Ndjson) => ndjson::open(path, file, options),
        Some(Format::TogglCsv) => toggl::records(open_csv(path, &file)?, file, options),
        Some(Format::Csv) => native_csv::records(open_csv(path, &file)?, file, options),
        None => {
            let csv = open_csv(path, &file)?;
            if toggl::is_toggl_header(&csv.header) {
                toggl::records(csv, file, options)
            } else {
                native_csv::records(csv, file, options)
            }
        }
    }
}

/// The format a file name tells; `Ok(None)` for `.csv`, whose header decides.
fn format_from_name(path: &Path, file: &str) -> Result<Option<Format>, OpenError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "json" => Ok(Some(Format::Json)),
        "ndjson" | "jsonl" => Ok(Some(Format::Ndjson)),
        "csv" => Ok(None),
        _ => Err(OpenError::UnknownFormat {
            file: file.to_owned(),
        }),
    }
}

/// The machine's time zone, for when no `--tz` is given.
///
/// # Errors
///
/// When the operating system does not tell the zone or names one that is not
/// in the IANA database; the message suggests `--tz`.
pub fn machine_time_zone() -> Result<Tz, TimeZoneError> {
    let name = iana_time_zone::get_timezone().map_err(|error| TimeZoneError::Unknown { error })?;
    name.parse().map_err(|_| TimeZoneError::NotIana { name })
}

/// Opens a file for reading, past a UTF-8 byte order mark if it has one.
fn open_file(path: &Path, file: &str) -> Result<BufReader<File>, OpenError> {
    let handle = File::open(path).map_err(|error| OpenError::Open {
        file: file.to_owned(),
        error,
    })?;
    let mut reader = BufReader::new(handle);
    skip_bom(&mut reader).map_err(|error| OpenError::Io {
        file: file.to_owned(),
        error,
    })?;
    Ok(reader)
}

fn skip_bom(reader: &mut impl BufRead) -> io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    // A file shorter than the buffer's first fill is short enough that a
    // partial read cannot split the mark.
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(())
}

/// The CSV reader every CSV format reads through.
type CsvReader = csv::Reader<lines::Tracked<BufReader<File>>>;

/// A CSV file opened and read up to the end of its header.
struct CsvFile {
    reader: CsvReader,
    /// The header's names, trimmed.
    header: Vec<String>,
    lines: lines::LineIndex,
}

/// Opens a CSV file and reads its header.
fn open_csv(path: &Path, file: &str) -> Result<CsvFile, OpenError> {
    let (tracked, lines) = lines::tracked(open_file(path, file)?);
    let mut reader = csv::ReaderBuilder::new().from_reader(tracked);
    let header = reader
        .headers()
        .map_err(|error| OpenError::Csv {
            file: file.to_owned(),
            error,
        })?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    Ok(CsvFile {
        reader,
        header,
        lines,
    })
}

/// The index of a header column, ignoring case.
fn column(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|column| column.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip_through_display_and_from_str() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
        }
        assert_eq!("Toggl-CSV".parse::<Format>(), Ok(Format::TogglCsv));
    }

    #[test]
    fn an_unknown_format_name_is_an_error_listing_the_known_ones() {
        let error = "xml".parse::<Format>().unwrap_err();

        assert_eq!(
            error.to_string(),
            "unknown format \"xml\" (expected toggl-csv, json, ndjson or csv)"
        );
    }

    #[test]
    fn an_unknown_extension_without_a_format_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hours.txt");
        std::fs::write(&path, "user_id\n").unwrap();

        let error = open(&path, &ReadOptions::new(Tz::UTC)).unwrap_err();

        assert!(matches!(error, OpenError::UnknownFormat { .. }), "{error}");
        assert!(error.to_string().contains("--format"), "{error}");
    }

    #[test]
    fn a_missing_file_is_an_open_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.csv");

        let error = open(&path, &ReadOptions::new(Tz::UTC)).unwrap_err();

        assert!(
            error
                .to_string()
                .starts_with(&format!("opening {}: ", path.display()))
        );
    }

    #[test]
    fn extensions_choose_the_format_ignoring_case() {
        let file = "f";

        let json = format_from_name(Path::new("a.JSON"), file).unwrap();
        let jsonl = format_from_name(Path::new("a.jsonl"), file).unwrap();
        let ndjson = format_from_name(Path::new("a.ndjson"), file).unwrap();
        let csv = format_from_name(Path::new("a.Csv"), file).unwrap();

        assert_eq!(json, Some(Format::Json));
        assert_eq!(jsonl, Some(Format::Ndjson));
        assert_eq!(ndjson, Some(Format::Ndjson));
        assert_eq!(csv, None);
    }

    #[test]
    fn records_can_move_to_another_thread() {
        fn assert_send_static<T: Send + 'static>() {}

        assert_send_static::<Records>();
    }

    #[test]
    fn the_machine_time_zone_is_known_or_the_error_suggests_tz() {
        let zone = machine_time_zone();

        if let Err(error) = zone {
            assert!(error.to_string().contains("pass --tz"), "{error}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_other_starts_are_kept() {
        let mut with_bom: &[u8] = b"\xEF\xBB\xBFUser";
        let mut without: &[u8] = b"User";

        skip_bom(&mut with_bom).unwrap();
        skip_bom(&mut without).unwrap();

        assert_eq!(with_bom, b"User");
        assert_eq!(without, b"User");
    }
}
