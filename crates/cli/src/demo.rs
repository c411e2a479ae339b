//! `timesheets demo`: the tutorial's scenario end to end, on a fresh server
//! with nothing configured, checking every step's outcome.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use timesheets_authz::registry::{self, NewCredentials};
use timesheets_import::read::{self, ReadOptions};
use timesheets_import::token::{self, Credentials};
use timesheets_import::upload::Uploader;
use timesheets_import::{Record, run};

use crate::cli::{DEFAULT_AUDIENCE, DemoArgs};
use crate::import::http;
use crate::serve::{self, ServeConfig, open_authz_store};

/// The export shipped in `examples/`, built into the binary so the demo
/// runs from any directory.
const EXPORT: &[u8] = include_bytes!("../../../examples/toggl-detailed-2025-03.csv");
const EXPORT_NAME: &str = "toggl-detailed-2025-03.csv";
/// The zone the example export's wall-clock times were written in.
const EXPORT_TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;

pub async fn demo(args: &DemoArgs) -> Result<()> {
    let work = tempfile::Builder::new()
        .prefix("timesheets-demo-")
        .tempdir()?;
    let data = work.path().join("data");
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse()?,
        data: data.clone(),
        audience: DEFAULT_AUDIENCE.to_owned(),
        issuer: None,
    };
    let server = serve::start(config).await.context("starting the server")?;
    let base = format!("http://{}", server.addr);
    step(&format!(
        "started the authorization server and the API at {base}/"
    ));
    step(&format!("data directory: {}", data.display()));

    let outcome = scenario(&base, &data, work.path()).await;
    server.stop().await?;
    step("stopped the server");
    if args.keep {
        let kept = work.keep();
        step(&format!("kept {}", kept.display()));
    }
    outcome?;
    println!("\nDemo passed: every step behaved as the scenario says.");
    Ok(())
}

async fn scenario(base: &str, data: &Path, work: &Path) -> Result<()> {
    let store = open_authz_store(data).await?;
    let job = registry::create_client(
        &store,
        "Timesheets import job",
        DEFAULT_AUDIENCE,
        "batch:upload",
    )
    .await?;
    step(&format!(
        "registered \"Timesheets import job\" ({}) with batch:upload",
        job.client_id
    ));
    let reader = registry::create_client(
        &store,
        "Timesheets reader",
        DEFAULT_AUDIENCE,
        "read:timesheets",
    )
    .await?;
    step(&format!(
        "registered \"Timesheets reader\" ({}) with read:timesheets",
        reader.client_id
    ));

    let export = work.join(EXPORT_NAME);
    std::fs::write(&export, EXPORT)?;
    let expected = expected_entries(&export)?;
    import(base, &job, &export, expected.len()).await?;
    read_back(base, &reader, expected).await?;
    refusals(base, &reader).await
}

async fn import(base: &str, job: &NewCredentials, export: &Path, count: usize) -> Result<()> {
    let http = http()?;
    let credentials = credentials(base, job);
    let token = token::fetch(&http, &credentials).await?;
    step(&format!(
        "got a token for the import job (scope {:?})",
        token.scope.unwrap_or_default()
    ));
    let uploader = Uploader::new(http, base, token.token).renewing_with(credentials);
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let summary = run(
        vec![export.to_owned()],
        ReadOptions::new(EXPORT_TZ),
        &uploader,
        4,
        &mut out,
        &mut err,
    )
    .await;
    step(&format!("imported {EXPORT_NAME}: {summary}"));
    ensure!(
        summary.succeeded(),
        "the import did not create every entry: {summary}"
    );
    ensure!(
        summary.created == count as u64,
        "expected {count} entries created: {summary}"
    );
    Ok(())
}

async fn read_back(base: &str, reader: &NewCredentials, expected: Vec<Value>) -> Result<()> {
    let http = http()?;
    let token = token::fetch(&http, &credentials(base, reader)).await?;
    let response = http
        .get(format!("{base}/timesheets?limit=1000"))
        .bearer_auth(token.token.expose_secret())
        .send()
        .await?;
    ensure!(
        response.status() == 200,
        "GET /timesheets answered {}",
        response.status()
    );
    let mut stored: Vec<Value> = response.json().await?;
    for entry in &mut stored {
        entry.as_object_mut().map(|e| e.remove("id"));
    }
    let (mut stored, mut expected) = (stored, expected);
    stored.sort_by_key(Value::to_string);
    expected.sort_by_key(Value::to_string);
    if stored != expected {
        bail!(
            "the entries read back differ from the export:\n  stored:   {stored:?}\n  exported: {expected:?}"
        );
    }
    step(&format!(
        "read all {} entries back with the reader's token: they match the export",
        stored.len()
    ));
    Ok(())
}

async fn refusals(base: &str, reader: &NewCredentials) -> Result<()> {
    let http = http()?;
    let token = token::fetch(&http, &credentials(base, reader)).await?;
    let entry = serde_json::json!({"user_id": "007", "date": "2017-05-10T17:40:20.095Z",
                                   "project": "StoreZero", "hours": 5});
    let url = format!("{base}/timesheets/upload");

    let forbidden = http
        .post(&url)
        .bearer_auth(token.token.expose_secret())
        .json(&entry)
        .send()
        .await?;
    let status = forbidden.status();
    let body: Value = forbidden.json().await?;
    ensure!(
        status == 403 && body["message"] == "Forbidden",
        "without batch:upload: {status} {body}"
    );
    step("a token without batch:upload gets 403 {\"message\":\"Forbidden\"}");

    let anonymous = http.post(&url).json(&entry).send().await?;
    let status = anonymous.status();
    let body: Value = anonymous.json().await?;
    ensure!(
        status == 401 && body["message"] == "Missing or invalid token",
        "without a token: {status} {body}"
    );
    step("a request without a token gets 401 {\"message\":\"Missing or invalid token\"}");
    Ok(())
}

/// The export's entries as the API should end up holding them.
fn expected_entries(export: &Path) -> Result<Vec<Value>> {
    let mut entries = Vec::new();
    for record in read::open(export, &ReadOptions::new(EXPORT_TZ))? {
        match record {
            Record::Entry(_, entry) => entries.push(serde_json::to_value(entry)?),
            other => bail!("the shipped export has a row that is no entry: {other:?}"),
        }
    }
    Ok(entries)
}

fn credentials(base: &str, client: &NewCredentials) -> Credentials {
    Credentials {
        token_url: format!("{base}/oauth/token"),
        client_id: client.client_id.clone(),
        client_secret: SecretString::from(client.client_secret.expose_secret().to_owned()),
        audience: DEFAULT_AUDIENCE.to_owned(),
    }
}

fn step(what: &str) {
    println!("* {what}");
}
