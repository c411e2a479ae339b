//! The authorization server as a client meets it: RFC 6749 sections 4.4
//! and 5, and the published keys and metadata.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::support::{AUDIENCE, Client, Server, create_client, header, workspace};

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    job: Client,
}

fn fixture() -> Fixture {
    let (dir, data) = workspace();
    let server = Server::start(&data);
    let job = create_client(&data, "Timesheets import job", "batch:upload");
    Fixture {
        _dir: dir,
        server,
        job,
    }
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

async fn post_form(server: &Server, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("POST")
}

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error");
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    (status, text("error"), text("error_description"))
}

#[tokio::test]
async fn a_form_request_from_a_registered_client_gets_a_bearer_token_with_auth0s_claims() {
    let f = fixture();

    let response = post_form(
        &f.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.job.id),
            ("client_secret", &f.job.secret),
            ("audience", AUDIENCE),
        ],
    )
    .await;

    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    assert_eq!(body["scope"], "batch:upload");
    let token = body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let (head, claims) = (decode_part(parts[0]), decode_part(parts[1]));
    let jwks: Value = reqwest::get(f.server.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(head["alg"], "RS256");
    assert_eq!(head["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(claims["iss"], f.server.issuer());
    assert_eq!(claims["sub"], format!("{}@clients", f.job.id));
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["azp"], f.job.id);
    assert_eq!(claims["scope"], "batch:upload");
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        86400
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(claims["jti"].as_str().unwrap())
            .unwrap()
            .len(),
        16
    );
}

#[tokio::test]
async fn a_json_body_and_http_basic_authentication_are_accepted_too() {
    let f = fixture();
    let http = reqwest::Client::new();

    let json_body = http
        .post(f.server.url("/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": f.job.id,
                      "client_secret": f.job.secret, "audience": AUDIENCE}),
        )
        .send()
        .await
        .unwrap();
    let basic = http
        .post(f.server.url("/oauth/token"))
        .basic_auth(&f.job.id, Some(&f.job.secret))
        .form(&[("grant_type", "client_credentials"), ("audience", AUDIENCE)])
        .send()
        .await
        .unwrap();

    assert_eq!(json_body.status(), 200);
    assert_eq!(basic.status(), 200);
}

#[tokio::test]
async fn an_unknown_client_or_a_wrong_secret_is_invalid_client() {
    let f = fixture();

    let unknown = post_form(
        &f.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", &f.job.secret),
            ("audience", AUDIENCE),
        ],
    )
    .await;
    let wrong_secret = post_form(
        &f.server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.job.id),
            ("client_secret", "guess"),
            ("audience", AUDIENCE),
        ],
    )
    .await;

    assert_eq!(header(&unknown, "www-authenticate"), "");
    let expected = (
        401,
        "invalid_client".to_owned(),
        "unknown client or wrong client secret".to_owned(),
    );
    assert_eq!(error_of(unknown).await, expected);
    assert_eq!(error_of(wrong_secret).await, expected);
}

#[tokio::test]
async fn a_failed_basic_authentication_is_challenged_with_basic() {
    let f = fixture();
    let credentials = STANDARD.encode(format!("{}:wrong", f.job.id));

    let response = reqwest::Client::new()
        .post(f.server.url("/oauth/token"))
        .header("authorization", format!("Basic {credentials}"))
        .form(&[("grant_type", "client_credentials"), ("audience", AUDIENCE)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        "Basic realm=\"timesheets\", charset=\"UTF-8\""
    );
    assert_eq!(error_of(response).await.1, "invalid_client");
}

#[tokio::test]
async fn another_grant_type_is_unsupported_grant_type() {
    let f = fixture();

    let response = post_form(
        &f.server,
        &[
            ("grant_type", "password"),
            ("client_id", &f.job.id),
            ("client_secret", &f.job.secret),
            ("audience", AUDIENCE),
        ],
    )
    .await;

    let (status, error, description) = error_of(response).await;
    assert_eq!((status, error.as_str()), (400, "unsupported_grant_type"));
    assert_eq!(
        description,
        "grant type \"password\" is not supported; use \"client_credentials\""
    );
}

#[tokio::test]
async fn each_missing_parameter_is_invalid_request_naming_it() {
    let f = fixture();
    let full = [
        ("grant_type", "client_credentials"),
        ("client_id", f.job.id.as_str()),
        ("client_secret", f.job.secret.as_str()),
        ("audience", AUDIENCE),
    ];

    for left_out in ["grant_type", "client_id", "client_secret", "audience"] {
        let form: Vec<(&str, &str)> = full
            .iter()
            .copied()
            .filter(|(k, _)| *k != left_out)
            .collect();

        let response = post_form(&f.server, &form).await;

        let expected = (
            400,
            "invalid_request".to_owned(),
            format!("missing required parameter: {left_out}"),
        );
        assert_eq!(error_of(response).await, expected);
    }
}

#[tokio::test]
async fn an_unregistered_audience_or_one_without_a_grant_is_access_denied_naming_it() {
    let (_dir, data) = workspace();
    let job = {
        let _first = Server::start(&data);
        create_client(&data, "Timesheets import job", "batch:upload")
    };
    // A second start with another audience registers that API as well.
    let server = Server::start_with(&data, &["--audience", "https://api.example.com/billing"]);
    let form = |audience| {
        [
            ("grant_type", "client_credentials"),
            ("client_id", job.id.as_str()),
            ("client_secret", job.secret.as_str()),
            ("audience", audience),
        ]
    };

    let unknown = post_form(&server, &form("https://api.example.com/other")).await;
    let not_granted = post_form(&server, &form("https://api.example.com/billing")).await;

    assert_eq!(
        error_of(unknown).await,
        (
            403,
            "access_denied".to_owned(),
            "Service not found: https://api.example.com/other".to_owned()
        )
    );
    assert_eq!(
        error_of(not_granted).await,
        (
            403,
            "access_denied".to_owned(),
            "Client is not authorized to access \"https://api.example.com/billing\"".to_owned()
        )
    );
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only_and_the_metadata_points_to_it() {
    let f = fixture();

    let jwks: Value = reqwest::get(f.server.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metadata: Value = reqwest::get(f.server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let key = jwks["keys"][0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(metadata["issuer"], f.server.issuer());
    assert_eq!(
        metadata["token_endpoint"],
        format!("{}oauth/token", f.server.issuer())
    );
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}.well-known/jwks.json", f.server.issuer())
    );
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test]
async fn no_secret_or_token_reaches_the_server_log() {
    let f = fixture();

    let token = crate::support::token(&f.server, &f.job).await;
    crate::support::upload(&f.server, Some(&token), &crate::support::seed_entry()).await;

    let logs = f.server.logs();
    assert!(
        logs.contains("/timesheets/upload"),
        "requests are logged: {logs}"
    );
    assert!(!logs.contains(&f.job.secret));
    assert!(!logs.contains(&token));
}

#[tokio::test]
async fn a_get_on_the_token_endpoint_is_405_in_oauths_error_format() {
    let f = fixture();

    let response = reqwest::get(f.server.url("/oauth/token")).await.unwrap();

    assert_eq!(header(&response, "allow"), "POST");
    assert_eq!(
        error_of(response).await,
        (
            405,
            "invalid_request".to_owned(),
            "the token endpoint takes POST only".to_owned()
        )
    );
}
