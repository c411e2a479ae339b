//! Time entries: what the API accepts and what it keeps.
//!
//! A body is checked field by field from a JSON object rather than through a
//! derived `Deserialize`, so that every rejection names its field and says
//! what is wrong in words an uploader can act on.

use std::fmt;

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Value};

/// Longest `user_id`, `project` or `task`, in characters.
pub const MAX_NAME: usize = 256;
/// Longest `description`, in characters.
pub const MAX_DESCRIPTION: usize = 4096;
/// Most hours one entry may hold.
pub const MAX_HOURS: f64 = 24.0;

/// An entry that passed every check and is ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub user_id: String,
    /// RFC 3339, normalised (`Z` for UTC), with the offset as given.
    pub date: String,
    pub project: String,
    pub hours: f64,
    pub description: Option<String>,
    pub task: Option<String>,
    pub billable: Option<bool>,
}

/// A stored entry, as the API answers with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub user_id: String,
    pub date: String,
    pub project: String,
    pub hours: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
}

/// Why a body was refused: the field (if one is to blame) and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Invalid {
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            message: message.into(),
        }
    }
}

const FIELDS: [&str; 7] = [
    "user_id",
    "date",
    "project",
    "hours",
    "description",
    "task",
    "billable",
];

impl NewEntry {
    /// Parses and checks a request body.
    pub fn from_body(body: &[u8]) -> Result<Self, Invalid> {
        let parsed: Members = serde_json::from_slice(body).map_err(|e| Invalid {
            field: None,
            message: match e.classify() {
                Category::Data => "the body must be a JSON object".into(),
                _ => format!("the body is not valid JSON: {e}"),
            },
        })?;
        if let Some(name) = parsed.repeated {
            let field = FIELDS.into_iter().find(|f| *f == name);
            return Err(Invalid {
                field,
                message: format!("field {name:?} appears more than once"),
            });
        }
        Self::from_json(Value::Object(parsed.members))
    }

    /// Checks a decoded JSON body.
    pub fn from_json(value: Value) -> Result<Self, Invalid> {
        let Value::Object(mut object) = value else {
            return Err(Invalid {
                field: None,
                message: "the body must be a JSON object".into(),
            });
        };
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(Invalid {
                field: None,
                message: format!(
                    "unknown field {unknown:?}; the fields are {}",
                    FIELDS.join(", ")
                ),
            });
        }
        Ok(Self {
            user_id: required_text(&mut object, "user_id", MAX_NAME)?,
            date: date(&mut object)?,
            project: required_text(&mut object, "project", MAX_NAME)?,
            hours: hours(&mut object)?,
            description: optional_text(&mut object, "description", MAX_DESCRIPTION)?,
            task: optional_text(&mut object, "task", MAX_NAME)?,
            billable: billable(&mut object)?,
        })
    }
}

fn required_text(
    object: &mut Map<String, Value>,
    field: &'static str,
    max: usize,
) -> Result<String, Invalid> {
    match optional_text(object, field, max)? {
        Some(text) => Ok(text),
        None => Err(Invalid::field(field, format!("{field} is required"))),
    }
}

/// A string field; absent, null and blank all count as absent.
fn optional_text(
    object: &mut Map<String, Value>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, Invalid> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => Err(Invalid::field(
            field,
            format!("{field} is longer than {max} characters"),
        )),
        Some(Value::String(s)) if s.chars().any(|c| is_forbidden(field, c)) => Err(Invalid::field(
            field,
            format!("{field} contains a control or text-direction character"),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Invalid::field(
            field,
            format!("{field} must be a string, got {}", kind(&other)),
        )),
    }
}

/// Control characters, line and paragraph separators and the invisible
/// text-direction overrides have no place in a name: they would let a
/// stored value forge lines, or show other text than it holds, wherever it
/// is printed. A description may span lines.
fn is_forbidden(field: &str, c: char) -> bool {
    let unsafe_char = c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    unsafe_char && !(field == "description" && matches!(c, '\n' | '\r' | '\t'))
}

