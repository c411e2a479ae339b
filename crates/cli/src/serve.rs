//! `timesheets serve`: the authorization server and the API on one
//! listener, or the API alone behind an external issuer.
//!
//! Even in one process the API learns the embedded issuer's keys the way it
//! would learn Auth0's: over HTTP, from the issuer's published JWKS.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use timesheets_api::auth::jwks::KeyError;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Longest a client may take to send a request's body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a shutdown waits for requests in flight before it cuts them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What `serve` needs, after the flags were checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub audience: String,
    /// An external issuer; `None` runs the embedded one.
    pub issuer: Option<String>,
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// The issuer the API trusts.
    pub issuer: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Finishes the requests in flight, then returns; requests still
    /// running after [`SHUTDOWN_GRACE`] are cut. Nothing acknowledged is
    /// lost that way: an entry is on disk before its 201 is sent.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        match tokio::time::timeout(SHUTDOWN_GRACE, self.task).await {
            Ok(finished) => finished
                .context("the server task failed")?
                .context("serving failed"),
            Err(_) => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still running; cutting them");
                abort.abort();
                Ok(())
            }
        }
    }
}

/// Binds, opens the stores and starts serving in the background.
pub async fn start(config: ServeConfig) -> Result<Running> {
    create_private_dir(&config.data)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}/"));

    let mut app = api(&config, &issuer).await?;
    if config.issuer.is_none() {
        app = app.merge(authorization_server(&config, &issuer).await?);
    }
    let app = app
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // A client that stalls mid-body must not hold a connection, or a
        // shutdown, for ever. Only the body is timed: once an upload is
        // read, its answer must say what became of it, and a timeout that
        // fired while it was being committed would say 408 of a stored
        // entry.
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT));
    let app = with_request_logging(app);

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_connections(listener, app, stopped));
    Ok(Running {
        addr,
        issuer,
        stop,
        task,
    })
}

async fn api(config: &ServeConfig, issuer: &str) -> Result<Router> {
    let path = config.data.join(timesheets_api::DATABASE_FILE);
    let store = timesheets_api::SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("timesheets/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let verifier = timesheets_api::Verifier::new(issuer, &config.audience, http);
    if config.issuer.is_some() {
        // An external issuer may be down for now, and the API retries on
        // demand; but one that calls itself by another name never matches.
        match verifier.prefetch_keys().await {
            Ok(()) => {}
            Err(KeyError::IssuerMismatch { url, named, .. }) => bail!(
                "{url} says the issuer is {named:?}, and tokens carry that name: pass --issuer {named}"
            ),
            Err(error) => tracing::warn!(%error, "the issuer's keys are not available yet"),
        }
    }
    Ok(timesheets_api::router(verifier, store))
}

async fn authorization_server(config: &ServeConfig, issuer: &str) -> Result<Router> {
    let store = open_authz_store(&config.data).await?;
    if timesheets_authz::registry::ensure_timesheets_api(&store, &config.audience).await? {
        tracing::info!(audience = %config.audience, "registered the Timesheets API");
    }
    let keys = timesheets_authz::KeySet::load_or_create(&config.data)?;
    let issuer = timesheets_authz::Issuer::new(issuer.to_owned(), keys, store);
    Ok(timesheets_authz::router(issuer))
}

/// Accepts connections and serves HTTP/1.1 on them until `stop` fires, then
/// lets the requests in flight finish.
///
/// Written here instead of calling `axum::serve`, which gives no way to
/// bound how long a client may take to send its request headers: hyper's
/// header read timeout needs a timer that `axum::serve` does not set, and
/// without it a client that trickles header bytes holds its connection for
/// ever (slowloris).
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = TowerToHyperService::new(app.clone());
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                    });
                }
                // Out of file descriptors and the like: wait for some to
                // free up rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = &mut stop => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Opens the authorization server's database in `data`, creating it.
pub async fn open_authz_store(data: &Path) -> Result<timesheets_authz::SqliteStore> {
    let path = data.join(timesheets_authz::DATABASE_FILE);
    timesheets_authz::SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

fn create_private_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating the data directory {}", path.display()))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "message": "Not found" })),
    )
}

async fn method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({ "message": "Method not allowed" })),
    )
}

/// One span per request (method, matched route, request id) and one event
/// when it completes. No header is logged, so neither is any token.
fn with_request_logging(app: Router) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("-", |p| p.as_str());
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), route, id)
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    app.layer(trace)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
}
