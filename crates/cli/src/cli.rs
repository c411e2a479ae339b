//! The command line: raw flags, each also read from a `TIMESHEETS_...`
//! environment variable (and so from `.env`). Flags win over the
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use secrecy::SecretString;

/// The API identifier of the scenario, used when `--audience` is not given.
pub const DEFAULT_AUDIENCE: &str = "https://api.exampleco.com/timesheets";

/// OAuth 2.0 machine-to-machine time entry ingestion: an authorization
/// server, the Timesheets API, and the import job that feeds it.
#[derive(Debug, Parser)]
#[command(name = "timesheets", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line (exiting on a usage error, as clap does),
    /// noting which of two alternative settings was given as a flag.
    pub fn parse_args() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let credentials = match &mut cli.command {
            Command::Token(args) => Some(&mut args.credentials),
            Command::Import(args) => Some(&mut args.credentials),
            _ => None,
        };
        if let (Some(credentials), Some((_, sub))) = (credentials, matches.subcommand()) {
            let (domain, token_url) = (from_flag(sub, "domain"), from_flag(sub, "token_url"));
            if domain && token_url {
                Self::command()
                    .error(
                        ErrorKind::ArgumentConflict,
                        "pass --token-url or --domain, not both",
                    )
                    .exit();
            }
            credentials.domain_flag_wins = domain;
        }
        cli
    }
}

fn from_flag(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authorization server and the Timesheets API on one port.
    Serve(ServeArgs),
    /// Register and list machine-to-machine clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Get an access token and print it alone on stdout.
    Token(TokenArgs),
    /// Upload every entry of time-tracking exports to the API.
    Import(ImportArgs),
    /// Run the whole scenario on a fresh server, with nothing configured.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; the embedded issuer is http://<listen>/.
    #[arg(long, env = "TIMESHEETS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataArgs,
    /// The API identifier tokens must carry as their audience.
    #[arg(long, env = "TIMESHEETS_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub audience: String,
    /// Trust this external issuer (e.g. https://tenant.auth0.com/) instead of
    /// running the embedded authorization server.
    #[arg(long, env = "TIMESHEETS_ISSUER")]
    pub issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Directory holding the databases and the signing key.
    #[arg(
        long = "data",
        env = "TIMESHEETS_DATA",
        default_value = "./timesheets-data"
    )]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client and print its id and secret, once.
    Create(CreateClientArgs),
    /// List clients and their grants (never their secrets).
    List(ListClientsArgs),
}

#[derive(Debug, Args)]
pub struct CreateClientArgs {
    /// A name for people, e.g. "Timesheets import job".
    #[arg(long, env = "TIMESHEETS_CLIENT_NAME")]
    pub name: String,
    /// The API the client may get tokens for.
    #[arg(long, env = "TIMESHEETS_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub audience: String,
    /// The scopes granted, space-separated, e.g. "batch:upload".
    #[arg(long, env = "TIMESHEETS_SCOPE")]
    pub scope: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print {"client_id": ..., "client_secret": ...} instead of text.
    #[arg(long, env = "TIMESHEETS_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListClientsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Print JSON instead of a table.
    #[arg(long, env = "TIMESHEETS_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
}

/// Where to get a token, and with which credentials.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The token endpoint, e.g. http://127.0.0.1:8080/oauth/token.
    #[arg(long, env = "TIMESHEETS_TOKEN_URL")]
    pub token_url: Option<String>,
    /// Short for --token-url https://<DOMAIN>/oauth/token (an Auth0 tenant).
    #[arg(long, env = "TIMESHEETS_DOMAIN")]
    pub domain: Option<String>,
    /// Set after parsing: --domain was a flag and --token-url was not, so
    /// the domain wins over a token URL from the environment.
    #[arg(skip)]
    pub domain_flag_wins: bool,
    #[arg(long, env = "TIMESHEETS_CLIENT_ID")]
    pub client_id: String,
    /// Prefer the environment variable or .env: a flag shows in `ps`.
    // A generated secret may start with `-` (base64url): it is a value, never
    // a flag.
    #[arg(
        long,
        env = "TIMESHEETS_CLIENT_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub client_secret: SecretString,
    /// The API identifier to ask a token for.
    #[arg(long, env = "TIMESHEETS_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub audience: String,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The API's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "TIMESHEETS_API_URL")]
    pub api_url: String,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// The exporter's time zone for exports with local times (default: this
    /// machine's), e.g. Europe/Berlin.
    #[arg(long, env = "TIMESHEETS_TZ")]
    pub tz: Option<String>,
    /// CSV mapping the identity in the export (email) to a user_id.
    #[arg(long, env = "TIMESHEETS_USER_MAP")]
    pub user_map: Option<PathBuf>,
    /// Project for rows that have none (default: such rows fail).
    #[arg(long, env = "TIMESHEETS_DEFAULT_PROJECT")]
    pub default_project: Option<String>,
    /// Input format: toggl-csv, json, ndjson or csv (default: detected).
    #[arg(long, env = "TIMESHEETS_FORMAT")]
    pub format: Option<String>,
    /// Uploads in flight at once.
    #[arg(long, env = "TIMESHEETS_CONCURRENCY", default_value_t = timesheets_import::run::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Export files to read.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's data directory instead of removing it at the end.
    #[arg(long, env = "TIMESHEETS_KEEP", value_parser = BoolishValueParser::new())]
    pub keep: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_client_secret_starting_with_a_hyphen_is_a_value_not_a_flag() {
        let args = [
            "timesheets",
            "token",
            "--client-id",
            "x",
            "--client-secret",
            "-Gk_3",
        ];

        let cli = Cli::try_parse_from(args).unwrap();

        let Command::Token(token) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(token.credentials.client_secret.expose_secret(), "-Gk_3");
    }
}
