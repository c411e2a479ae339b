//! The API's own record shape, shared by the JSON, NDJSON and native CSV
//! readers, and the checks the API will make.
//!
//! Each reader turns its syntax into [`Fields`] (catching wrong types and
//! unknown names), then [`Fields::into_entry`] applies the API's rules, so a
//! file is rejected here, with its line, for what the upload would reject
//! without one. The date is kept as written once it parses as RFC 3339: the
//! offset in it is the contractor's, and the API keys on it.

use chrono::DateTime;
use serde_json::Value;

use crate::entry::Entry;

/// The field names, in the order the API documents them.
pub(super) const NAMES: [&str; 7] = [
    "user_id",
    "date",
    "project",
    "hours",
    "description",
    "task",
    "billable",
];

/// The most hours one entry may have.
const MAX_HOURS: f64 = 24.0;

/// An entry's fields as read, before the API's checks; `None` for absent,
/// null or empty.
#[derive(Debug, Default)]
pub(super) struct Fields {
    pub(super) user_id: Option<String>,
    pub(super) date: Option<String>,
    pub(super) project: Option<String>,
    pub(super) hours: Option<f64>,
    pub(super) description: Option<String>,
    pub(super) task: Option<String>,
    pub(super) billable: Option<bool>,
}

impl Fields {
    /// The entry, if the fields pass the API's checks; `default_project`
    /// stands in for a missing project.
    pub(super) fn into_entry(self, default_project: Option<&str>) -> Result<Entry, String> {
        let user_id = non_empty(self.user_id).ok_or("user_id is missing or empty")?;
        let date = non_empty(self.date).ok_or("date is missing or empty")?;
        check_date(&date)?;
        let project = non_empty(self.project)
            .or_else(|| default_project.map(str::to_owned))
            .ok_or("project is missing or empty (pass --default-project to use one)")?;
        let hours = self.hours.ok_or("hours is missing or empty")?;
        check_hours(hours)?;
        Ok(Entry {
            user_id,
            date,
            project,
            hours,
            description: non_empty(self.description),
            task: non_empty(self.task),
            billable: self.billable,
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn check_date(date: &str) -> Result<(), String> {
    DateTime::parse_from_rfc3339(date).map(drop).map_err(|_| {
        format!("date \"{date}\" is not an RFC 3339 date-time such as 2025-03-03T09:00:00+01:00")
    })
}

/// Checks the API's bounds on hours: greater than 0, at most 24.
pub(super) fn check_hours(hours: f64) -> Result<(), String> {
    if hours > 0.0 && hours <= MAX_HOURS {
        Ok(())
    } else {
        Err(format!(
            "hours must be greater than 0 and at most 24, got {hours}"
        ))
    }
}

/// The fields of one JSON value, which must be an object of known fields
/// with the API's types (`null` counts as absent).
pub(super) fn from_json(value: Value) -> Result<Fields, String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "an entry must be a JSON object, got {}",
            describe(&value)
        ));
    };
    let mut fields = Fields::default();
    for (name, value) in object {
        match name.as_str() {
            "user_id" => fields.user_id = string(&name, value)?,
            "date" => fields.date = string(&name, value)?,
            "project" => fields.project = string(&name, value)?,
            "hours" => fields.hours = number(&name, &value)?,
            "description" => fields.description = string(&name, value)?,
            "task" => fields.task = string(&name, value)?,
            "billable" => fields.billable = boolean(&name, &value)?,
            _ => return Err(format!("unknown field \"{name}\"")),
        }
    }
    Ok(fields)
}

fn string(name: &str, value: Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(format!("{name} must be a string, got {}", describe(&other))),
    }
}

fn number(name: &str, value: &Value) -> Result<Option<f64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        other => Err(format!("{name} must be a number, got {}", describe(other))),
    }
}

fn boolean(name: &str, value: &Value) -> Result<Option<bool>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(format!(
            "{name} must be true or false, got {}",
            describe(other)
        )),
    }
}

/// A short rendering of a JSON value for a message: scalars as written,
/// containers by kind, so a stray object does not flood the report.
fn describe(value: &Value) -> String {
    match value {
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        scalar => scalar.to_string(),
    }
}

/// A reason for a serde_json syntax error: its message with the column, but
/// not the " at line L column C" serde_json ends it with, as the record's
/// origin has the line.
pub(super) fn malformed(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&suffix) {
        Some(code) if error.column() > 0 => {
            format!("malformed JSON at column {}: {code}", error.column())
        }
        Some(code) => format!("malformed JSON: {code}"),
        None => format!("malformed JSON: {message}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(value: Value) -> Result<Entry, String> {
        from_json(value)?.into_entry(None)
    }

    #[test]
    fn a_complete_object_becomes_an_entry_with_the_date_as_written() {
        let value = json!({
            "user_id": "u-1", "date": "2025-03-03T09:00:00+01:00", "project": "P",
            "hours": 1.5, "description": "d", "task": "t", "billable": false
        });

        let entry = entry(value).unwrap();

        assert_eq!(
            entry,
            Entry {
                user_id: "u-1".into(),
                date: "2025-03-03T09:00:00+01:00".into(),
                project: "P".into(),
                hours: 1.5,
                description: Some("d".into()),
                task: Some("t".into()),
                billable: Some(false),
            }
        );
    }

    #[test]
    fn hours_out_of_bounds_are_rejected_with_the_value() {
        let base = json!({"user_id": "u", "date": "2025-03-03T09:00:00Z", "project": "P"});
        let with = |hours: Value| {
            let mut value = base.clone();
            value["hours"] = hours;
            entry(value)
        };

        assert_eq!(
            with(json!(30)).unwrap_err(),
            "hours must be greater than 0 and at most 24, got 30"
        );
        assert_eq!(
            with(json!(0)).unwrap_err(),
            "hours must be greater than 0 and at most 24, got 0"
        );
        assert_eq!(
            with(json!("2")).unwrap_err(),
            "hours must be a number, got \"2\""
        );
        assert!(with(json!(24)).is_ok());
    }

    #[test]
    fn a_date_without_an_offset_is_rejected() {
        let value = json!({"user_id": "u", "date": "2025-03-03", "project": "P", "hours": 1});

        let reason = entry(value).unwrap_err();

        assert!(
            reason.starts_with("date \"2025-03-03\" is not an RFC 3339"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_fields_and_empty_required_fields_are_named() {
        let unknown = json!({"user_id": "u", "date": "2025-03-03T09:00:00Z", "minutes": 5});
        let empty = json!({"user_id": " ", "date": "2025-03-03T09:00:00Z", "project": "P"});

        assert_eq!(entry(unknown).unwrap_err(), "unknown field \"minutes\"");
        assert_eq!(entry(empty).unwrap_err(), "user_id is missing or empty");
    }

    #[test]
    fn a_missing_project_takes_the_default_when_there_is_one() {
        let value = json!({"user_id": "u", "date": "2025-03-03T09:00:00Z", "hours": 1});

        let entry = from_json(value)
            .unwrap()
            .into_entry(Some("Internal"))
            .unwrap();

        assert_eq!(entry.project, "Internal");
    }

    #[test]
    fn a_value_that_is_not_an_object_is_rejected_by_kind() {
        assert_eq!(
            entry(json!([1])).unwrap_err(),
            "an entry must be a JSON object, got an array"
        );
        assert_eq!(
            entry(json!(7)).unwrap_err(),
            "an entry must be a JSON object, got 7"
        );
    }
}
