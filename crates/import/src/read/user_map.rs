//! The user map: which `user_id` an identity in an export stands for.
//!
//! The file is CSV: a header line (any names), then two columns per line, the
//! identity as the export writes it (an email, or a display name) and the
//! `user_id`. Emails are compared ignoring case, because mail systems and
//! time trackers do not preserve it reliably; other identities (display
//! names) are compared exactly. Both sides are trimmed. A duplicate identity
//! or an empty value is an error naming the line: silently picking one of
//! two users would book hours to the wrong person.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::path::Path;

use csv::StringRecord;

use super::{OpenError, lines, open_file};

/// Identities in exports mapped to API `user_id`s.
#[derive(Debug, Clone, Default)]
pub struct UserMap {
    /// Normalised identity to (`user_id`, line it was defined on).
    users: HashMap<String, (String, u64)>,
}

impl UserMap {
    /// Reads a user map file (see the module documentation for the format).
    ///
    /// # Errors
    ///
    /// When the file cannot be read, a line has other than two fields, an
    /// identity or `user_id` is empty, or an identity appears twice; the
    /// message names the file and line.
    pub fn load(path: &Path) -> Result<Self, OpenError> {
        let file = path.display().to_string();
        let (tracked, lines) = lines::tracked(open_file(path, &file)?);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(tracked);
        let mut map = UserMap::default();
        let mut row = StringRecord::new();
        loop {
            match reader.read_record(&mut row) {
                Ok(false) => return Ok(map),
                Ok(true) => {
                    let line = lines.line_at(row.position().map_or(0, csv::Position::byte));
                    map.insert(&row, line)
                        .map_err(|reason| OpenError::UserMap {
                            file: file.clone(),
                            line,
                            reason,
                        })?;
                }
                Err(error) => return Err(OpenError::Csv { file, error }),
            }
        }
    }

    /// The `user_id` for an identity as an export writes it.
    pub fn get(&self, identity: &str) -> Option<&str> {
        self.users
            .get(&normalise(identity))
            .map(|(user_id, _)| user_id.as_str())
    }

    /// How many identities the map has.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the map has no identities.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn insert(&mut self, row: &StringRecord, line: u64) -> Result<(), String> {
        let [identity, user_id] = [0, 1].map(|i| row.get(i).unwrap_or_default().trim());
        if row.len() != 2 {
            return Err(format!(
                "expected 2 fields (identity, user_id), found {}",
                row.len()
            ));
        }
        if identity.is_empty() {
            return Err("the identity is empty".to_owned());
        }
        if user_id.is_empty() {
            return Err(format!("the user_id for \"{identity}\" is empty"));
        }
        match self.users.entry(normalise(identity)) {
            Slot::Occupied(first) => Err(format!(
                "\"{identity}\" is mapped twice (first on line {})",
                first.get().1
            )),
            Slot::Vacant(slot) => {
                slot.insert((user_id.to_owned(), line));
                Ok(())
            }
        }
    }
}

/// The form identities are compared in: trimmed, and lower-case if an email.
fn normalise(identity: &str) -> String {
    let trimmed = identity.trim();
    if trimmed.contains('@') {
        trimmed.to_lowercase()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(content: &str) -> (tempfile::TempDir, Result<UserMap, OpenError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, content).unwrap();
        let map = UserMap::load(&path);
        (dir, map)
    }

    #[test]
    fn emails_are_looked_up_ignoring_case_and_surrounding_spaces() {
        let (_dir, map) = load("email,user_id\nAvery.Quill@Example.com , u-100\nBram,u-200\n");

        let map = map.unwrap();

        assert_eq!(map.get("avery.quill@example.com"), Some("u-100"));
        assert_eq!(map.get(" AVERY.QUILL@EXAMPLE.COM"), Some("u-100"));
        assert_eq!(map.get("Bram"), Some("u-200"));
        assert_eq!(map.get("bram"), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn a_duplicate_identity_is_an_error_naming_both_lines() {
        let (dir, map) = load("email,user_id\na@example.com,u-1\nA@example.com,u-2\n");

        let error = map.unwrap_err();

        let file = dir.path().join("users.csv");
        assert_eq!(
            error.to_string(),
            format!(
                "reading {}:3: \"A@example.com\" is mapped twice (first on line 2)",
                file.display()
            )
        );
    }

    #[test]
    fn an_empty_user_id_or_a_third_field_is_an_error_naming_the_line() {
        let (_dir, empty) = load("email,user_id\na@example.com,\n");
        let (_dir2, extra) = load("email,user_id\na@example.com,u-1,x\n");

        let empty = empty.unwrap_err().to_string();
        let extra = extra.unwrap_err().to_string();

        assert!(
            empty.ends_with(":2: the user_id for \"a@example.com\" is empty"),
            "{empty}"
        );
        assert!(
            extra.ends_with(":2: expected 2 fields (identity, user_id), found 3"),
            "{extra}"
        );
    }
}
