//! `timesheets import` on real exports against a real server.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};

use serde_json::{Value, json};

use crate::api::fixture;
use crate::support::{AUDIENCE, Client, Server, get, run, sample, stderr, stdout, token};

fn import(
    server: &Server,
    job: &Client,
    cwd: &Path,
    extra: &[&str],
    file: &Path,
) -> std::process::Output {
    import_to(&server.base, server, job, cwd, extra, file)
}

/// `import` with tokens from `server`, uploading to `api_url`.
fn import_to(
    api_url: &str,
    server: &Server,
    job: &Client,
    cwd: &Path,
    extra: &[&str],
    file: &Path,
) -> std::process::Output {
    let token_url = server.url("/oauth/token");
    let mut args = vec![
        "import",
        "--api-url",
        api_url,
        "--token-url",
        &token_url,
        "--client-id",
        &job.id,
        "--client-secret",
        &job.secret,
        "--audience",
        AUDIENCE,
    ];
    args.extend_from_slice(extra);
    let file = file.to_str().unwrap();
    args.push(file);
    run(cwd, &args)
}

/// An NDJSON export of the seed entry with each of `hours`, one per line.
fn seed_entries(dir: &Path, hours: &[i32]) -> std::path::PathBuf {
    let path = dir.join("entries.ndjson");
    let lines: Vec<String> = hours
        .iter()
        .map(|h| {
            json!({"user_id": "007", "date": "2017-05-10T17:40:20.095Z",
                   "project": "StoreZero", "hours": h})
            .to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

/// What stderr says when the API refuses the reader's token on `line`.
fn forbidden_then_stopped(export: &Path, line: u32) -> String {
    format!(
        "{}:{line}: the API answered 403: Forbidden\n\
         error: stopping: no later entry could be uploaded either; entries after this one were not sent\n",
        export.display()
    )
}

/// The rows of the shared sample's README table, as the API must hold them.
fn toggl_sample_rows() -> Vec<Value> {
    let row = |user: &str,
               date: &str,
               project: &str,
               hours: f64,
               task: Option<&str>,
               description: &str,
               billable: bool| {
        let mut entry = json!({"user_id": user, "date": date, "project": project, "hours": hours,
                               "description": description, "billable": billable});
        if let Some(task) = task {
            entry["task"] = json!(task);
        }
        entry
    };
    vec![
        row(
            "avery.quill@example.com",
            "2025-03-03T09:00:00+01:00",
            "Website Relaunch",
            2.5,
            Some("Design"),
            "Homepage wireframes",
            true,
        ),
        row(
            "avery.quill@example.com",
            "2025-03-03T13:15:00+01:00",
            "Support Retainer",
            0.425,
            None,
            "Call with ops, re: invoice #4411",
            false,
        ),
        row(
            "bram.okonkwo@example.org",
            "2025-03-04T22:45:00+01:00",
            "POS Integration",
            2.5,
            Some("Backend"),
            "Fix \"rounding\" bug in VAT totals",
            true,
        ),
        row(
            "bram.okonkwo@example.org",
            "2025-03-05T10:00:00+01:00",
            "POS Integration",
            0.75,
            Some("Ops"),
            "Deploy checklist:\n- migrate DB\n- smoke test",
            true,
        ),
        row(
            "emilie.fournier@example.fr",
            "2025-03-06T08:05:12+01:00",
            "Contract Review",
            1.21,
            None,
            "Révision des clauses – NDA",
            true,
        ),
        row(
            "bram.okonkwo@example.org",
            "2025-03-07T09:00:00+01:00",
            "Website Relaunch",
            8.75,
            Some("Backend"),
            "API pagination",
            true,
        ),
        row(
            "emilie.fournier@example.fr",
            "2025-03-30T01:30:00+01:00",
            "Contract Review",
            1.0,
            None,
            "Weekend filing (DST night)",
            true,
        ),
    ]
}

fn without_ids(mut entries: Vec<Value>) -> Vec<Value> {
    entries.sort_by_key(|e| e["id"].as_i64());
    for entry in &mut entries {
        entry.as_object_mut().unwrap().remove("id");
    }
    entries
}

fn sorted(mut entries: Vec<Value>) -> Vec<Value> {
    entries.sort_by_key(Value::to_string);
    entries
}

#[tokio::test]
async fn the_shared_toggl_sample_uploads_every_row_its_readme_lists() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let file = sample("toggl.csv");

    let output = import(
        &f.server,
        &f.job,
        cwd.path(),
        &["--tz", "Europe/Berlin"],
        &file,
    );

    assert_eq!(output.status.code(), Some(1), "one row has no project");
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    assert!(
        lines[..7]
            .iter()
            .all(|l| l.starts_with("Created timesheet ")),
        "{out}"
    );
    assert_eq!(lines[7], "8 read, 7 created, 1 failed");
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "{}:9: project is empty (pass --default-project to use one)",
            file.display()
        )
    );
    let read_token = token(&f.server, &f.reader).await;
    let stored: Vec<Value> = get(&f.server, &read_token, "/timesheets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sorted(without_ids(stored)), sorted(toggl_sample_rows()));
}

#[tokio::test]
async fn a_default_project_takes_in_the_row_without_one() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();

    let output = import(
        &f.server,
        &f.job,
        cwd.path(),
        &["--tz", "Europe/Berlin", "--default-project", "Internal"],
        &sample("toggl.csv"),
    );

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().last(),
        Some("8 read, 8 created, 0 failed")
    );
    let read_token = token(&f.server, &f.reader).await;
    let stored: Vec<Value> = get(&f.server, &read_token, "/timesheets")
        .await
        .json()
        .await
        .unwrap();
    let admin: Vec<&Value> = stored
        .iter()
        .filter(|e| e["project"] == "Internal")
        .collect();
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["date"], "2025-03-07T16:00:00+01:00");
    assert_eq!(admin[0]["hours"], 0.3333);
}

