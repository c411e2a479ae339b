//! `timesheets token` and `timesheets import`: the client side of the
//! scenario, talking to the servers only over HTTP.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use secrecy::ExposeSecret;
use timesheets_import::read::{self, Format, ReadOptions, UserMap};
use timesheets_import::token::{self, Credentials};
use timesheets_import::upload::Uploader;
use timesheets_import::{Summary, run};

use crate::cli::{CredentialArgs, ImportArgs, TokenArgs};

pub async fn token(args: &TokenArgs, out: &mut impl Write) -> Result<()> {
    let token = token::fetch(&http()?, &credentials(&args.credentials)?).await?;
    writeln!(out, "{}", token.token.expose_secret())?;
    Ok(())
}

/// Reads the files, uploads their entries, and returns what happened.
pub async fn import(args: &ImportArgs) -> Result<Summary> {
    let options = read_options(args)?;
    let http = http()?;
    let credentials = credentials(&args.credentials)?;
    let token = token::fetch(&http, &credentials).await?;
    let uploader = Uploader::new(http, &args.api_url, token.token).renewing_with(credentials);
    let files: Vec<PathBuf> = args.files.clone();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let summary = run(
        files,
        options,
        &uploader,
        args.concurrency,
        &mut out,
        &mut err,
    )
    .await;
    let _ = writeln!(out, "{summary}");
    Ok(summary)
}

fn read_options(args: &ImportArgs) -> Result<ReadOptions> {
    let tz = match &args.tz {
        Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
            anyhow::anyhow!("--tz {name:?} is not an IANA time zone such as Europe/Berlin")
        })?,
        None => read::machine_time_zone()?,
    };
    let mut options = ReadOptions::new(tz);
    options.format = args
        .format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()?;
    options.default_project = args.default_project.clone();
    if let Some(path) = &args.user_map {
        options.user_map = Some(Arc::new(UserMap::load(path)?));
    }
    Ok(options)
}

fn credentials(args: &CredentialArgs) -> Result<Credentials> {
    Ok(Credentials {
        token_url: token_url(args)?,
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        audience: args.audience.clone(),
    })
}

/// The token endpoint: `--token-url`, or the one `--domain` names. Given
/// both, the one set by a flag wins over the one from the environment, and
/// `--token-url` wins when both are flags or both come from the environment.
fn token_url(args: &CredentialArgs) -> Result<String> {
    let token_url = args.token_url.as_ref().filter(|_| !args.domain_flag_wins);
    match (token_url, &args.domain) {
        (Some(url), _) => Ok(url.clone()),
        (None, Some(domain)) => {
            let host = domain.trim_end_matches('/');
            // A host and maybe a port: anything else (`/`, `?`, `#`, `@`)
            // would send the secret to some other URL than the token
            // endpoint.
            let is_host = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
            if host.is_empty() || !host.chars().all(is_host) {
                bail!(
                    "--domain takes a host name such as tenant.auth0.com, not {domain:?}; \
                     pass a full URL with --token-url"
                );
            }
            Ok(format!("https://{host}/oauth/token"))
        }
        (None, None) => {
            bail!("pass --token-url URL or --domain DOMAIN (or set TIMESHEETS_TOKEN_URL)")
        }
    }
}

/// The job's HTTP client. It follows no redirect: a token request carries
/// the client secret and an upload the token, and a redirect would resend
/// either to wherever it points.
pub fn http() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("timesheets/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")
}
