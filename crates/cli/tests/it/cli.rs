//! The command line as a person or a script uses it.

use crate::api::fixture;
use crate::support::{AUDIENCE, run, stderr, stdout, workspace};

#[tokio::test]
async fn token_prints_the_access_token_alone() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let token_url = f.server.url("/oauth/token");

    let output = run(
        cwd.path(),
        &[
            "token",
            "--token-url",
            &token_url,
            "--client-id",
            &f.job.id,
            "--client-secret",
            &f.job.secret,
            "--audience",
            AUDIENCE,
        ],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 1);
    assert_eq!(out.trim_end().split('.').count(), 3);
    assert_eq!(stderr(&output), "");
}

#[tokio::test]
async fn settings_come_from_a_dot_env_file_in_the_working_directory() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let env = format!(
        "TIMESHEETS_TOKEN_URL={}\nTIMESHEETS_CLIENT_ID={}\nTIMESHEETS_CLIENT_SECRET={}\n",
        f.server.url("/oauth/token"),
        f.job.id,
        f.job.secret
    );
    std::fs::write(cwd.path().join(".env"), env).unwrap();

    let output = run(cwd.path(), &["token"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim_end().split('.').count(), 3);
}

#[tokio::test]
async fn clients_list_shows_names_and_grants_but_never_a_secret() {
    let f = fixture();

    let output = run(
        f.server.data.parent().unwrap(),
        &["clients", "list", "--data", f.server.data.to_str().unwrap()],
    );

    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[1].starts_with(&f.job.id) && rows[1].contains("Timesheets import job"),
        "{out}"
    );
    assert!(
        rows[1].ends_with(&format!("{AUDIENCE} (batch:upload)")),
        "{out}"
    );
    assert!(
        rows[2].ends_with(&format!("{AUDIENCE} (read:timesheets)")),
        "{out}"
    );
    assert!(!out.contains(&f.job.secret) && !out.contains(&f.reader.secret));
}

#[test]
fn clients_create_refuses_a_data_directory_without_a_database() {
    let (dir, data) = workspace();

    let output = run(
        dir.path(),
        &[
            "clients",
            "create",
            "--name",
            "x",
            "--scope",
            "batch:upload",
            "--data",
            data.to_str().unwrap(),
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "error: no authorization database at {}/authz.sqlite; start `timesheets serve --data {}` once first",
            data.display(),
            data.display()
        )
    );
    assert!(!data.exists(), "nothing is created in a mistyped directory");
}

#[tokio::test]
async fn clients_create_refuses_a_scope_the_api_does_not_define() {
    let f = fixture();

    let output = run(
        f.server.data.parent().unwrap(),
        &[
            "clients",
            "create",
            "--name",
            "x",
            "--scope",
            "batch:upload admin",
            "--data",
            f.server.data.to_str().unwrap(),
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "error: API \"{AUDIENCE}\" has no scope \"admin\"; its scopes are: batch:upload \
                 read:timesheets create:timesheets delete:timesheets approve:timesheets"
        )
    );
}

#[test]
fn the_demo_runs_the_whole_scenario_and_exits_0() {
    let cwd = tempfile::tempdir().unwrap();

    let output = run(cwd.path(), &["demo"]);

    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    assert!(
        out.contains("a token without batch:upload gets 403"),
        "{out}"
    );
    assert!(out.contains("a request without a token gets 401"), "{out}");
    assert!(
        out.trim_end()
            .ends_with("Demo passed: every step behaved as the scenario says.")
    );
}

#[test]
fn a_malformed_dot_env_is_refused_naming_the_line_without_echoing_it() {
    let cwd = tempfile::tempdir().unwrap();
    let env = "TIMESHEETS_CLIENT_SECRET=s3cret-value\nnot a valid line = 's3cret-too\n";
    std::fs::write(cwd.path().join(".env"), env).unwrap();

    let output = run(cwd.path(), &["clients", "list"]);

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: .env in the working directory: line 2 cannot be parsed\n"
    );
}

#[tokio::test]
async fn a_client_name_that_could_forge_a_table_line_is_refused() {
    let f = fixture();

    let output = run(
        f.server.data.parent().unwrap(),
        &[
            "clients",
            "create",
            "--name",
            "job\nFAKE  2025-01-01  admin",
            "--scope",
            "batch:upload",
            "--data",
            f.server.data.to_str().unwrap(),
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: the client name contains a control or text-direction character\n"
    );
}

#[test]
fn domain_takes_a_host_name_and_a_flag_wins_over_the_environment() {
    let cwd = tempfile::tempdir().unwrap();
    let args = ["token", "--client-id", "x", "--client-secret", "y"];

    let with_scheme = run(
        cwd.path(),
        &[&args[..], &["--domain", "http://tenant.example"]].concat(),
    );
    let mut command = crate::support::command(cwd.path());
    command
        .env(
            "TIMESHEETS_TOKEN_URL",
            "http://127.0.0.1:9/from-the-environment",
        )
        .args(args)
        .args(["--domain", "127.0.0.1:9/"]);
    let flag_over_env = command.output().unwrap();

    let with_fragment = run(
        cwd.path(),
        &[&args[..], &["--domain", "127.0.0.1:9#"]].concat(),
    );
    assert_eq!(with_fragment.status.code(), Some(1));
    assert!(stderr(&with_fragment).starts_with("error: --domain takes a host name"));
    assert_eq!(with_scheme.status.code(), Some(1));
    assert_eq!(
        stderr(&with_scheme),
        "error: --domain takes a host name such as tenant.auth0.com, not \"http://tenant.example\"; \
         pass a full URL with --token-url\n"
    );
    assert!(
        stderr(&flag_over_env)
            .starts_with("error: token request to https://127.0.0.1:9/oauth/token failed"),
        "{}",
        stderr(&flag_over_env)
    );
}

// Multi-threaded: the mock servers answer while the test thread waits for
// the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_redirects_gets_no_secret_sent_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::{StatusCode, header};
    use axum::routing::post;

    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/oauth/token", elsewhere.local_addr().unwrap());
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let collector = Router::new().route(
        "/oauth/token",
        post(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            StatusCode::UNAUTHORIZED
        }),
    );
    tokio::spawn(async move { axum::serve(elsewhere, collector).await });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_url = format!("http://{}/oauth/token", redirector.local_addr().unwrap());
    let app = Router::new().route(
        "/oauth/token",
        post(move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }),
    );
    tokio::spawn(async move { axum::serve(redirector, app).await });
    let cwd = tempfile::tempdir().unwrap();

    let output = run(
        cwd.path(),
        &[
            "token",
            "--token-url",
            &token_url,
            "--client-id",
            "x",
            "--client-secret",
            "never-resent",
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!("error: token request to {token_url} was refused: 307 Temporary Redirect\n")
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}
