//! The authorization server's HTTP edge: the token endpoint (RFC 6749
//! section 3.2), the JWKS (RFC 7517 section 5) and the metadata documents
//! (RFC 8414, and OpenID Connect Discovery, which Auth0's SDKs read).
//!
//! Request bodies are parsed by hand rather than with axum's `Form` and
//! `Json` extractors because RFC 6749 section 3.2 needs things they do not
//! give: a repeated parameter is an error, an empty one counts as absent, and
//! every failure must be an RFC 6749 error object rather than the
//! extractor's plain-text rejection.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::json;

use crate::error::TokenError;
use crate::store::Store;
use crate::token::{AuthMethod, CLIENT_CREDENTIALS, Issuer, TokenRequest};

/// Largest token request body accepted, in bytes; real ones are a few hundred.
pub const MAX_BODY: usize = 16 * 1024;

struct Shared<S> {
    issuer: Issuer<S>,
    jwks: Bytes,
    metadata: Bytes,
}

/// The routes of the authorization server, relative to the issuer URL.
pub fn router<S: Store>(issuer: Issuer<S>) -> Router {
    // Both documents are fixed while the server runs: render them once.
    let jwks = Bytes::from(serde_json::to_vec(&issuer.keys().jwks()).unwrap_or_default());
    let metadata = Bytes::from(metadata(issuer.url()).to_string());
    let shared = Arc::new(Shared {
        issuer,
        jwks,
        metadata,
    });
    Router::new()
        .route(
            "/oauth/token",
            post(token::<S>).fallback(token_method_not_allowed),
        )
        .route("/.well-known/jwks.json", get(jwks_document::<S>))
        .route(
            "/.well-known/openid-configuration",
            get(metadata_document::<S>),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata_document::<S>),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

fn metadata(issuer: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}oauth/token"),
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
    })
}

async fn jwks_document<S: Store>(State(shared): State<Arc<Shared<S>>>) -> Response {
    json_bytes(shared.jwks.clone(), "public, max-age=300")
}

async fn metadata_document<S: Store>(State(shared): State<Arc<Shared<S>>>) -> Response {
    json_bytes(shared.metadata.clone(), "public, max-age=300")
}

fn json_bytes(body: Bytes, cache: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

async fn token<S: Store>(
    State(shared): State<Arc<Shared<S>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut response = match body {
        Ok(body) => match parse_request(&headers, &body) {
            Ok(request) => match shared.issuer.issue(request).await {
                Ok(token) => (StatusCode::OK, axum::Json(token)).into_response(),
                Err(error) => error_response(&error),
            },
            Err(error) => error_response(&error),
        },
        Err(rejection) => {
            let mut description = rejection.body_text();
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                description.push_str(&format!(" (at most {MAX_BODY} bytes)"));
            }
            let body = json!({ "error": "invalid_request", "error_description": description });
            (rejection.status(), axum::Json(body)).into_response()
        }
    };
    // RFC 6749 section 5.1: a response carrying tokens must not be cached;
    // errors are not either, whatever stage refused the request.
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// RFC 6749 section 3.2: the token endpoint takes POST only; say so in
/// its own error format.
async fn token_method_not_allowed() -> Response {
    let body = json!({
        "error": "invalid_request",
        "error_description": "the token endpoint takes POST only",
    });
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(ALLOW, HeaderValue::from_static("POST"))],
        axum::Json(body),
    )
        .into_response()
}

fn error_response(error: &TokenError) -> Response {
    let status = match error {
        TokenError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
        TokenError::AccessDenied(_) => StatusCode::FORBIDDEN,
        TokenError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": error.code(), "error_description": error.description() });
    let mut response = (status, axum::Json(body)).into_response();
    if let TokenError::InvalidClient { basic: true } = error {
        let challenge = HeaderValue::from_static("Basic realm=\"timesheets\", charset=\"UTF-8\"");
        response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    }
    response
}

/// Undoes the transport encoding of a token request: the body (form or
/// JSON) and, when present, HTTP Basic client authentication.
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, TokenError> {
    let mut params = match media_type(headers).as_deref() {
        Some("application/x-www-form-urlencoded") => form_params(body)?,
        Some("application/json") => json_params(body)?,
        _ => {
            return Err(TokenError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded or application/json".into(),
            ));
        }
    };
    let basic = basic_credentials(headers)?;
    let method = if basic.is_some() {
        AuthMethod::Basic
    } else {
        AuthMethod::Post
    };
    let (client_id, client_secret) = match basic {
        Some((id, secret)) => {
            // RFC 6749 section 2.3: one authentication method per request.
            if params.contains_key("client_secret") {
                return Err(TokenError::InvalidRequest(
                    "use either HTTP Basic or client_secret in the body, not both".into(),
                ));
            }
            if params
                .remove("client_id")
                .is_some_and(|body_id| body_id != id)
            {
                return Err(TokenError::InvalidRequest(
                    "client_id in the body differs from the one in HTTP Basic".into(),
                ));
            }
            (Some(id), Some(secret))
        }
        None => (params.remove("client_id"), params.remove("client_secret")),
    };
    Ok(TokenRequest {
        grant_type: params.remove("grant_type"),
        client_id,
        client_secret: client_secret.map(SecretString::from),
        method,
        audience: params.remove("audience"),
        scope: params.remove("scope"),
    })
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// Form parameters: empty values count as absent and a repeated parameter
/// is an error (RFC 6749 sections 3.1 and 3.2).
fn form_params(body: &[u8]) -> Result<HashMap<String, String>, TokenError> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if value.is_empty() {
            continue;
        }
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(TokenError::InvalidRequest(format!(
                "parameter {name} is repeated"
            )));
        }
    }
    Ok(params)
}

