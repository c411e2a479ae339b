//! The authorization server: registers APIs and machine-to-machine clients,
//! and issues RS256 JWT access tokens through the client credentials grant
//! (RFC 6749 section 4.4, RFC 9068).
//!
//! It shares nothing with the Timesheets API but what it publishes: the
//! token format and the keys at `/.well-known/jwks.json`.

pub mod credentials;
pub mod error;
pub mod http;
pub mod keys;
pub mod registry;
pub mod store;
pub mod token;

pub use error::TokenError;
pub use http::router;
pub use keys::KeySet;
pub use store::{SqliteStore, Store};
pub use token::Issuer;

/// The file, inside the data directory, holding the authorization server's
/// database.
pub const DATABASE_FILE: &str = "authz.sqlite";
