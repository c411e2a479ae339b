//! Errors that make a whole file (or the reader's set-up) unusable.
//!
//! A problem with one row is not an error here: it is a
//! [`Record::Invalid`](crate::Record::Invalid) and the reading goes on. What
//! is left for these types is what no row of the file can get past: the file
//! cannot be opened, its format is unknown, or its header lacks a column.
//!
//! Every message names the file. The underlying I/O or CSV error is part of
//! the message and deliberately not exposed as `source()`, so a caller that
//! prints the error with `{}` or with anyhow's `{:#}` shows it exactly once.

use std::io;

/// A file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file cannot be opened.
    #[error("opening {file}: {error}")]
    Open { file: String, error: io::Error },
    /// Reading the start of the file failed.
    #[error("reading {file}: {error}")]
    Io { file: String, error: io::Error },
    /// The CSV header (or the user map) cannot be read.
    #[error("reading {file}: {error}")]
    Csv { file: String, error: csv::Error },
    /// No format was given and the file name does not tell it.
    #[error(
        "{file}: cannot tell the format from the file name \
         (pass --format toggl-csv, json, ndjson or csv)"
    )]
    UnknownFormat { file: String },
    /// The header lacks a column the format requires.
    #[error("reading {file}: the header has no \"{column}\" column")]
    MissingColumn { file: String, column: String },
    /// A Toggl header with neither of the columns that identify the person.
    #[error("reading {file}: the header has neither an \"Email\" nor a \"User\" column")]
    MissingUserColumn { file: String },
    /// A native CSV header with a column the API does not know.
    #[error(
        "reading {file}: unknown column \"{column}\" \
         (the columns are user_id, date, project, hours, description, task, billable)"
    )]
    UnknownColumn { file: String, column: String },
    /// A header that names the same column twice.
    #[error("reading {file}: the header has the column \"{column}\" twice")]
    DuplicateColumn { file: String, column: String },
    /// A bad line in a user map.
    #[error("reading {file}:{line}: {reason}")]
    UserMap {
        file: String,
        line: u64,
        reason: String,
    },
    /// The thread that parses a JSON array cannot be started.
    #[error("reading {file}: cannot start the reader thread: {error}")]
    Thread { file: String, error: io::Error },
}

/// A `--format` value that names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format \"{name}\" (expected toggl-csv, json, ndjson or csv)")]
pub struct ParseFormatError {
    pub(super) name: String,
}

/// The machine's time zone cannot be used for local wall-clock times.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimeZoneError {
    /// The operating system did not tell the zone.
    #[error("cannot tell the machine's time zone ({error}); pass --tz, e.g. --tz Europe/Berlin")]
    Unknown {
        error: iana_time_zone::GetTimezoneError,
    },
    /// The operating system named a zone the IANA database does not have.
    #[error(
        "the machine's time zone \"{name}\" is not in the IANA database; \
         pass --tz, e.g. --tz Europe/Berlin"
    )]
    NotIana { name: String },
}
