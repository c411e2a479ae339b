//! What the authorization server keeps, behind the narrow interface of
//! [`Store`]. Each backend lives in a file of its own and implements all of it.

mod sqlite;

use std::future::Future;

pub use sqlite::SqliteStore;

use crate::credentials::SecretHash;

/// A registered API: an audience tokens can be issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// The identifier, which becomes the token's `aud`.
    pub identifier: String,
    pub name: String,
    /// The scopes the API defines.
    pub scopes: Vec<String>,
    /// Seconds a token for this API is valid.
    pub token_lifetime: u32,
}

/// A client as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub secret_hash: SecretHash,
}

/// The scopes one client holds for one API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub audience: String,
    pub scopes: Vec<String>,
}

/// A client as `clients list` shows it: never with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    pub client_id: String,
    pub name: String,
    pub created_at: String,
    pub grants: Vec<Grant>,
}

/// A storage failure; its text is for the log, never for a response.
#[derive(Debug, thiserror::Error)]
#[error("authorization store: {0}")]
pub struct StoreError(#[from] sqlx::Error);

/// The operations the authorization server performs on its data.
pub trait Store: Send + Sync + 'static {
    /// The API registered under `identifier`.
    fn api(&self, identifier: &str)
    -> impl Future<Output = Result<Option<Api>, StoreError>> + Send;

    /// Registers `api` unless its identifier is taken; true if it was added.
    fn register_api(&self, api: &Api) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The client with `client_id`.
    fn client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;

    /// The scopes `client_id` was granted for `audience`, if any grant exists.
    fn granted_scopes(
        &self,
        client_id: &str,
        audience: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, StoreError>> + Send;

    /// Adds a client and its grant in one transaction.
    fn create_client(
        &self,
        client: &Client,
        grant: &Grant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every client with its grants, oldest first.
    fn clients(&self) -> impl Future<Output = Result<Vec<ClientSummary>, StoreError>> + Send;
}

/// Splits a space-separated scope string (RFC 6749 section 3.3).
pub(crate) fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split_ascii_whitespace().map(str::to_owned).collect()
}
