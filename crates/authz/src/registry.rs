//! Registering APIs and clients: what an operator does, from the command
//! line, while the server may be running.

use secrecy::SecretString;

use crate::credentials::{SecretHash, new_client_id, new_client_secret};
use crate::store::{Api, Client, Grant, Store, StoreError};

/// The scopes of the tutorial's Timesheets API.
pub const TIMESHEETS_SCOPES: [&str; 5] = [
    "batch:upload",
    "read:timesheets",
    "create:timesheets",
    "delete:timesheets",
    "approve:timesheets",
];

/// Longest client name, in characters.
pub const MAX_NAME: usize = 200;

/// How long tokens for a newly registered API live, in seconds: a day, as
/// Auth0's default.
pub const DEFAULT_TOKEN_LIFETIME: u32 = 86_400;

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the client name is empty")]
    EmptyName,
    #[error("the client name contains a control or text-direction character")]
    ControlCharacterInName,
    #[error("the client name is longer than {MAX_NAME} characters")]
    NameTooLong,
    #[error("no scope given; pass at least one, e.g. --scope batch:upload")]
    NoScopes,
    #[error(
        "no API with identifier {0:?} is registered (`timesheets serve --audience {0}` registers it)"
    )]
    UnknownAudience(String),
    #[error("API {audience:?} has no scope {scope:?}; its scopes are: {known}")]
    UnknownScope {
        audience: String,
        scope: String,
        known: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client's credentials as shown once, right after it was created.
#[derive(Debug)]
pub struct NewCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Registers the Timesheets API under `identifier` with the scenario's five
/// scopes, unless it already is; true if it was added.
pub async fn ensure_timesheets_api(
    store: &impl Store,
    identifier: &str,
) -> Result<bool, StoreError> {
    let api = Api {
        identifier: identifier.to_owned(),
        name: "Timesheets API".to_owned(),
        scopes: TIMESHEETS_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        token_lifetime: DEFAULT_TOKEN_LIFETIME,
    };
    store.register_api(&api).await
}

/// Creates a client granted exactly `scopes` (space-separated) for
/// `audience`, and returns its credentials; only their hash is stored.
pub async fn create_client(
    store: &impl Store,
    name: &str,
    audience: &str,
    scopes: &str,
) -> Result<NewCredentials, RegistryError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RegistryError::EmptyName);
    }
    if name.chars().count() > MAX_NAME {
        return Err(RegistryError::NameTooLong);
    }
    // A name is printed in tables and logs: no character may forge a line
    // or make it show other text than it holds.
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if name.chars().any(unsafe_char) {
        return Err(RegistryError::ControlCharacterInName);
    }
    let api = store
        .api(audience)
        .await?
        .ok_or_else(|| RegistryError::UnknownAudience(audience.to_owned()))?;
    let scopes = checked_scopes(&api, scopes)?;

    let client_id = new_client_id();
    let client_secret = new_client_secret();
    let client = Client {
        client_id: client_id.clone(),
        name: name.to_owned(),
        secret_hash: SecretHash::of(&client_secret),
    };
    store
        .create_client(
            &client,
            &Grant {
                audience: audience.to_owned(),
                scopes,
            },
        )
        .await?;
    Ok(NewCredentials {
        client_id,
        client_secret,
    })
}

fn checked_scopes(api: &Api, scopes: &str) -> Result<Vec<String>, RegistryError> {
    let mut checked: Vec<String> = Vec::new();
    for scope in scopes.split_ascii_whitespace() {
        if !api.scopes.iter().any(|known| known == scope) {
            return Err(RegistryError::UnknownScope {
                audience: api.identifier.clone(),
                scope: scope.to_owned(),
                known: api.scopes.join(" "),
            });
        }
        if !checked.iter().any(|s| s == scope) {
            checked.push(scope.to_owned());
        }
    }
    if checked.is_empty() {
        return Err(RegistryError::NoScopes);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn a_name_is_refused_when_empty_too_long_or_able_to_forge_output() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("authz.sqlite"))
            .await
            .unwrap();
        ensure_timesheets_api(&store, "api").await.unwrap();
        let create = |name: String| {
            let store = store.clone();
            async move {
                create_client(&store, &name, "api", "batch:upload")
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        };

        let refusals = [
            create("  ".into()).await,
            create("x".repeat(MAX_NAME + 1)).await,
            create("job\u{202E}bol".into()).await,
        ];
        let longest = create("x".repeat(MAX_NAME)).await;

        assert_eq!(
            refusals,
            [
                Err("the client name is empty".to_owned()),
                Err("the client name is longer than 200 characters".to_owned()),
                Err("the client name contains a control or text-direction character".to_owned()),
            ]
        );
        assert_eq!(longest, Ok(()));
    }
}
