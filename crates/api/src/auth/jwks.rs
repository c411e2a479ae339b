//! The issuer's public keys, fetched over HTTP and shared by all requests.
//!
//! Where the keys are comes from the issuer's metadata
//! (`/.well-known/openid-configuration`, as Auth0, Keycloak and Okta publish
//! it), or from `/.well-known/jwks.json` beside the issuer URL when there is
//! none. Keys are looked up by `kid`; an unknown `kid` triggers a refetch, at
//! most one per [`MIN_REFETCH`], so a flood of forged `kid`s cannot make us
//! hammer the issuer. Keys are refreshed after [`MAX_AGE`] to notice keys the
//! issuer retired.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::{Mutex, OnceCell};

/// Least time between two fetches of the key set.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);
/// Age after which the key set is fetched again before use.
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// Longest wait for the issuer to answer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no key with kid {0:?} in the issuer's key set")]
    UnknownKid(String),
    #[error("the token has no kid and the issuer publishes more than one key")]
    AmbiguousKey,
    /// The issuer's keys could not be fetched, so the token could not be
    /// checked either way.
    #[error("fetching the issuer's keys: {0}")]
    Fetch(String),
    /// The issuer's metadata calls it by another name than the one we
    /// trust: a misconfiguration (a missing trailing slash, say) that no
    /// retry will mend.
    #[error("{url} names issuer {named:?}, not {configured:?}")]
    IssuerMismatch {
        url: String,
        named: String,
        configured: String,
    },
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// The key for tokens without a `kid`, when the set holds only one.
    only: Option<Arc<DecodingKey>>,
    fetched: Option<Instant>,
}

/// A shared, lazily filled cache of one issuer's signing keys.
pub struct Jwks {
    issuer: String,
    http: reqwest::Client,
    jwks_uri: OnceCell<String>,
    cached: RwLock<Cached>,
    /// Held while fetching, so concurrent misses cause one fetch.
    refetch: Mutex<LastFetch>,
}

/// The last attempt to fetch the key set.
#[derive(Default)]
struct LastFetch {
    at: Option<Instant>,
    /// Why it failed, if it did: until a fetch succeeds, a key we cannot
    /// find is the issuer's outage, not the token's fault.
    failure: Option<String>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

impl Jwks {
    /// A cache for the keys of `issuer`; nothing is fetched until needed.
    pub fn new(issuer: String, http: reqwest::Client) -> Self {
        Self {
            issuer,
            http,
            jwks_uri: OnceCell::new(),
            cached: RwLock::new(Cached::default()),
            refetch: Mutex::new(LastFetch::default()),
        }
    }

    /// Fetches the key set now, rather than on the first request, so that a
    /// misconfigured issuer shows at start-up.
    pub async fn prefetch(&self) -> Result<(), KeyError> {
        let mut last = self.refetch.lock().await;
        self.refresh(&mut last).await
    }

    /// The key that signed a token with header `kid`.
    pub async fn key(&self, kid: Option<&str>) -> Result<Arc<DecodingKey>, KeyError> {
        if let Some(key) = self.lookup(kid, true) {
            return Ok(key);
        }
        let mut last = self.refetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.lookup(kid, true) {
            return Ok(key);
        }
        if last.at.is_none_or(|at| at.elapsed() >= MIN_REFETCH)
            && let Err(error) = self.refresh(&mut last).await
        {
            tracing::warn!(issuer = %self.issuer, %error, "could not refresh the issuer's keys");
        }
        // A stale key still beats refusing every request while the issuer
        // is unreachable.
        self.lookup(kid, false)
            .ok_or_else(|| match (&last.failure, kid) {
                (Some(failure), _) => KeyError::Fetch(failure.clone()),
                (None, Some(kid)) => KeyError::UnknownKid(kid.to_owned()),
                (None, None) => KeyError::AmbiguousKey,
            })
    }

    /// Fetches the key set and notes when, and whether it failed.
    async fn refresh(&self, last: &mut LastFetch) -> Result<(), KeyError> {
        last.at = Some(Instant::now());
        let outcome = self.fetch().await;
        last.failure = outcome.as_ref().err().map(ToString::to_string);
        outcome
    }

    fn lookup(&self, kid: Option<&str>, fresh_only: bool) -> Option<Arc<DecodingKey>> {
        let cached = self
            .cached
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if fresh_only && cached.fetched.is_none_or(|at| at.elapsed() >= MAX_AGE) {
            return None;
        }
        match kid {
            Some(kid) => cached.keys.get(kid).cloned(),
            None => cached.only.clone(),
        }
    }

    async fn fetch(&self) -> Result<(), KeyError> {
        let uri = self.jwks_uri.get_or_try_init(|| self.discover()).await?;
        let set: JwkSet = self.get_json(uri).await?;
        let mut keys = HashMap::new();
        let mut usable = Vec::new();
        for jwk in &set.keys {
            let is_rsa = matches!(jwk.algorithm, AlgorithmParameters::RSA(_));
            let for_signing = matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            );
            if !is_rsa || !for_signing {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let key = Arc::new(key);
            if let Some(kid) = &jwk.common.key_id {
                keys.insert(kid.clone(), key.clone());
            }
            usable.push(key);
        }
        tracing::info!(issuer = %self.issuer, keys = usable.len(), "fetched the issuer's keys");
        let only = if usable.len() == 1 {
            usable.pop()
        } else {
            None
        };
        let mut cached = self
            .cached
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *cached = Cached {
            keys,
            only,
            fetched: Some(Instant::now()),
        };
        Ok(())
    }

    /// The JWKS URL from the issuer's metadata, whose `issuer` must be the
    /// one we trust (RFC 8414 section 3.3); when the issuer says it has no
    /// metadata (404 or 410), the conventional place beside the issuer URL.
    /// Any other failure is an error and not a reason to fall back: the
    /// answer is remembered for good, and a passing outage must not pin the
    /// wrong URL.
    async fn discover(&self) -> Result<String, KeyError> {
        let base = self.issuer.trim_end_matches('/');
        let url = format!("{base}/.well-known/openid-configuration");
        let response = self
            .http
            .get(&url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| KeyError::Fetch(format!("{url}: {}", e.without_url())))?;
        // Only an issuer that says it has no metadata (404, 410) is read at
        // the conventional place. Anything else may pass (a proxy in front
        // of an issuer that is starting, a rate limit, a cut-off answer):
        // try again later rather than settle on the fallback for good.
        let status = response.status();
        let metadata = if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            None
        } else if status.is_success() {
            let metadata = response.json::<Metadata>().await;
            Some(metadata.map_err(|e| {
                KeyError::Fetch(format!("{url}: not issuer metadata: {}", e.without_url()))
            })?)
        } else {
            return Err(KeyError::Fetch(format!(
                "{url}: the issuer answered {status}"
            )));
        };
        match metadata {
            Some(metadata) if metadata.issuer == self.issuer => Ok(metadata.jwks_uri),
            Some(metadata) => Err(KeyError::IssuerMismatch {
                url,
                named: metadata.issuer,
                configured: self.issuer.clone(),
            }),
            None => {
                tracing::info!(%url, "no usable issuer metadata; using /.well-known/jwks.json");
                Ok(format!("{base}/.well-known/jwks.json"))
            }
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, KeyError> {
        let fail = |e: reqwest::Error| KeyError::Fetch(format!("{url}: {}", e.without_url()));
        let response = self
            .http
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fail)?;
        response.json().await.map_err(fail)
    }
}
