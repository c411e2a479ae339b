//! Getting an access token with the client credentials grant (RFC 6749
//! section 4.4), as the tutorial's job does: one form-encoded request.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Longest wait for the authorization server.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What to ask the authorization server for.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The token endpoint, e.g. `https://tenant.auth0.com/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The API identifier the token is for.
    pub audience: String,
}

/// A token as the server issued it. `Debug` never shows the token.
pub struct AccessToken {
    pub token: SecretString,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why no token was had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("token request to {url} was refused: {status} {error}{}", description_suffix(.description))]
    Refused {
        url: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("token response from {url} is not a token response: {reason}")]
    Malformed { url: String, reason: String },
}

fn description_suffix(description: &Option<String>) -> String {
    description
        .as_ref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct Success {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct Failure {
    error: String,
    error_description: Option<String>,
}

/// Asks `credentials.token_url` for a token.
pub async fn fetch(
    http: &reqwest::Client,
    credentials: &Credentials,
) -> Result<AccessToken, TokenError> {
    let url = &credentials.token_url;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", credentials.client_id.as_str()),
        ("client_secret", credentials.client_secret.expose_secret()),
        ("audience", credentials.audience.as_str()),
    ];
    let transport = |e: reqwest::Error| TokenError::Transport {
        url: url.clone(),
        reason: error_chain(&e.without_url()),
    };
    let response = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        return Err(refused(url, status, &body));
    }
    let malformed = |reason: String| TokenError::Malformed {
        url: url.clone(),
        reason,
    };
    let success: Success = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
    if !success.token_type.eq_ignore_ascii_case("bearer") {
        return Err(malformed(format!(
            "token_type is {:?}, not Bearer",
            success.token_type
        )));
    }
    Ok(AccessToken {
        token: SecretString::from(success.access_token),
        expires_in: success.expires_in,
        scope: success.scope,
    })
}

fn refused(url: &str, status: reqwest::StatusCode, body: &[u8]) -> TokenError {
    let (error, description) = match serde_json::from_slice::<Failure>(body) {
        Ok(failure) => (failure.error, failure.error_description),
        Err(_) => (
            status.canonical_reason().unwrap_or("error").to_owned(),
            None,
        ),
    };
    TokenError::Refused {
        url: url.to_owned(),
        status: status.as_u16(),
        error,
        description,
    }
}

/// The error and its causes on one line, which is what a person needs to
/// see ("error sending request: connection refused").
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
