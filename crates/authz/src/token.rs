//! Issuing access tokens through the client credentials grant
//! (RFC 6749 section 4.4), shaped as RFC 9068 and Auth0 shape them.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use secrecy::SecretString;
use serde::Serialize;

use crate::error::TokenError;
use crate::keys::KeySet;
use crate::store::{Store, StoreError};

/// The only grant this server implements.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// How the client presented its credentials (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`: the `Authorization: Basic` header.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post,
}

/// A token request after its transport encoding is undone; every field is
/// still unchecked.
#[derive(Debug)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub method: AuthMethod,
    pub audience: Option<String>,
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    pub scope: String,
}

/// The claims of an access token: RFC 9068 section 2.2, plus Auth0's `azp`
/// and `gty` so that APIs written for Auth0 accept it unchanged.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    azp: &'a str,
    client_id: &'a str,
    scope: &'a str,
    gty: &'static str,
    iat: u64,
    exp: u64,
    jti: String,
}

/// The issuing half of the authorization server.
#[derive(Debug)]
pub struct Issuer<S> {
    url: String,
    keys: KeySet,
    store: S,
}

impl<S: Store> Issuer<S> {
    /// An issuer whose `iss` is `url` (with its trailing slash, as Auth0's).
    pub fn new(url: String, keys: KeySet, store: S) -> Self {
        Self { url, keys, store }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Checks `request` and signs a token for it.
    ///
    /// The client is authenticated before the audience is looked at, so
    /// that nobody without credentials learns which APIs exist.
    pub async fn issue(&self, request: TokenRequest) -> Result<TokenResponse, TokenError> {
        check_grant_type(request.grant_type.as_deref())?;
        let client_id = request.client_id.ok_or_else(|| missing("client_id"))?;
        let secret = request
            .client_secret
            .ok_or_else(|| missing("client_secret"))?;
        let audience = request.audience.ok_or_else(|| missing("audience"))?;

        self.authenticate(&client_id, &secret, request.method)
            .await?;
        let api = self
            .store
            .api(&audience)
            .await
            .map_err(internal)?
            .ok_or_else(|| TokenError::AccessDenied(format!("Service not found: {audience}")))?;
        let granted = self
            .store
            .granted_scopes(&client_id, &audience)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                TokenError::AccessDenied(format!(
                    "Client is not authorized to access \"{audience}\""
                ))
            })?;
        let scope = narrow_scope(&granted, request.scope.as_deref())?;

        let access_token = self.sign(&client_id, &audience, &scope, api.token_lifetime)?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: api.token_lifetime,
            scope,
        })
    }

    async fn authenticate(
        &self,
        client_id: &str,
        secret: &SecretString,
        method: AuthMethod,
    ) -> Result<(), TokenError> {
        let refused = TokenError::InvalidClient {
            basic: method == AuthMethod::Basic,
        };
        match self.store.client(client_id).await.map_err(internal)? {
            Some(client) if client.secret_hash.matches(secret) => Ok(()),
            Some(_) => Err(refused),
            None => {
                // Hash anyway, so an unknown id takes as long as a wrong secret.
                let _ = crate::credentials::SecretHash::of(secret);
                Err(refused)
            }
        }
    }

    fn sign(
        &self,
        client_id: &str,
        audience: &str,
        scope: &str,
        lifetime: u32,
    ) -> Result<String, TokenError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = Claims {
            iss: &self.url,
            sub: format!("{client_id}@clients"),
            aud: audience,
            azp: client_id,
            client_id,
            scope,
            gty: "client-credentials",
            iat,
            exp: iat + u64::from(lifetime),
            jti: new_jti(),
        };
        self.keys.active().sign(&claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            TokenError::ServerError
        })
    }
}

fn check_grant_type(grant_type: Option<&str>) -> Result<(), TokenError> {
    match grant_type {
        None => Err(missing("grant_type")),
        Some(CLIENT_CREDENTIALS) => Ok(()),
        Some(other) => Err(TokenError::UnsupportedGrantType(format!(
            "grant type {other:?} is not supported; use \"client_credentials\""
        ))),
    }
}

/// The scope to issue: everything granted, or the granted part of what was
/// asked for (RFC 6749 section 3.3 lets the server narrow a request).
fn narrow_scope(granted: &[String], requested: Option<&str>) -> Result<String, TokenError> {
    let Some(requested) = requested else {
        return Ok(granted.join(" "));
    };
    let narrowed: Vec<&str> = requested
        .split_ascii_whitespace()
        .filter(|s| granted.iter().any(|g| g == s))
        .collect();
    if narrowed.is_empty() {
        return Err(TokenError::InvalidScope(format!(
            "none of the requested scopes ({requested}) is granted to this client"
        )));
    }
    Ok(narrowed.join(" "))
}

fn missing(parameter: &str) -> TokenError {
    TokenError::InvalidRequest(format!("missing required parameter: {parameter}"))
}

fn internal(error: StoreError) -> TokenError {
    tracing::error!(%error, "token request failed");
    TokenError::ServerError
}

/// 128 random bits, enough that two tokens never share an id (RFC 7519
/// section 4.1.7).
fn new_jti() -> String {
    URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn without_a_scope_parameter_every_granted_scope_is_issued() {
        let granted = scopes(&["batch:upload", "read:timesheets"]);

        assert_eq!(
            narrow_scope(&granted, None).unwrap(),
            "batch:upload read:timesheets"
        );
    }

    #[test]
    fn a_scope_parameter_narrows_the_grant_and_drops_what_was_never_granted() {
        let granted = scopes(&["batch:upload", "read:timesheets"]);

        let scope = narrow_scope(&granted, Some("read:timesheets delete:timesheets"));

        assert_eq!(scope.unwrap(), "read:timesheets");
    }

    #[test]
    fn asking_only_for_scopes_never_granted_is_invalid_scope() {
        let granted = scopes(&["batch:upload"]);

        let error = narrow_scope(&granted, Some("approve:timesheets")).unwrap_err();

        assert_eq!(error.code(), "invalid_scope");
    }

    #[test]
    fn a_grant_type_other_than_client_credentials_is_unsupported() {
        assert_eq!(
            check_grant_type(Some("password")).unwrap_err().code(),
            "unsupported_grant_type"
        );
        assert_eq!(
            check_grant_type(None).unwrap_err().code(),
            "invalid_request"
        );
    }
}
