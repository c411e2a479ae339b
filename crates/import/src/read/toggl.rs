//! Toggl Track's Detailed report, "Download as CSV".
//!
//! The format, from real exports (see the samples' README): a UTF-8 BOM,
//! then the header `User,Email,Client,Project,Task,Description,Billable,
//! Start date,Start time,End date,End time,Duration,Tags,Amount (USD)`,
//! minimal RFC 4180 quoting, quoted fields that may span lines.
//!
//! Decisions:
//!
//! - Columns are found by name (ignoring case); those not needed are
//!   ignored, so `Amount (EUR)` or an extra column changes nothing.
//! - `hours` comes from `Duration` (`H+:MM:SS`), never from End minus Start:
//!   across a DST change the wall-clock difference is off by an hour. It is
//!   rounded to 4 decimal places, like every reader's hours.
//! - `date` is Start date and Start time, local wall-clock time in the
//!   exporter's zone (Toggl writes no offset), as RFC 3339 with that zone's
//!   offset. A time the clocks skipped cannot have been recorded and is
//!   invalid; a time they passed twice is taken as the earlier instant,
//!   which is the guess a person reading the file would make too.
//! - The person is the Email, or the User (display name) when Email is
//!   empty, mapped through the user map when it has them.
//! - `Billable` follows the exporter's UI language, so `Yes`/`No` come
//!   translated (a real Japanese export says `いいえ`).

use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use chrono::offset::LocalResult;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use csv::StringRecord;

use super::csv_rows::{CsvRows, field};
use super::{OpenError, ReadOptions, Records, UserMap, column};
use crate::entry::Entry;

/// Header names only Toggl uses; any one of them makes a `.csv` a Toggl file.
const TOGGL_NAMES: [&str; 5] = ["Email", "User", "Start date", "Start time", "Duration"];

/// `Billable` values meaning yes, lower-case, in the languages Toggl's UI
/// speaks and then some.
const YES: [&str; 9] = ["yes", "true", "1", "はい", "ja", "oui", "sí", "si", "sì"];

/// `Billable` values meaning no, lower-case.
const NO: [&str; 7] = ["no", "false", "0", "いいえ", "nein", "non", "não"];

/// The longest entry the API takes, in seconds.
const MAX_SECONDS: u64 = 24 * 3600;

/// Whether a CSV header is Toggl's rather than the API's own.
pub(super) fn is_toggl_header(header: &[String]) -> bool {
    TOGGL_NAMES.iter().any(|name| column(header, name).is_some())
}

/// Records from the rows after a Toggl `header`.
pub(super) fn records(
    reader: csv::Reader<BufReader<File>>,
    header: &[String],
    file: Arc<str>,
    options: &ReadOptions,
) -> Result<Records, OpenError> {
    let rows = Rows {
        columns: Columns::from_header(header, &file)?,
        tz: options.tz,
        user_map: options.user_map.clone(),
        default_project: options.default_project.clone(),
    };
    Ok(Records::new(CsvRows::new(reader, file, move |row: &StringRecord| rows.entry(row))))
}

/// Where the columns this reader uses are.
struct Columns {
    user: Option<usize>,
    email: Option<usize>,
    project: usize,
    task: Option<usize>,
    description: Option<usize>,
    billable: Option<usize>,
    start_date: usize,
    start_time: usize,
    duration: usize,
}

impl Columns {
    fn from_header(header: &[String], file: &str) -> Result<Self, OpenError> {
        let required = |name: &str| {
            column(header, name).ok_or_else(|| OpenError::MissingColumn {
                file: file.to_owned(),
                column: name.to_owned(),
            })
        };
        let columns = Columns {
            user: column(header, "User"),
            email: column(header, "Email"),
            project: required("Project")?,
            task: column(header, "Task"),
            description: column(header, "Description"),
            billable: column(header, "Billable"),
            start_date: required("Start date")?,
            start_time: required("Start time")?,
            duration: required("Duration")?,
        };
        if columns.user.is_none() && columns.email.is_none() {
            return Err(OpenError::MissingUserColumn { file: file.to_owned() });
        }
        Ok(columns)
    }
}

