//! `timesheets`: wires configuration, logging and the three participants.
//!
//! Exit status: 0 on success; 1 when the work failed (an entry not created,
//! a token refused, a server that could not start); 2 for a usage error.

mod cli;
mod clients;
mod demo;
mod import;
mod serve;

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use anyhow::Result;
use tracing_subscriber::EnvFilter;

use cli::{Cli, ClientsCommand, Command};

fn main() -> ExitCode {
    // Every file this process makes (databases, their WAL and shared-memory
    // files, the signing key, a demo's work directory) is its owner's
    // alone, whatever the directory around it allows.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    if let Err(error) = load_dot_env() {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse_args();
    init_logging(&cli.command);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    match command {
        Command::Serve(args) => serve_until_signal(args).await?,
        Command::Clients(ClientsCommand::Create(args)) => clients::create(&args, &mut out).await?,
        Command::Clients(ClientsCommand::List(args)) => clients::list(&args, &mut out).await?,
        Command::Token(args) => import::token(&args, &mut out).await?,
        Command::Import(args) => {
            drop(out);
            let summary = import::import(&args).await?;
            return Ok(if summary.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Demo(args) => {
            drop(out);
            demo::demo(&args).await?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve_until_signal(args: cli::ServeArgs) -> Result<()> {
    let config = serve::ServeConfig {
        listen: args.listen,
        data: args.data.dir,
        audience: args.audience,
        issuer: args.issuer,
    };
    let running = serve::start(config.clone()).await?;
    tracing::info!(
        issuer = %running.issuer,
        audience = %config.audience,
        data = %config.data.display(),
        "listening on http://{}/",
        running.addr
    );
    serve::shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await
}

/// Logs go to stderr, filtered by `TIMESHEETS_LOG` (e.g. `debug`); the
/// server logs at info by default, the client commands only warnings, so
/// their stdout and stderr stay for people and scripts.
fn init_logging(command: &Command) {
    let default = if matches!(command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter =
        EnvFilter::try_from_env("TIMESHEETS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

/// Reads `.env` from the working directory only; dotenvy's default would
/// also search every parent directory, picking up files nobody meant.
fn load_dot_env() -> Result<(), String> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        // dotenvy's own message quotes the offending line, which may hold a
        // secret: say only that the file is wrong.
        Err(dotenvy::Error::LineParse(text, _)) => {
            // dotenvy's error holds the line, or only its value: find where
            // it stands, to name the line without showing it.
            let line = std::fs::read_to_string(".env").ok().and_then(|content| {
                let first = text.lines().next().unwrap_or_default().trim_end();
                content
                    .lines()
                    .position(|line| !first.is_empty() && line.trim_end().ends_with(first))
            });
            Err(match line {
                Some(index) => format!(
                    ".env in the working directory: line {} cannot be parsed",
                    index + 1
                ),
                None => ".env in the working directory has a line that cannot be parsed".into(),
            })
        }
        Err(dotenvy::Error::Io(error)) => Err(format!("reading .env: {error}")),
        Err(_) => Err(".env in the working directory cannot be read".into()),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
