//! The Timesheets API: a resource server that accepts time entries from
//! callers whose access tokens it can verify through their issuer's
//! published keys, and keeps every entry it acknowledged.

pub mod auth;
pub mod entry;
pub mod http;
pub mod store;

pub use auth::Verifier;
pub use http::router;
pub use store::{SqliteStore, Store};

/// The file, inside the data directory, holding the API's database.
pub const DATABASE_FILE: &str = "timesheets.sqlite";
