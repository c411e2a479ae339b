//! CSV with the API's own field names as the header, in any order.
//!
//! The header is checked strictly, because a misspelt column would
//! otherwise drop its values silently: every column must be one of the API's
//! fields, none twice, and `user_id`, `date`, `project` and `hours` must be
//! there. Names are matched exactly (after trimming), as the API spells them.
//! An empty value counts as absent.

use std::sync::Arc;

use csv::StringRecord;

use super::csv_rows::{CsvRows, field};
use super::native::{Fields, NAMES};
use super::{CsvFile, OpenError, ReadOptions, Records};

/// The columns every native CSV file must have.
const REQUIRED: [&str; 4] = ["user_id", "date", "project", "hours"];

/// Where each of [`NAMES`] is in the header.
struct Columns([Option<usize>; NAMES.len()]);

impl Columns {
    fn from_header(header: &[String], file: &str) -> Result<Self, OpenError> {
        let mut columns = [None; NAMES.len()];
        for (index, name) in header.iter().enumerate() {
            let Some(slot) = NAMES.iter().position(|known| known == name) else {
                return Err(OpenError::UnknownColumn {
                    file: file.into(),
                    column: name.clone(),
                });
            };
            if columns[slot].replace(index).is_some() {
                return Err(OpenError::DuplicateColumn {
                    file: file.into(),
                    column: name.clone(),
                });
            }
        }
        let columns = Columns(columns);
        match REQUIRED
            .into_iter()
            .find(|name| columns.index(name).is_none())
        {
            Some(missing) => Err(OpenError::MissingColumn {
                file: file.into(),
                column: missing.into(),
            }),
            None => Ok(columns),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        NAMES
            .iter()
            .position(|known| *known == name)
            .and_then(|slot| self.0[slot])
    }

    fn text(&self, row: &StringRecord, name: &str) -> Option<String> {
        Some(field(row, self.index(name)).to_owned()).filter(|value| !value.is_empty())
    }

    fn fields(&self, row: &StringRecord) -> Result<Fields, String> {
        Ok(Fields {
            user_id: self.text(row, "user_id"),
            date: self.text(row, "date"),
            project: self.text(row, "project"),
            hours: self.text(row, "hours").map(|v| hours(&v)).transpose()?,
            description: self.text(row, "description"),
            task: self.text(row, "task"),
            billable: self
                .text(row, "billable")
                .map(|v| billable(&v))
                .transpose()?,
        })
    }
}

fn hours(value: &str) -> Result<f64, String> {
    value
        .parse()
        .map_err(|_| format!("hours must be a number, got \"{value}\""))
}

fn billable(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!(
            "billable must be true, false, yes, no, 1 or 0, got \"{value}\""
        )),
    }
}

/// Records from the rows of a native CSV file.
pub(super) fn records(
    csv: CsvFile,
    file: Arc<str>,
    options: &ReadOptions,
) -> Result<Records, OpenError> {
    let columns = Columns::from_header(&csv.header, &file)?;
    let default_project = options.default_project.clone();
    let rows = CsvRows::new(csv, file, move |row: &StringRecord| {
        columns.fields(row)?.into_entry(default_project.as_deref())
    });
    Ok(Records::new(rows))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use chrono_tz::Tz;

    use super::super::open;
    use super::*;
    use crate::entry::{Entry, Origin, Record};

    fn write(dir: &tempfile::TempDir, content: &str) -> std::path::PathBuf {
        let path = dir.path().join("entries.csv");
        std::fs::write(&path, content).unwrap();
        path
    }

    fn read(path: &Path) -> Vec<Record> {
        open(path, &ReadOptions::new(Tz::UTC)).unwrap().collect()
    }

    #[test]
    fn native_csv_columns_are_read_by_name_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "hours,project,user_id,date,billable,task\n\
             1.25,Audit,u-7,2025-03-03T09:00:00+01:00,yes,Review\n\
             2,Audit,u-8,2025-03-04T10:00:00Z,,\n",
        );
        let file: Arc<str> = Arc::from(path.display().to_string());

        let records = read(&path);

        let first = Entry {
            user_id: "u-7".into(),
            date: "2025-03-03T09:00:00+01:00".into(),
            project: "Audit".into(),
            hours: 1.25,
            description: None,
            task: Some("Review".into()),
            billable: Some(true),
        };
        let second = Entry {
            user_id: "u-8".into(),
            date: "2025-03-04T10:00:00Z".into(),
            hours: 2.0,
            task: None,
            billable: None,
            ..first.clone()
        };
        assert_eq!(
            records,
            vec![
                Record::Entry(
                    Origin {
                        file: Arc::clone(&file),
                        line: 2
                    },
                    first
                ),
                Record::Entry(Origin { file, line: 3 }, second),
            ]
        );
    }

    #[test]
    fn native_csv_rows_that_break_the_api_rules_are_invalid_and_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "user_id,date,project,hours,billable\n\
             u,2025-03-03T09:00:00Z,P,30,\n\
             u,2025-03-03T09:00:00Z,P,abc,\n\
             u,2025-03-03T09:00:00Z,P,1,maybe\n\
             u,2025-03-03T09:00:00Z,P,1\n\
             u,2025-03-03T09:00:00Z,P,1,0\n",
        );

        let records = read(&path);

        let reasons: Vec<_> = records
            .iter()
            .map(|record| match record {
                Record::Invalid(origin, reason) => format!("{}: {reason}", origin.line),
                Record::Entry(origin, _) => format!("{}: entry", origin.line),
                Record::Skipped(origin, _) => format!("{}: skipped", origin.line),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "2: hours must be greater than 0 and at most 24, got 30",
                "3: hours must be a number, got \"abc\"",
                "4: billable must be true, false, yes, no, 1 or 0, got \"maybe\"",
                "5: the row has 4 fields, the header has 5",
                "6: entry",
            ]
        );
    }

    #[test]
    fn an_unknown_native_column_is_an_open_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "user_id,date,project,hours,minutes\n");

        let error = open(&path, &ReadOptions::new(Tz::UTC)).unwrap_err();

        assert!(
            error.to_string().starts_with(&format!(
                "reading {}: unknown column \"minutes\"",
                path.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn a_native_header_without_hours_is_an_open_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "user_id,date,project\n");

        let error = open(&path, &ReadOptions::new(Tz::UTC)).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!(
                "reading {}: the header has no \"hours\" column",
                path.display()
            )
        );
    }

    #[test]
    fn a_native_header_naming_a_column_twice_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "user_id,date,project,hours,date\n");

        let error = open(&path, &ReadOptions::new(Tz::UTC)).unwrap_err();

        assert!(matches!(error, OpenError::DuplicateColumn { ref column, .. } if column == "date"));
    }
}
