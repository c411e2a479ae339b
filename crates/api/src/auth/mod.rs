//! Bearer token checks (RFC 6750) against one issuer's published keys.
//!
//! The API holds no key of its own and shares nothing with the issuer but
//! its URL: it verifies what the issuer's JWKS lets it verify, so it works
//! the same behind the embedded server, Auth0 or Keycloak. The checks follow
//! RFC 8725 section 3: one algorithm allowed (RS256, never `none` or an HMAC
//! keyed with a public key), `iss` and `aud` exact, `exp` required.

pub mod jwks;

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

pub use jwks::Jwks;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 30;

/// Header `typ` values accepted: none, the generic `JWT` (Auth0's default),
/// and RFC 9068's `at+jwt`. Anything else is another kind of JWT (an ID
/// token, a logout token) and must not open the API (RFC 8725 section 3.11).
const ACCEPTED_TYPES: [&str; 3] = ["jwt", "at+jwt", "application/at+jwt"];

/// Why a request was not let through.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No bearer token at all (RFC 6750 section 3.1: no error code then).
    #[error("no bearer token")]
    Missing,
    /// A token that failed a check; the text says which, for the
    /// `error_description` and the log.
    #[error("{0}")]
    Invalid(String),
    /// A request whose credentials are malformed as a whole (RFC 6750
    /// section 3.1 `invalid_request`), e.g. two `Authorization` headers.
    #[error("{0}")]
    MalformedRequest(&'static str),
    /// A valid token without the scope the route needs.
    #[error("the token lacks scope {0}")]
    InsufficientScope(&'static str),
    /// The issuer's keys are out of reach, so the token could be checked
    /// neither way; the caller should try again later.
    #[error("{0}")]
    IssuerUnavailable(String),
}

/// Who made a request, as far as its token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: `<client_id>@clients` for a machine client.
    pub subject: String,
    pub scopes: HashSet<String>,
}

impl Principal {
    /// Ok if the token carries `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), AuthError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope(scope))
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
    /// Okta and some others put scopes in `scp`, as a list or a string.
    #[serde(default)]
    scp: Option<Scopes>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

/// Verifies access tokens for one API (the audience) from one issuer.
#[derive(Debug)]
pub struct Verifier {
    jwks: Jwks,
    validation: Validation,
}

impl Verifier {
    /// A verifier for tokens with `iss` = `issuer` and `aud` = `audience`.
    pub fn new(issuer: &str, audience: &str, http: reqwest::Client) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        Self {
            jwks: Jwks::new(issuer.to_owned(), http),
            validation,
        }
    }

    /// Fetches the issuer's keys now rather than on the first request.
    pub async fn prefetch_keys(&self) -> Result<(), jwks::KeyError> {
        self.jwks.prefetch().await
    }

    /// Checks the value of an `Authorization` header.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let token = bearer_token(authorization)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("the token is not a JWT".into()))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        if let Some(typ) = &header.typ
            && !ACCEPTED_TYPES.contains(&typ.to_ascii_lowercase().as_str())
        {
            return Err(AuthError::Invalid(
                "the token's type is not an access token".into(),
            ));
        }
        let key = self
            .jwks
            .key(header.kid.as_deref())
            .await
            .map_err(|e| match e {
                jwks::KeyError::UnknownKid(_) | jwks::KeyError::AmbiguousKey => {
                    tracing::debug!(error = %e, "no key for token");
                    AuthError::Invalid("the token is not signed by a key of the issuer".into())
                }
                // The keys could not be had: the token was checked neither way.
                unavailable => AuthError::IssuerUnavailable(unavailable.to_string()),
            })?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| AuthError::Invalid(describe(e.kind()).into()))?;
        Ok(Principal {
            subject: data.claims.sub,
            scopes: scopes(data.claims.scope, data.claims.scp),
        })
    }
}

/// The token of `Bearer <token>` (RFC 6750 section 2.1; the scheme is
/// case-insensitive, RFC 9110 section 11.1).
fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Invalid("the bearer token is empty".into()));
    }
    Ok(token)
}

fn scopes(scope: Option<String>, scp: Option<Scopes>) -> HashSet<String> {
    let mut all: HashSet<String> = scope
        .iter()
        .flat_map(|s| s.split_ascii_whitespace())
        .map(str::to_owned)
        .collect();
    match scp {
        Some(Scopes::List(list)) => all.extend(list),
        Some(Scopes::Text(text)) => all.extend(text.split_ascii_whitespace().map(str::to_owned)),
        None => {}
    }
    all
}

fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidIssuer => "the token is from another issuer",
        ErrorKind::InvalidAudience => "the token is for another audience",
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not allowed",
        _ => "the token is malformed",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(Some("bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("BEARER abc")).unwrap(), "abc");
    }

    #[test]
    fn another_scheme_counts_as_no_token() {
        assert!(matches!(
            bearer_token(Some("Basic abc")),
            Err(AuthError::Missing)
        ));
        assert!(matches!(bearer_token(None), Err(AuthError::Missing)));
        assert!(matches!(
            bearer_token(Some("Bearer ")),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn scopes_come_from_scope_and_scp_alike() {
        let found = scopes(Some("a b".into()), Some(Scopes::List(vec!["c".into()])));

        assert_eq!(found, HashSet::from(["a".into(), "b".into(), "c".into()]));
    }

    #[test]
    fn a_scope_must_match_whole_not_as_a_prefix() {
        let principal = Principal {
            subject: "x".into(),
            scopes: scopes(Some("batch:uploads".into()), None),
        };

        assert!(principal.require("batch:upload").is_err());
    }
}
