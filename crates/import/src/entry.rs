//! What every reader yields: time entries in the API's own vocabulary, each
//! tagged with where in which file it came from.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// One time entry, shaped as `POST /timesheets/upload` takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The employee or contractor the hours belong to.
    pub user_id: String,
    /// Start of the work, RFC 3339 with the offset of the exporter's zone.
    pub date: String,
    pub project: String,
    /// Elapsed time in hours, rounded to 4 decimal places.
    pub hours: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
}

/// A place in an input file: the file as the user named it, and the line
/// (1-based) where the record starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One item read from an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An entry to upload.
    Entry(Origin, Entry),
    /// A row that must not be uploaded and is no error, such as a running
    /// timer; the reason says which.
    Skipped(Origin, String),
    /// A row that cannot be used; the reason names the field and the problem
    /// ("duration \"1:xx\" is not HH:MM:SS").
    Invalid(Origin, String),
}