#[tokio::test]
async fn the_shipped_example_export_imports_whole() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/toggl-detailed-2025-03.csv");

    let output = import(
        &f.server,
        &f.job,
        cwd.path(),
        &["--tz", "Europe/Berlin"],
        &example,
    );

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = stdout(&output).lines().last().unwrap().to_owned();
    assert!(summary.ends_with("created, 0 failed"), "{summary}");
}

#[tokio::test]
async fn a_wrong_secret_stops_the_import_with_the_servers_answer_and_no_secret() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let wrong = Client {
        id: f.job.id.clone(),
        secret: "not-the-secret-4711".to_owned(),
    };

    let output = import(
        &f.server,
        &wrong,
        cwd.path(),
        &["--tz", "Europe/Berlin"],
        &sample("toggl.csv"),
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "error: token request to {} was refused: 401 invalid_client: unknown client or wrong client secret",
            f.server.url("/oauth/token")
        )
    );
}

#[tokio::test]
async fn a_token_the_api_refuses_stops_the_import_after_the_first_entry() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let export = cwd.path().join("toggl.csv");
    std::fs::copy(sample("toggl.csv"), &export).unwrap();

    // The reader's client may get tokens, but not for batch:upload.
    let output = import(
        &f.server,
        &f.reader,
        cwd.path(),
        &["--tz", "Europe/Berlin", "--concurrency", "1"],
        &export,
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "1 read, 0 created, 1 failed, stopped early\n"
    );
    assert_eq!(stderr(&output), forbidden_then_stopped(&export, 2));
}

#[tokio::test]
async fn an_api_that_is_down_stops_the_import_at_once() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let export = sample("toggl.csv");

    let output = import_to(
        &nowhere,
        &f.server,
        &f.job,
        cwd.path(),
        &["--tz", "Europe/Berlin", "--concurrency", "1"],
        &export,
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "1 read, 0 created, 1 failed, stopped early\n"
    );
    let errors = stderr(&output);
    let first = errors.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{}:2: upload failed: ", export.display()))
            && first.contains("Connection refused"),
        "{errors}"
    );
    assert_eq!(errors.lines().count(), 2, "{errors}");
    assert!(!errors.contains(&f.job.secret));
}

#[tokio::test]
async fn after_a_stop_no_later_row_is_read_or_reported() {
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let export = seed_entries(cwd.path(), &[5, -1, -1, 3]);

    // One at a time, so that nothing was under way when the run stopped.
    let output = import(
        &f.server,
        &f.reader,
        cwd.path(),
        &["--concurrency", "1"],
        &export,
    );

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "1 read, 0 created, 1 failed, stopped early\n"
    );
    assert_eq!(stderr(&output), forbidden_then_stopped(&export, 1));
}

/// An API that takes every token but the first it sees, as an API does
/// once the token a long run started with has expired. It answers with ids
/// 1000 times the number of tokens seen, plus 1, 2, ..., and keeps the
/// tokens it saw.
async fn api_refusing_the_first_token() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let tokens = seen.clone();
    let accepted = Arc::new(AtomicI64::new(0));
    let upload = move |headers: HeaderMap, Json(entry): Json<Value>| {
        let (tokens, accepted) = (tokens.clone(), accepted.clone());
        async move {
            let token = headers["authorization"].to_str().unwrap().to_owned();
            let mut tokens = tokens.lock().unwrap();
            if !tokens.contains(&token) {
                tokens.push(token.clone());
            }
            if tokens[0] == token {
                let refusal = json!({"message": "Missing or invalid token"});
                return (StatusCode::UNAUTHORIZED, Json(refusal));
            }
            let seen = i64::try_from(tokens.len()).unwrap();
            let id = seen * 1000 + accepted.fetch_add(1, Ordering::SeqCst) + 1;
            let created = json!({"id": id, "user_id": entry["user_id"]});
            (StatusCode::CREATED, Json(created))
        }
    };
    let app = Router::new().route("/timesheets/upload", post(upload));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

// Multi-threaded: the mock API answers while the test thread waits for the
// import to finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_api_stops_taking_is_renewed_once_and_the_entry_sent_again() {
    let f = fixture();
    let (api_url, tokens) = api_refusing_the_first_token().await;
    let cwd = tempfile::tempdir().unwrap();
    let export = seed_entries(cwd.path(), &[1, 2, 3]);

    let output = import_to(
        &api_url,
        &f.server,
        &f.job,
        cwd.path(),
        &["--concurrency", "1"],
        &export,
    );

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Created timesheet 2001 for employee 007\n\
         Created timesheet 2002 for employee 007\n\
         Created timesheet 2003 for employee 007\n\
         3 read, 3 created, 0 failed\n"
    );
    assert_eq!(tokens.lock().unwrap().len(), 2, "one renewal served all");
}
