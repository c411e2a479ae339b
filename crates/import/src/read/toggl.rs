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
//!   rounded to 4 decimal places. Any number of hour digits parses, but a
//!   duration over 24 hours is invalid here, with its line, because the API
//!   would refuse it without one.
//! - `date` is Start date and Start time, local wall-clock time in the
//!   exporter's zone (Toggl writes no offset), as RFC 3339 with that zone's
//!   offset. A time the clocks skipped cannot have been recorded and is
//!   invalid; a time they passed twice is taken as the earlier instant,
//!   which is the guess a person reading the file would make too.
//! - The person is the Email, or the User (display name) when Email is
//!   empty, mapped through the user map when it has them.
//! - `Billable` follows the exporter's UI language, so `Yes`/`No` come
//!   translated (a real Japanese export says `いいえ`).

use std::sync::Arc;

use chrono::offset::LocalResult;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use csv::StringRecord;

use super::csv_rows::{CsvRows, field};
use super::{CsvFile, OpenError, ReadOptions, Records, UserMap, column};
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
    TOGGL_NAMES
        .iter()
        .any(|name| column(header, name).is_some())
}

/// Records from the rows of a Toggl export.
pub(super) fn records(
    csv: CsvFile,
    file: Arc<str>,
    options: &ReadOptions,
) -> Result<Records, OpenError> {
    let rows = Rows {
        columns: Columns::from_header(&csv.header, &file)?,
        tz: options.tz,
        user_map: options.user_map.clone(),
        default_project: options.default_project.clone(),
    };
    Ok(Records::new(CsvRows::new(
        csv,
        file,
        move |row: &StringRecord| rows.entry(row),
    )))
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
            return Err(OpenError::MissingUserColumn {
                file: file.to_owned(),
            });
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
        let billable = optional(field(row, columns.billable))
            .map(billable)
            .transpose()?;
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
    let seconds =
        seconds(duration).ok_or_else(|| format!("duration \"{duration}\" is not HH:MM:SS"))?;
    if seconds == 0 {
        return Err(format!("duration \"{duration}\" is zero"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!(
            "duration \"{duration}\" is over 24 hours, the most the API takes"
        ));
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
        (all_digits && digits.contains(&part.len()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::open;
    use super::*;
    use crate::entry::{Origin, Record};

    const SAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/toggl.csv"
    );
    const EXAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/toggl-detailed-2025-03.csv"
    );
    const HEADER: &str = "User,Email,Client,Project,Task,Description,Billable,Start date,\
                          Start time,End date,End time,Duration,Tags,Amount (USD)";

    fn berlin() -> ReadOptions {
        ReadOptions::new(chrono_tz::Europe::Berlin)
    }

    fn read(path: &Path, options: &ReadOptions) -> Vec<Record> {
        open(path, options).unwrap().collect()
    }

    fn origin(path: &Path, line: u64) -> Origin {
        Origin {
            file: Arc::from(path.display().to_string()),
            line,
        }
    }

    fn write(dir: &tempfile::TempDir, content: &str) -> PathBuf {
        let path = dir.path().join("toggl.csv");
        std::fs::write(&path, content).unwrap();
        path
    }

    /// A one-row export with the sample's header and the given row.
    fn one_row(dir: &tempfile::TempDir, row: &str) -> Vec<Record> {
        read(
            &write(dir, &format!("\u{feff}{HEADER}\n{row}\n")),
            &berlin(),
        )
    }

    fn entry(user_id: &str, date: &str, project: &str, hours: f64) -> Entry {
        Entry {
            user_id: user_id.into(),
            date: date.into(),
            project: project.into(),
            hours,
            description: None,
            task: None,
            billable: None,
        }
    }

    const AVERY: &str = "avery.quill@example.com";
    const BRAM: &str = "bram.okonkwo@example.org";
    const EMILIE: &str = "emilie.fournier@example.fr";

    /// The shared sample's records as the README's table gives them, each on
    /// the line its row starts on (row 4 spans lines 5 to 7), with `six` for
    /// row 6, the one without a project.
    fn sample_records(path: &Path, six: Record) -> Vec<Record> {
        let at = |line, entry| Record::Entry(origin(path, line), entry);
        vec![
            at(
                2,
                Entry {
                    user_id: AVERY.into(),
                    date: "2025-03-03T09:00:00+01:00".into(),
                    project: "Website Relaunch".into(),
                    hours: 2.5,
                    description: Some("Homepage wireframes".into()),
                    task: Some("Design".into()),
                    billable: Some(true),
                },
            ),
            at(
                3,
                Entry {
                    user_id: AVERY.into(),
                    date: "2025-03-03T13:15:00+01:00".into(),
                    project: "Support Retainer".into(),
                    hours: 0.425,
                    description: Some("Call with ops, re: invoice #4411".into()),
                    task: None,
                    billable: Some(false),
                },
            ),
            at(
                4,
                Entry {
                    user_id: BRAM.into(),
                    date: "2025-03-04T22:45:00+01:00".into(),
                    project: "POS Integration".into(),
                    hours: 2.5,
                    description: Some("Fix \"rounding\" bug in VAT totals".into()),
                    task: Some("Backend".into()),
                    billable: Some(true),
                },
            ),
            at(
                5,
                Entry {
                    user_id: BRAM.into(),
                    date: "2025-03-05T10:00:00+01:00".into(),
                    project: "POS Integration".into(),
                    hours: 0.75,
                    description: Some("Deploy checklist:\n- migrate DB\n- smoke test".into()),
                    task: Some("Ops".into()),
                    billable: Some(true),
                },
            ),
            at(
                8,
                Entry {
                    user_id: EMILIE.into(),
                    date: "2025-03-06T08:05:12+01:00".into(),
                    project: "Contract Review".into(),
                    hours: 1.21,
                    description: Some("Révision des clauses – NDA".into()),
                    task: None,
                    billable: Some(true),
                },
            ),
            six,
            at(
                10,
                Entry {
                    user_id: BRAM.into(),
                    date: "2025-03-07T09:00:00+01:00".into(),
                    project: "Website Relaunch".into(),
                    hours: 8.75,
                    description: Some("API pagination".into()),
                    task: Some("Backend".into()),
                    billable: Some(true),
                },
            ),
            // The DST night: Duration says one hour where the wall clock
            // says two.
            at(
                11,
                Entry {
                    user_id: EMILIE.into(),
                    date: "2025-03-30T01:30:00+01:00".into(),
                    project: "Contract Review".into(),
                    hours: 1.0,
                    description: Some("Weekend filing (DST night)".into()),
                    task: None,
                    billable: Some(true),
                },
            ),
        ]
    }

    #[test]
    fn the_shared_toggl_sample_reads_as_the_readme_table_says() {
        let path = Path::new(SAMPLE);

        let records = read(path, &berlin());

        let six = Record::Invalid(
            origin(path, 9),
            "project is empty (pass --default-project to use one)".into(),
        );
        assert_eq!(records, sample_records(path, six));
    }

    #[test]
    fn the_shared_toggl_sample_row_without_project_takes_the_default_project() {
        let path = Path::new(SAMPLE);
        let options = ReadOptions {
            default_project: Some("Internal".into()),
            ..berlin()
        };

        let records = read(path, &options);

        let six = Record::Entry(
            origin(path, 9),
            Entry {
                user_id: AVERY.into(),
                date: "2025-03-07T16:00:00+01:00".into(),
                project: "Internal".into(),
                hours: 0.3333,
                description: Some("Admin / timesheets".into()),
                task: None,
                billable: Some(false),
            },
        );
        assert_eq!(records, sample_records(path, six));
    }

    #[test]
    fn the_project_example_export_is_all_entries_on_its_starting_lines() {
        let path = Path::new(EXAMPLE);

        let records = read(path, &berlin());

        let lines: Vec<u64> = records
            .iter()
            .map(|record| match record {
                Record::Entry(origin, entry) => {
                    assert!(entry.hours > 0.0 && entry.hours <= 24.0, "{entry:?}");
                    origin.line
                }
                other => panic!("not an entry: {other:?}"),
            })
            .collect();
        assert_eq!(lines, [2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]);
    }

    #[test]
    fn a_csv_file_with_toggls_header_is_detected_as_toggl() {
        let dir = tempfile::tempdir().unwrap();

        let records = one_row(
            &dir,
            "A,a@example.com,,P,,,No,2025-03-03,09:00:00,,,01:00:00,,",
        );

        assert!(matches!(&records[..], [Record::Entry(_, entry)] if entry.project == "P"));
    }

    #[test]
    fn crlf_line_endings_read_like_lf_including_inside_quoted_fields() {
        let dir = tempfile::tempdir().unwrap();
        let content = format!(
            "\u{feff}{HEADER}\r\n\
             A,a@example.com,,P,,\"two\r\nlines\",Yes,2025-03-03,09:00:00,,,00:30:00,,\r\n\
             B,b@example.com,,Q,,,No,2025-03-04,10:00:00,,,00:15:00,,\r\n"
        );
        let path = write(&dir, &content);

        let records = read(&path, &berlin());

        assert_eq!(
            records,
            [
                Record::Entry(
                    origin(&path, 2),
                    Entry {
                        description: Some("two\nlines".into()),
                        billable: Some(true),
                        ..entry("a@example.com", "2025-03-03T09:00:00+01:00", "P", 0.5)
                    }
                ),
                Record::Entry(
                    origin(&path, 4),
                    Entry {
                        billable: Some(false),
                        ..entry("b@example.com", "2025-03-04T10:00:00+01:00", "Q", 0.25)
                    },
                ),
            ]
        );
    }

    #[test]
    fn a_toggl_header_without_duration_is_an_open_error_naming_the_column_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "User,Email,Project,Start date,Start time\n");

        let error = open(&path, &berlin()).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "reading {}: the header has no \"Duration\" column",
                path.display()
            )
        );
    }

    #[test]
    fn a_toggl_header_without_email_and_user_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "Project,Start date,Start time,Duration\n");

        let error = open(&path, &berlin()).unwrap_err();

        assert!(
            matches!(error, OpenError::MissingUserColumn { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_bad_or_zero_duration_is_invalid_naming_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let row = |duration: &str| {
            let row = format!("A,a@example.com,,P,,,,2025-03-03,09:00:00,,,{duration},,");
            match &one_row(&dir, &row)[..] {
                [Record::Invalid(origin, reason)] if origin.line == 2 => reason.clone(),
                other => panic!("not one invalid record: {other:?}"),
            }
        };

        assert_eq!(row("1:xx:00"), "duration \"1:xx:00\" is not HH:MM:SS");
        assert_eq!(row("01:30"), "duration \"01:30\" is not HH:MM:SS");
        assert_eq!(row("01:60:00"), "duration \"01:60:00\" is not HH:MM:SS");
        assert_eq!(row("00:00:00"), "duration \"00:00:00\" is zero");
        assert_eq!(
            row("100:00:00"),
            "duration \"100:00:00\" is over 24 hours, the most the API takes"
        );
    }

    #[test]
    fn durations_are_hours_rounded_to_four_places_with_any_number_of_hour_digits() {
        assert_eq!(hours("00:20:00"), Ok(0.3333));
        assert_eq!(hours("00:25:30"), Ok(0.425));
        assert_eq!(hours("01:12:36"), Ok(1.21));
        assert_eq!(hours("1:00:01"), Ok(1.0003));
        assert_eq!(hours("024:00:00"), Ok(24.0));
        assert_eq!(seconds("123:00:00"), Some(442_800));
    }

    #[test]
    fn a_start_in_the_dst_gap_is_invalid() {
        let dir = tempfile::tempdir().unwrap();

        let records = one_row(
            &dir,
            "A,a@example.com,,P,,,,2025-03-30,02:30:00,,,01:00:00,,",
        );

        assert_eq!(
            records,
            [Record::Invalid(
                origin(&dir.path().join("toggl.csv"), 2),
                "start 2025-03-30 02:30:00 does not exist in Europe/Berlin: \
                 the clocks skip it at the DST change"
                    .into(),
            )]
        );
    }

    #[test]
    fn a_start_in_the_dst_fold_is_the_earlier_instant() {
        let date = start("2025-10-26", "02:30:00", chrono_tz::Europe::Berlin);

        assert_eq!(date, Ok("2025-10-26T02:30:00+02:00".to_owned()));
    }

    #[test]
    fn billable_is_read_in_the_exporters_language_ignoring_case() {
        for yes in ["Yes", "TRUE", "1", "はい", "Ja", "oui", "Sí", "si"] {
            assert_eq!(billable(yes), Ok(true), "{yes}");
        }
        for no in ["No", "false", "0", "いいえ", "NEIN", "Non"] {
            assert_eq!(billable(no), Ok(false), "{no}");
        }
        assert_eq!(
            billable("maybe"),
            Err("billable \"maybe\" is neither yes nor no".into())
        );
    }

    #[test]
    fn the_user_map_replaces_the_email_and_the_user_stands_in_for_an_empty_email() {
        let dir = tempfile::tempdir().unwrap();
        let map_path = dir.path().join("users.csv");
        std::fs::write(&map_path, "email,user_id\nA@Example.com,u-1\n").unwrap();
        let content = format!(
            "{HEADER}\n\
             A,a@example.com,,P,,,,2025-03-03,09:00:00,,,01:00:00,,\n\
             Bo Brandt,,,P,,,,2025-03-03,09:00:00,,,01:00:00,,\n\
             C,c@example.com,,P,,,,2025-03-03,09:00:00,,,01:00:00,,\n"
        );
        let path = write(&dir, &content);
        let options = ReadOptions {
            user_map: Some(Arc::new(UserMap::load(&map_path).unwrap())),
            ..berlin()
        };

        let records = read(&path, &options);

        let users: Vec<&str> = records
            .iter()
            .map(|record| match record {
                Record::Entry(_, entry) => entry.user_id.as_str(),
                other => panic!("not an entry: {other:?}"),
            })
            .collect();
        assert_eq!(users, ["u-1", "Bo Brandt", "c@example.com"]);
    }

    #[test]
    fn a_row_with_the_wrong_number_of_fields_is_invalid_and_the_next_row_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let content = format!(
            "{HEADER}\n\
             A,a@example.com,P\n\
             A,a@example.com,,P,,,,2025-03-03,09:00:00,,,01:00:00,,\n"
        );
        let path = write(&dir, &content);

        let records = read(&path, &berlin());

        assert!(
            matches!(
                &records[..],
                [Record::Invalid(bad, reason), Record::Entry(good, _)]
                    if bad.line == 2 && good.line == 3 && reason == "the row has 3 fields, the header has 14"
            ),
            "{records:?}"
        );
    }

    #[test]
    fn a_row_that_is_not_utf8_is_invalid_and_the_next_row_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.csv");
        let mut content = format!("{HEADER}\n").into_bytes();
        content
            .extend_from_slice(b"A,a@example.com,,Caf\xe9,,,,2025-03-03,09:00:00,,,01:00:00,,\n");
        content.extend_from_slice(b"A,a@example.com,,P,,,,2025-03-03,10:00:00,,,01:00:00,,\n");
        std::fs::write(&path, content).unwrap();

        let records = read(&path, &berlin());

        assert!(
            matches!(
                &records[..],
                [Record::Invalid(bad, reason), Record::Entry(good, _)]
                    if bad.line == 2 && good.line == 3 && reason == "field 4 is not valid UTF-8"
            ),
            "{records:?}"
        );
    }

    #[test]
    fn toggl_columns_may_come_in_any_order_and_need_not_all_be_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "Duration,Start time,Start date,Project,Email\n00:45:00,23:00:00,2025-03-31,P,a@x.net\n",
        );

        let records = read(&path, &berlin());

        assert_eq!(
            records,
            [Record::Entry(
                origin(&path, 2),
                entry("a@x.net", "2025-03-31T23:00:00+02:00", "P", 0.75)
            )]
        );
    }
}
