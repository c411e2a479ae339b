//! `serve --issuer URL`: the API alone, trusting an issuer it learns only
//! through that issuer's published metadata and keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::{AUDIENCE, Server, create_client, seed_entry, token, upload, workspace};

#[tokio::test]
async fn the_api_trusts_an_external_issuer_found_through_its_metadata() {
    let (_issuer_dir, issuer_data) = workspace();
    let issuer = Server::start(&issuer_data);
    let job = create_client(&issuer_data, "Timesheets import job", "batch:upload");
    let (_api_dir, api_data) = workspace();
    let api = Server::start_with(&api_data, &["--issuer", &issuer.issuer()]);

    let from_issuer = token(&issuer, &job).await;
    let accepted = upload(&api, Some(&from_issuer), &seed_entry()).await;
    let no_token_endpoint = reqwest::Client::new()
        .post(api.url("/oauth/token"))
        .send()
        .await
        .unwrap();

    assert_eq!(accepted.status(), 201);
    assert_eq!(
        no_token_endpoint.status(),
        404,
        "the embedded issuer is off"
    );
    assert!(
        !api_data.join("signing-key.pem").exists(),
        "the API holds no key"
    );
}

/// A bare issuer with no metadata document: only a JWKS, as some
/// deployments publish.
async fn bare_issuer() -> (String, timesheets_authz::keys::SigningKey) {
    let (key, _) = timesheets_authz::keys::SigningKey::generate().unwrap();
    let jwks = json!({ "keys": [key.jwk()] });
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || async move { axum::Json(jwks) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, key)
}

/// The claims of a valid upload token from `iss`.
fn claims(iss: &str) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": iss, "sub": "job@clients", "aud": AUDIENCE,
           "scope": "batch:upload", "iat": now, "exp": now + 600})
}

// Multi-threaded: the bare issuer must answer while the test thread waits
// for `serve` to start (which fetches the keys first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metadata_the_keys_are_found_at_well_known_jwks_json() {
    let (issuer, key) = bare_issuer().await;
    let (_dir, data) = workspace();
    let api = Server::start_with(&data, &["--issuer", &issuer]);

    let accepted = upload(
        &api,
        Some(&key.sign(&claims(&issuer)).unwrap()),
        &seed_entry(),
    )
    .await;
    let other_issuer = upload(
        &api,
        Some(&key.sign(&claims("http://other/")).unwrap()),
        &seed_entry(),
    )
    .await;

    assert_eq!(accepted.status(), 201);
    assert_eq!(other_issuer.status(), 401);
    let body: Value = other_issuer.json().await.unwrap();
    assert_eq!(body, json!({"message": "Missing or invalid token"}));
}

#[tokio::test]
async fn an_issuer_that_starts_after_the_api_is_found_through_its_metadata() {
    let (key, _) = timesheets_authz::keys::SigningKey::generate().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}/");
    let (_dir, data) = workspace();
    let api = Server::start_with(&data, &["--issuer", &issuer]);
    let signed = key.sign(&claims(&issuer)).unwrap();

    let while_down = upload(&api, Some(&signed), &seed_entry()).await;
    let while_down_status = while_down.status();
    let retry_after = while_down.headers().get("retry-after").cloned();
    let while_down_body: Value = while_down.json().await.unwrap();
    // Now the issuer comes up.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    keycloak_like(listener, &key, 0, StatusCode::OK);
    tokio::time::sleep(timesheets_api::auth::jwks::MIN_REFETCH).await;
    let once_up = upload(&api, Some(&signed), &seed_entry()).await;

    assert_eq!(while_down_status, 503);
    assert_eq!(
        while_down_body,
        json!({"message": "The token issuer's keys are unavailable; try again later"}),
        "503: the token was not found bad, it could not be checked"
    );
    assert_eq!(retry_after.unwrap(), "10");
    assert_eq!(
        once_up.status(),
        201,
        "the outage did not pin the conventional JWKS path; log:\n{}",
        api.logs()
    );
}

/// Serves an issuer like Keycloak on `listener`: its keys at a path that
/// only its metadata names. The first `failures` metadata requests get
/// `failure` (503 from a proxy in front of an issuer still starting, 429
/// from a rate limit).
fn keycloak_like(
    listener: tokio::net::TcpListener,
    key: &timesheets_authz::keys::SigningKey,
    failures: usize,
    failure: StatusCode,
) -> String {
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}keys")});
    let jwks = json!({ "keys": [key.jwk()] });
    let answered = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move {
                if answered.fetch_add(1, Ordering::SeqCst) < failures {
                    failure.into_response()
                } else {
                    axum::Json(metadata).into_response()
                }
            }),
        )
        .route("/keys", get(move || async move { axum::Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

// Multi-threaded: the issuer must answer while the test thread waits for
// `serve` to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_error_from_the_issuers_metadata_is_retried_not_settled_for() {
    let (key, _) = timesheets_authz::keys::SigningKey::generate().unwrap();
    let mut apis = Vec::new();
    for failure in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = keycloak_like(listener, &key, 1, failure);
        let (dir, data) = workspace();
        let api = Server::start_with(&data, &["--issuer", &issuer]);
        let signed = key.sign(&claims(&issuer)).unwrap();
        apis.push((dir, api, signed));
    }

    let mut at_first = Vec::new();
    for (_, api, signed) in &apis {
        at_first.push(upload(api, Some(signed), &seed_entry()).await.status());
    }
    tokio::time::sleep(timesheets_api::auth::jwks::MIN_REFETCH).await;
    let mut later = Vec::new();
    for (_, api, signed) in &apis {
        later.push(upload(api, Some(signed), &seed_entry()).await.status());
    }

    assert_eq!(at_first, [503, 503]);
    assert_eq!(later, [201, 201]);
}

#[test]
fn an_issuer_that_calls_itself_by_another_name_stops_serve_at_start() {
    let (_issuer_dir, issuer_data) = workspace();
    let issuer = Server::start(&issuer_data);
    let without_slash = issuer.base.clone();
    let (dir, data) = workspace();

    let output = crate::support::run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--issuer",
            &without_slash,
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    let last = crate::support::stderr(&output)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    assert_eq!(
        last,
        format!(
            "error: {without_slash}/.well-known/openid-configuration says the issuer is \"{0}\", \
             and tokens carry that name: pass --issuer {0}",
            issuer.issuer()
        )
    );
}