fn date(object: &mut Map<String, Value>) -> Result<String, Invalid> {
    let text = required_text(object, "date", MAX_NAME)?;
    let parsed = DateTime::parse_from_rfc3339(&text).map_err(|_| {
        Invalid::field(
            "date",
            format!("date {text:?} is not an RFC 3339 date-time such as 2017-05-10T17:40:20.095Z"),
        )
    })?;
    Ok(parsed.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn hours(object: &mut Map<String, Value>) -> Result<f64, Invalid> {
    let hours = match object.remove("hours") {
        None | Some(Value::Null) => return Err(Invalid::field("hours", "hours is required")),
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return Err(Invalid::field(
                "hours",
                format!("hours must be a number, got {}", kind(&other)),
            ));
        }
    };
    match hours {
        Some(h) if h > 0.0 && h <= MAX_HOURS => Ok(h),
        Some(h) => Err(Invalid::field(
            "hours",
            format!("hours must be greater than 0 and at most 24, got {h}"),
        )),
        None => Err(Invalid::field("hours", "hours is not a finite number")),
    }
}

fn billable(object: &mut Map<String, Value>) -> Result<Option<bool>, Invalid> {
    match object.remove("billable") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(Invalid::field(
            "billable",
            format!("billable must be true or false, got {}", kind(&other)),
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object's members, and the first name that appeared twice.
/// serde_json's own map keeps the last of two equal names, so a proxy or
/// log that read the first would see another entry than the one stored:
/// a repeated member is refused instead. Hand-written because neither
/// serde_json nor a maintained crate offers a duplicate-rejecting map.
struct Members {
    members: Map<String, Value>,
    repeated: Option<String>,
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut parsed = Members {
                    members: Map::new(),
                    repeated: None,
                };
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if parsed.members.contains_key(&name) && parsed.repeated.is_none() {
                        parsed.repeated = Some(name);
                    } else {
                        parsed.members.insert(name, value);
                    }
                }
                Ok(parsed)
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn the_seed_entry_is_accepted_as_sent() {
        let body = json!({"user_id": "007", "date": "2017-05-10T17:40:20.095Z",
                          "project": "StoreZero", "hours": 5});

        let entry = NewEntry::from_json(body).unwrap();

        assert_eq!(entry.user_id, "007");
        assert_eq!(entry.date, "2017-05-10T17:40:20.095Z");
        assert_eq!(entry.hours, 5.0);
        assert_eq!(entry.billable, None);
    }

    #[test]
    fn a_date_keeps_its_offset() {
        let body = json!({"user_id": "a", "date": "2025-03-03T09:00:00+01:00",
                          "project": "p", "hours": 1});

        assert_eq!(
            NewEntry::from_json(body).unwrap().date,
            "2025-03-03T09:00:00+01:00"
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                json!({"date": "2025-01-01T00:00:00Z", "project": "p", "hours": 1}),
                "user_id",
                "user_id is required",
            ),
            (
                json!({"user_id": "a", "date": "yesterday", "project": "p", "hours": 1}),
                "date",
                "date \"yesterday\" is not an RFC 3339 date-time such as 2017-05-10T17:40:20.095Z",
            ),
            (
                json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": " ", "hours": 1}),
                "project",
                "project is required",
            ),
            (
                json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p", "hours": 0}),
                "hours",
                "hours must be greater than 0 and at most 24, got 0",
            ),
            (
                json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p", "hours": 24.5}),
                "hours",
                "hours must be greater than 0 and at most 24, got 24.5",
            ),
            (
                json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p", "hours": "5"}),
                "hours",
                "hours must be a number, got a string",
            ),
            (
                json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p", "hours": 1,
                    "billable": "yes"}),
                "billable",
                "billable must be true or false, got a string",
            ),
        ];

        for (body, field, message) in cases {
            let error = NewEntry::from_json(body).unwrap_err();
            assert_eq!(
                (error.field, error.message.as_str()),
                (Some(field), message)
            );
        }
    }

    #[test]
    fn a_repeated_field_is_refused_not_overwritten() {
        let body = br#"{"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p",
                        "hours": 1, "user_id": "b"}"#;

        let error = NewEntry::from_body(body).unwrap_err();

        assert_eq!(error.field, Some("user_id"));
        assert_eq!(error.message, "field \"user_id\" appears more than once");
    }

    #[test]
    fn a_body_that_is_no_object_or_no_json_says_which() {
        let array = NewEntry::from_body(b"[1, 2]").unwrap_err();
        let broken = NewEntry::from_body(b"{\"user_id\": ").unwrap_err();

        assert_eq!(array.message, "the body must be a JSON object");
        assert_eq!(
            broken.message,
            "the body is not valid JSON: EOF while parsing a value at line 1 column 12"
        );
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_descriptions() {
        let entry = |user: &str, description: &str| {
            json!({"user_id": user, "date": "2025-01-01T00:00:00Z", "project": "p",
                   "hours": 1, "description": description})
        };

        let nul = NewEntry::from_json(entry("a\u{0}", "x")).unwrap_err();
        let escape = NewEntry::from_json(entry("a", "\u{1b}[2J")).unwrap_err();
        let reversed = NewEntry::from_json(entry("\u{202E}gpj.exe", "x")).unwrap_err();
        let lines = NewEntry::from_json(entry("a", "one\ntwo\tthree")).unwrap();

        assert_eq!(
            nul.message,
            "user_id contains a control or text-direction character"
        );
        assert_eq!(escape.field, Some("description"));
        assert_eq!(reversed.field, Some("user_id"));
        assert_eq!(lines.description.as_deref(), Some("one\ntwo\tthree"));
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let body = json!({"user_id": "a", "date": "2025-01-01T00:00:00Z", "project": "p",
                          "hours": 1, "billabel": true});

        let error = NewEntry::from_json(body).unwrap_err();

        assert!(
            error.message.starts_with("unknown field \"billabel\""),
            "{}",
            error.message
        );
    }
}