/// JSON parameters, as Auth0 also accepts: an object whose members are
/// strings. Members we do not know are ignored, as in a form; a repeated
/// one is an error, as in a form.
fn json_params(body: &[u8]) -> Result<HashMap<String, String>, TokenError> {
    let Members(members) = serde_json::from_slice(body)
        .map_err(|_| TokenError::InvalidRequest("the body is not a JSON object".into()))?;
    let mut params = HashMap::new();
    let mut seen = HashSet::new();
    for (name, value) in members {
        if !seen.insert(name.clone()) {
            return Err(TokenError::InvalidRequest(format!(
                "parameter {name} is repeated"
            )));
        }
        match value {
            serde_json::Value::String(s) if s.is_empty() => {}
            serde_json::Value::String(s) => {
                params.insert(name, s);
            }
            serde_json::Value::Null => {}
            _ if is_known(&name) => {
                return Err(TokenError::InvalidRequest(format!(
                    "parameter {name} must be a string"
                )));
            }
            _ => {}
        }
    }
    Ok(params)
}

/// A JSON object's members in the order written, repeats kept: serde_json's
/// own map would silently keep the last of two equal names. Hand-written
/// because no maintained crate offers a duplicate-preserving object.
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn is_known(name: &str) -> bool {
    matches!(
        name,
        "grant_type" | "client_id" | "client_secret" | "audience" | "scope"
    )
}

/// HTTP Basic credentials, each part form-decoded as RFC 6749 section 2.3.1
/// requires (so a `+` in an id is a space and `%2B` is a plus).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || TokenError::InvalidClient { basic: true };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::InvalidRequest(format!(
            "client authentication scheme {scheme:?} is not supported; use Basic"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let (id, secret) = (
        form_decode(id).ok_or_else(malformed)?,
        form_decode(secret).ok_or_else(malformed)?,
    );
    if id.is_empty() || secret.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use secrecy::ExposeSecret;

    use super::*;

    fn basic(credentials: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let headers = basic("my%3Aclient+id:s%2Bcr%25t+x%C3%A9");

        let request = parse_request(&headers, b"grant_type=client_credentials").unwrap();

        assert_eq!(request.client_id.as_deref(), Some("my:client id"));
        assert_eq!(request.client_secret.unwrap().expose_secret(), "s+cr%t xé");
        assert_eq!(request.method, AuthMethod::Basic);
    }

    #[test]
    fn a_secret_in_the_body_beside_basic_is_refused() {
        let headers = basic("id:secret");

        let error = parse_request(&headers, b"client_secret=other").unwrap_err();

        assert_eq!(error.code(), "invalid_request");
    }

    #[test]
    fn a_repeated_form_parameter_is_invalid_request() {
        let error = form_params(b"audience=a&audience=b").unwrap_err();

        assert_eq!(
            error,
            TokenError::InvalidRequest("parameter audience is repeated".into())
        );
    }

    #[test]
    fn an_empty_form_parameter_counts_as_absent() {
        let params = form_params(b"scope=&audience=x").unwrap();

        assert_eq!(params.get("scope"), None);
        assert_eq!(params.get("audience").map(String::as_str), Some("x"));
    }

    #[test]
    fn a_repeated_json_parameter_is_invalid_request() {
        let body = br#"{"client_secret": "wrong", "client_secret": "right"}"#;

        let error = json_params(body).unwrap_err();

        assert_eq!(
            error,
            TokenError::InvalidRequest("parameter client_secret is repeated".into())
        );
    }

    #[test]
    fn a_json_parameter_that_is_not_a_string_is_invalid_request() {
        let error = json_params(br#"{"audience": 7}"#).unwrap_err();

        assert_eq!(error.description(), "parameter audience must be a string");
    }
}
