//! Running the real `timesheets` binary, and talking to it over loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub const AUDIENCE: &str = "https://api.exampleco.com/timesheets";

/// The binary under test, run with no `TIMESHEETS_*` variable from the
/// outside and in `cwd`, so no stray `.env` is read.
pub fn command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timesheets"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TIMESHEETS_") {
            command.env_remove(name);
        }
    }
    command.current_dir(cwd);
    command
}

/// Runs the binary to completion.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    command(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running timesheets")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// A `timesheets serve` process on a free loopback port.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data: PathBuf,
    logs: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the embedded issuer and the API on `data`.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts `serve` with extra arguments (e.g. `--issuer URL`).
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let listen = if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let mut child = command(data.parent().expect("data has a parent"))
            .arg("serve")
            .args(listen)
            .arg("--data")
            .arg(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning timesheets serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(String::new()));
        let (address, found) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_owned();
                    let _ = address.send(addr);
                }
                let mut logs = sink.lock().expect("log lock");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let addr = found
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "the server did not start; its log:\n{}",
                    logs.lock().expect("log lock")
                )
            });
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            data: data.to_owned(),
            logs,
        }
    }

    /// The issuer URL, as it appears in tokens.
    pub fn issuer(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log lock").clone()
    }

    /// Stops the server with SIGTERM and waits; returns its exit success.
    pub fn stop(&mut self) -> bool {
        let mut child = self.child.take().expect("server is running");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        child.wait().expect("waiting for the server").success()
    }

    /// Kills the server with SIGKILL: no chance to flush or clean up.
    pub fn crash(&mut self) {
        let mut child = self.child.take().expect("server is running");
        child.kill().expect("killing the server");
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A registered client's credentials.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// Registers a client with `timesheets clients create --json`.
pub fn create_client(data: &Path, name: &str, scope: &str) -> Client {
    let output = run(
        data.parent().expect("data has a parent"),
        &[
            "clients", "create", "--name", name, "--scope", scope, "--json", "--data",
        ]
        .into_iter()
        .chain([data.to_str().expect("utf-8 path")])
        .collect::<Vec<_>>(),
    );
    assert!(
        output.status.success(),
        "clients create failed: {}",
        stderr(&output)
    );
    let shown: Value = serde_json::from_slice(&output.stdout).expect("clients create --json");
    Client {
        id: shown["client_id"].as_str().expect("client_id").to_owned(),
        secret: shown["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
    }
}

/// A fresh directory with a `data` path inside it (not yet created).
pub fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let data = dir.path().join("data");
    (dir, data)
}

/// Gets a token over the form-encoded body, as the seed does.
pub async fn token(server: &Server, client: &Client) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.as_str()),
            ("audience", AUDIENCE),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token response");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The tutorial's sample entry.
pub fn seed_entry() -> Value {
    serde_json::json!({"user_id": "007", "date": "2017-05-10T17:40:20.095Z",
                       "project": "StoreZero", "hours": 5})
}

/// POSTs `body` to the upload endpoint with `token` (if any).
pub async fn upload(server: &Server, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url("/timesheets/upload"))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("upload request")
}

/// GETs `path` with `token`.
pub async fn get(server: &Server, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
}

/// The value of a response header, or "" when absent.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default()
}

/// The shared sample exports, beside the repository.
pub fn sample(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/samples")
        .join(name);
    assert!(
        path.exists(),
        "the shared samples are missing: {}",
        path.display()
    );
    path
}
