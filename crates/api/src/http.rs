//! The Timesheets API's HTTP edge: routes, the scope each needs, and how
//! every outcome looks on the wire.
//!
//! Failures answer `{"message": ...}` as the tutorial's API does, plus
//! `field` when one field of the body is to blame. Token failures carry the
//! RFC 6750 section 3 challenge in `WWW-Authenticate`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::jwks::MIN_REFETCH;
use crate::auth::{AuthError, Principal, Verifier};
use crate::entry::{Invalid, NewEntry};
use crate::store::{Store, StoreError};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// Entries per page of `GET /timesheets` unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 100;
/// Most entries one page of `GET /timesheets` may hold.
pub const MAX_PAGE: u32 = 1000;

const REALM: &str = "timesheets";

struct Shared<S> {
    verifier: Verifier,
    store: S,
}

/// The API's routes.
pub fn router<S: Store>(verifier: Verifier, store: S) -> Router {
    let shared = Arc::new(Shared { verifier, store });
    Router::new()
        .route(
            "/timesheets/upload",
            guarded(post(upload::<S>), "batch:upload", &shared),
        )
        .route(
            "/timesheets",
            guarded(get(list::<S>), "read:timesheets", &shared),
        )
        .route(
            "/timesheets/{id}",
            guarded(get(show::<S>), "read:timesheets", &shared),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// `route` behind a token check that demands `scope`; the check runs before
/// the body is read.
fn guarded<S: Store>(
    route: MethodRouter<Arc<Shared<S>>>,
    scope: &'static str,
    shared: &Arc<Shared<S>>,
) -> MethodRouter<Arc<Shared<S>>> {
    route.route_layer(middleware::from_fn_with_state(
        (shared.clone(), scope),
        |State((shared, scope)): State<(Arc<Shared<S>>, &'static str)>,
         mut request: Request,
         next: Next| async move {
            let mut values = request.headers().get_all(AUTHORIZATION).iter();
            let authorization = values.next().and_then(|v| v.to_str().ok());
            if values.next().is_some() {
                // RFC 6750 section 3.1: more than one credential is a
                // malformed request, whichever of them a proxy would read.
                return ApiError::from(AuthError::MalformedRequest(
                    "more than one Authorization header",
                ))
                .into_response();
            }
            let principal = match shared.verifier.authenticate(authorization).await {
                Ok(principal) => principal,
                Err(error) => return ApiError::from(error).into_response(),
            };
            if let Err(error) = principal.require(scope) {
                return ApiError::from(error).into_response();
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        },
    ))
}

async fn upload<S: Store>(
    State(shared): State<Arc<Shared<S>>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    let entry = parse_entry(&headers, &body)?;
    let stored = shared.store.insert(&entry, &principal.subject).await?;
    tracing::debug!(id = stored.id, "stored a timesheet");
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

fn parse_entry(headers: &HeaderMap, body: &[u8]) -> Result<NewEntry, ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    Ok(NewEntry::from_body(body)?)
}

async fn show<S: Store>(
    State(shared): State<Arc<Shared<S>>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("no timesheet with id {id}"));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let entry = shared.store.get(numeric).await?.ok_or_else(not_found)?;
    Ok(Json(entry).into_response())
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    after: i64,
    limit: Option<u64>,
}

async fn list<S: Store>(
    State(shared): State<Arc<Shared<S>>>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) =
        query.map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let limit = match page.limit {
        None => DEFAULT_PAGE,
        Some(0) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "query parameter limit must be at least 1",
            ));
        }
        Some(limit) => u32::try_from(limit).map_or(MAX_PAGE, |limit| limit.min(MAX_PAGE)),
    };
    let entries = shared.store.list(page.after, limit).await?;
    Ok(Json(entries).into_response())
}

/// A failure as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<&'static str>,
    challenge: Option<String>,
    /// Seconds after which a retry may succeed (`Retry-After`).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
            challenge: None,
            retry_after: None,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let (status, message, challenge) = match &error {
            AuthError::Missing => (
                StatusCode::UNAUTHORIZED,
                "Missing or invalid token",
                format!("Bearer realm=\"{REALM}\""),
            ),
            AuthError::Invalid(why) => (
                StatusCode::UNAUTHORIZED,
                "Missing or invalid token",
                format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{why}\""
                ),
            ),
            AuthError::MalformedRequest(why) => (
                StatusCode::BAD_REQUEST,
                *why,
                format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"{why}\""
                ),
            ),
            AuthError::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
                ),
            ),
            // Each failed fetch is logged where it happens, once per attempt;
            // the requests it turns away are not worth a line each.
            AuthError::IssuerUnavailable(why) => {
                tracing::debug!(error = %why, "cannot check tokens: the issuer's keys are unavailable");
                return Self {
                    retry_after: Some(MIN_REFETCH.as_secs()),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The token issuer's keys are unavailable; try again later",
                    )
                };
            }
        };
        tracing::debug!(%error, "request refused");
        Self {
            status,
            message: message.into(),
            field: None,
            challenge: Some(challenge),
            retry_after: None,
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: invalid.message,
            field: invalid.field,
            challenge: None,
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.field {
            Some(field) => json!({ "message": self.message, "field": field }),
            None => json!({ "message": self.message }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
