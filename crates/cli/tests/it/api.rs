//! The Timesheets API as an uploader and an attacker meet it: RFC 6750
//! bearer checks, scopes, and what a stored entry looks like.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{
    AUDIENCE, Client, Server, create_client, get, header, seed_entry, token, upload, workspace,
};

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub server: Server,
    pub job: Client,
    pub reader: Client,
}

pub fn fixture() -> Fixture {
    let (dir, data) = workspace();
    let server = Server::start(&data);
    let job = create_client(&data, "Timesheets import job", "batch:upload");
    let reader = create_client(&data, "Timesheets reader", "read:timesheets");
    Fixture {
        _dir: dir,
        server,
        job,
        reader,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims the API would accept, to be spoiled one at a time.
fn good_claims(server: &Server) -> Value {
    json!({"iss": server.issuer(), "sub": "forger@clients", "aud": AUDIENCE,
           "scope": "batch:upload", "iat": now(), "exp": now() + 3600})
}

async fn server_kid(server: &Server) -> String {
    let jwks: Value = reqwest::get(server.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"][0]["kid"].as_str().unwrap().to_owned()
}

/// Signs `claims` with the server's own private key, read from its data
/// directory, through `jsonwebtoken` (an implementation of its own).
async fn sign_as_server(server: &Server, claims: &Value) -> String {
    let kid = server_kid(server).await;
    sign_as_server_with(server, claims, |header| header.kid = Some(kid))
}

/// Like [`sign_as_server`], with the header set up by `edit`.
fn sign_as_server_with(server: &Server, claims: &Value, edit: impl FnOnce(&mut Header)) -> String {
    let pem = std::fs::read(server.data.join("signing-key.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    edit(&mut header);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Signs `claims` with a key the server never saw, under the server's kid.
async fn sign_with_another_key(server: &Server, claims: &Value) -> String {
    let (_, der) = timesheets_authz::keys::SigningKey::generate().unwrap();
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(server_kid(server).await);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.", part(header), part(claims))
}

/// HS256 keyed with the public key's modulus: the classic algorithm
/// confusion (RFC 8725 section 2.1).
async fn hmac_with_public_key(server: &Server, claims: &Value) -> String {
    let jwks: Value = reqwest::get(server.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(server_kid(server).await);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(n.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_uploaded_entry_answers_201_and_is_read_back_with_its_id() {
    let f = fixture();
    let upload_token = token(&f.server, &f.job).await;
    let read_token = token(&f.server, &f.reader).await;
    let mut entry = seed_entry();
    entry["description"] = json!("Checkout flow");
    entry["task"] = json!("Frontend");
    entry["billable"] = json!(true);

    let created = upload(&f.server, Some(&upload_token), &entry).await;

    assert_eq!(created.status(), 201);
    let expected = json!({"id": 1, "user_id": "007", "date": "2017-05-10T17:40:20.095Z",
                          "project": "StoreZero", "hours": 5.0, "description": "Checkout flow",
                          "task": "Frontend", "billable": true});
    assert_eq!(created.json::<Value>().await.unwrap(), expected);
    let one = get(&f.server, &read_token, "/timesheets/1").await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap(), expected);
    let all = get(&f.server, &read_token, "/timesheets").await;
    assert_eq!(all.json::<Value>().await.unwrap(), json!([expected]));
}

#[tokio::test]
async fn the_seed_entry_comes_back_as_the_tutorial_prints_it() {
    let f = fixture();
    let upload_token = token(&f.server, &f.job).await;

    let created: Value = upload(&f.server, Some(&upload_token), &seed_entry())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        created,
        json!({"id": 1, "user_id": "007", "date": "2017-05-10T17:40:20.095Z",
               "project": "StoreZero", "hours": 5.0})
    );
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge_but_no_error_code() {
    let f = fixture();

    let response = upload(&f.server, None, &seed_entry()).await;

    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        "Bearer realm=\"timesheets\""
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Missing or invalid token"})
    );
}

#[tokio::test]
async fn every_token_that_fails_a_check_is_401_invalid_token() {
    let f = fixture();
    let s = &f.server;
    let with = |key: &str, value: Value| {
        let mut claims = good_claims(s);
        claims[key] = value;
        claims
    };
    let cases = [
        (
            "signed by another key",
            sign_with_another_key(s, &good_claims(s)).await,
            "the token's signature is invalid",
        ),
        (
            "expired",
            sign_as_server(s, &with("exp", json!(now() - 120))).await,
            "the token has expired",
        ),
        (
            "for another audience",
            sign_as_server(s, &with("aud", json!("https://api.example.com/other"))).await,
            "the token is for another audience",
        ),
        (
            "from another issuer",
            sign_as_server(s, &with("iss", json!("https://evil.example/"))).await,
            "the token is from another issuer",
        ),
        (
            "alg none",
            unsigned(&json!({"alg": "none", "typ": "JWT"}), &good_claims(s)),
            "the token is not a JWT",
        ),
        (
            "HS256 keyed with the public key",
            hmac_with_public_key(s, &good_claims(s)).await,
            "algorithm HS256 is not allowed",
        ),
        (
            "not a JWT at all",
            "abc.def".to_owned(),
            "the token is not a JWT",
        ),
        (
            "of another JWT type",
            sign_as_server_with(s, &good_claims(s), |h| h.typ = Some("logout+jwt".into())),
            "the token's type is not an access token",
        ),
        (
            "naming an unknown kid",
            sign_as_server_with(s, &good_claims(s), |h| h.kid = Some("no-such-key".into())),
            "the token is not signed by a key of the issuer",
        ),
    ];
    let control = sign_as_server(s, &good_claims(s)).await;
    assert_eq!(
        upload(s, Some(&control), &seed_entry()).await.status(),
        201,
        "the control passes"
    );

    for (case, token, description) in cases {
        let response = upload(s, Some(&token), &seed_entry()).await;

        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            header(&response, "www-authenticate"),
            format!(
                "Bearer realm=\"timesheets\", error=\"invalid_token\", error_description=\"{description}\""
            ),
            "{case}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "Missing or invalid token"}),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_token_without_kid_is_checked_against_the_issuers_only_key() {
    let f = fixture();
    let s = &f.server;

    let token = sign_as_server_with(s, &good_claims(s), |h| h.kid = None);

    assert_eq!(upload(s, Some(&token), &seed_entry()).await.status(), 201);
}

#[tokio::test]
async fn a_valid_token_without_the_scope_is_403_insufficient_scope() {
    let f = fixture();
    let read_token = token(&f.server, &f.reader).await;
    let upload_token = token(&f.server, &f.job).await;

    let upload_without_scope = upload(&f.server, Some(&read_token), &seed_entry()).await;
    let read_without_scope = get(&f.server, &upload_token, "/timesheets").await;

    assert_eq!(upload_without_scope.status(), 403);
    assert_eq!(
        header(&upload_without_scope, "www-authenticate"),
        "Bearer realm=\"timesheets\", error=\"insufficient_scope\", scope=\"batch:upload\""
    );
    assert_eq!(
        upload_without_scope.json::<Value>().await.unwrap(),
        json!({"message": "Forbidden"})
    );
    assert_eq!(read_without_scope.status(), 403);
}

#[tokio::test]
async fn a_bad_body_is_400_naming_the_field_and_nothing_is_stored() {
    let f = fixture();
    let upload_token = token(&f.server, &f.job).await;
    let read_token = token(&f.server, &f.reader).await;
    let mut entry = seed_entry();
    entry["hours"] = json!(30);

    let too_long = upload(&f.server, Some(&upload_token), &entry).await;
    let not_json = reqwest::Client::new()
        .post(f.server.url("/timesheets/upload"))
        .bearer_auth(&upload_token)
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .await
        .unwrap();
    let not_declared_json = reqwest::Client::new()
        .post(f.server.url("/timesheets/upload"))
        .bearer_auth(&upload_token)
        .body(seed_entry().to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(too_long.status(), 400);
    assert_eq!(
        too_long.json::<Value>().await.unwrap(),
        json!({"message": "hours must be greater than 0 and at most 24, got 30", "field": "hours"})
    );
    assert_eq!(not_json.status(), 400);
    assert_eq!(not_declared_json.status(), 415);
    let stored = get(&f.server, &read_token, "/timesheets")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stored, json!([]));
}

#[tokio::test]
async fn a_page_of_no_entries_is_refused() {
    let f = fixture();
    let read_token = token(&f.server, &f.reader).await;

    let response = get(&f.server, &read_token, "/timesheets?limit=0").await;

    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "query parameter limit must be at least 1"})
    );
}

#[tokio::test]
async fn an_unknown_id_is_404() {
    let f = fixture();
    let read_token = token(&f.server, &f.reader).await;

    let response = get(&f.server, &read_token, "/timesheets/99").await;

    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "no timesheet with id 99"})
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_in_json() {
    let f = fixture();
    let upload_token = token(&f.server, &f.job).await;
    let mut entry = seed_entry();
    entry["description"] = json!("x".repeat(70 * 1024));

    let response = upload(&f.server, Some(&upload_token), &entry).await;

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "Failed to buffer the request body: length limit exceeded"})
    );
}

#[tokio::test]
async fn a_repeated_member_or_a_second_authorization_header_is_400() {
    let f = fixture();
    let upload_token = token(&f.server, &f.job).await;
    let read_token = token(&f.server, &f.reader).await;
    let url = f.server.url("/timesheets/upload");
    let http = reqwest::Client::new();

    let repeated = http
        .post(&url)
        .bearer_auth(&upload_token)
        .header("content-type", "application/json")
        .body(r#"{"user_id": "007", "date": "2017-05-10T17:40:20.095Z", "project": "StoreZero", "hours": 5, "user_id": "008"}"#)
        .send()
        .await
        .unwrap();
    let two_headers = http
        .post(&url)
        .header("authorization", format!("Bearer {upload_token}"))
        .header("authorization", "Bearer other")
        .json(&seed_entry())
        .send()
        .await
        .unwrap();

    assert_eq!(repeated.status(), 400);
    assert_eq!(
        repeated.json::<Value>().await.unwrap(),
        json!({"message": "field \"user_id\" appears more than once", "field": "user_id"})
    );
    assert_eq!(two_headers.status(), 400);
    assert_eq!(
        header(&two_headers, "www-authenticate"),
        "Bearer realm=\"timesheets\", error=\"invalid_request\", \
         error_description=\"more than one Authorization header\""
    );
    assert_eq!(
        two_headers.json::<Value>().await.unwrap(),
        json!({"message": "more than one Authorization header"})
    );
    let stored = get(&f.server, &read_token, "/timesheets").await;
    assert_eq!(stored.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_405_in_json() {
    let f = fixture();

    let response = reqwest::Client::new()
        .delete(f.server.url("/timesheets/upload"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "allow"), "POST");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Method not allowed"})
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let f = fixture();
    let address = f.server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();

    stream
        .write_all(b"POST /timesheets/upload HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut rest),
    )
    .await;

    assert!(read.is_ok(), "the connection was still open after 20 s");
    let waited = started.elapsed().as_secs_f64();
    assert!((9.0..15.0).contains(&waited), "closed after {waited} s");
}