/// Maps a Toggl row to an entry.
struct Rows {
    columns: Columns,
    tz: Tz,
    user_map: Option<Arc<UserMap>>,
    default_project: Option<String>,
}

impl Rows {
    fn entry(&self, row: &StringRecord) -> Result<Entry, String> {
        let columns = &self.columns;
        let user_id = self.user_id(row)?;
        let project = self.project(row)?;
        let date = start(
            field(row, Some(columns.start_date)),
            field(row, Some(columns.start_time)),
            self.tz,
        )?;
        let hours = hours(field(row, Some(columns.duration)))?;
        let billable = optional(field(row, columns.billable)).map(billable).transpose()?;
        Ok(Entry {
            user_id,
            date,
            project,
            hours,
            description: optional(field(row, columns.description)).map(one_newline_style),
            task: optional(field(row, columns.task)).map(str::to_owned),
            billable,
        })
    }

    fn user_id(&self, row: &StringRecord) -> Result<String, String> {
        let identity = optional(field(row, self.columns.email))
            .or_else(|| optional(field(row, self.columns.user)))
            .ok_or("email and user are both empty")?;
        let mapped = self.user_map.as_ref().and_then(|map| map.get(identity));
        Ok(mapped.unwrap_or(identity).to_owned())
    }

    fn project(&self, row: &StringRecord) -> Result<String, String> {
        optional(field(row, Some(self.columns.project)))
            .or(self.default_project.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| "project is empty (pass --default-project to use one)".to_owned())
    }
}

fn optional(value: &str) -> Option<&str> {
    Some(value).filter(|v| !v.is_empty())
}

/// A description with the CRLF of a CRLF file's multi-line field as LF, so
/// the text does not depend on the exporter's line endings.
fn one_newline_style(description: &str) -> String {
    description.replace("\r\n", "\n")
}

/// The start as RFC 3339 with the offset `tz` has at that wall-clock time.
fn start(date: &str, time: &str, tz: Tz) -> Result<String, String> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| format!("start date \"{date}\" is not YYYY-MM-DD"))?;
    let clock = NaiveTime::parse_from_str(time, "%H:%M:%S")
        .map_err(|_| format!("start time \"{time}\" is not HH:MM:SS"))?;
    let local = NaiveDateTime::new(day, clock);
    let instant = match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant,
        LocalResult::Ambiguous(earlier, _later) => earlier,
        LocalResult::None => {
            return Err(format!(
                "start {date} {time} does not exist in {tz}: the clocks skip it at the DST change"
            ));
        }
    };
    Ok(instant.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// Hours from a `H+:MM:SS` duration, rounded to 4 decimal places.
fn hours(duration: &str) -> Result<f64, String> {
    let seconds = seconds(duration).ok_or_else(|| format!("duration \"{duration}\" is not HH:MM:SS"))?;
    if seconds == 0 {
        return Err(format!("duration \"{duration}\" is zero"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!("duration \"{duration}\" is over 24 hours, the most the API takes"));
    }
    // At most 86 400, so exact in an f64.
    let hours = seconds as f64 / 3600.0;
    Ok((hours * 10_000.0).round() / 10_000.0)
}

/// The seconds in `H+:MM:SS`; `None` when it is not that shape.
fn seconds(duration: &str) -> Option<u64> {
    let mut parts = duration.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |part: &str, digits: std::ops::RangeInclusive<usize>| {
        let all_digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        (all_digits && digits.contains(&part.len())).then(|| part.parse::<u64>().ok()).flatten()
    };
    let (hours, minutes, secs) = (number(h, 1..=9)?, number(m, 2..=2)?, number(s, 2..=2)?);
    (minutes < 60 && secs < 60).then_some(hours * 3600 + minutes * 60 + secs)
}

/// A localised yes or no; compared ignoring case.
fn billable(value: &str) -> Result<bool, String> {
    let lower = value.to_lowercase();
    if YES.contains(&lower.as_str()) {
        Ok(true)
    } else if NO.contains(&lower.as_str()) {
        Ok(false)
    } else {
        Err(format!("billable \"{value}\" is neither yes nor no"))
    }
}
