//! Posting entries to the Timesheets API with a bearer token.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use tokio::sync::Mutex;

use crate::entry::Entry;
use crate::token::{self, Credentials, error_chain};

/// Longest wait for one upload.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What the API answered for a created entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Created {
    pub id: i64,
    pub user_id: String,
}

/// Why an entry was not created.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The API answered, and not with 201; the message is the API's own.
    #[error("the API answered {status}: {message}")]
    Rejected { status: u16, message: String },
    /// The request did not get an answer.
    #[error("upload failed: {0}")]
    Transport(String),
}

/// A client for `POST <api>/timesheets/upload`, holding one token, and
/// maybe the credentials to get another when the API stops taking it.
pub struct Uploader {
    http: reqwest::Client,
    url: String,
    token: Mutex<Current>,
    renew: Option<Credentials>,
}

/// The token in use, and how many times it was renewed.
struct Current {
    token: SecretString,
    generation: u64,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

impl Uploader {
    /// An uploader for the API at `api_url` (its base, e.g.
    /// `http://127.0.0.1:8080`).
    pub fn new(http: reqwest::Client, api_url: &str, token: SecretString) -> Self {
        let url = format!("{}/timesheets/upload", api_url.trim_end_matches('/'));
        let token = Mutex::new(Current {
            token,
            generation: 0,
        });
        Self {
            http,
            url,
            token,
            renew: None,
        }
    }

    /// Gets a new token with `credentials` when the API answers 401 (the
    /// token expired during a long run, say) and sends the entry once more.
    /// A 401 means the entry was not stored, so sending it again is safe.
    pub fn renewing_with(mut self, credentials: Credentials) -> Self {
        self.renew = Some(credentials);
        self
    }

    /// Uploads one entry.
    pub async fn upload(&self, entry: &Entry) -> Result<Created, UploadError> {
        let (token, generation) = {
            let current = self.token.lock().await;
            (current.token.clone(), current.generation)
        };
        match self.post(entry, &token).await {
            Err(UploadError::Rejected { status: 401, .. }) if self.renew.is_some() => {
                let token = self.renewed(generation).await?;
                self.post(entry, &token).await
            }
            outcome => outcome,
        }
    }

    /// A token newer than generation `seen`: the one another upload got
    /// meanwhile, or a new one. One renewal serves every upload that met
    /// the same 401.
    async fn renewed(&self, seen: u64) -> Result<SecretString, UploadError> {
        let mut current = self.token.lock().await;
        if current.generation == seen
            && let Some(credentials) = &self.renew
        {
            let fresh = token::fetch(&self.http, credentials)
                .await
                .map_err(|e| UploadError::Transport(format!("renewing the token: {e}")))?;
            tracing::info!("the API refused the token; got a new one");
            current.token = fresh.token;
            current.generation += 1;
        }
        Ok(current.token.clone())
    }

    async fn post(&self, entry: &Entry, token: &SecretString) -> Result<Created, UploadError> {
        let transport = |e: reqwest::Error| UploadError::Transport(error_chain(&e.without_url()));
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(token.expose_secret())
            .json(entry)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status != reqwest::StatusCode::CREATED {
            let message = serde_json::from_slice::<Message>(&body)
                .map(|m| m.message)
                .unwrap_or_else(|_| status.canonical_reason().unwrap_or("error").to_owned());
            return Err(UploadError::Rejected {
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&body)
            .map_err(|e| UploadError::Transport(format!("the API's answer is not an entry: {e}")))
    }
}
