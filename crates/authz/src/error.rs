//! The token endpoint's errors, named as RFC 6749 section 5.2 names them.
//!
//! Each variant carries the `error_description` a client sees; none carries
//! internal detail. Mapping to HTTP status codes is the HTTP layer's job.

/// A refused token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// A parameter is missing, repeated or malformed.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Unknown client, wrong secret, or no client authentication.
    /// `basic` records whether the client tried HTTP Basic, which decides
    /// the `WWW-Authenticate` challenge (section 5.2).
    #[error("invalid_client")]
    InvalidClient { basic: bool },
    /// A grant type other than `client_credentials`.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// The requested scope exceeds what the client was granted.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// The audience is unknown, or the client holds no grant for it; worded
    /// as Auth0 words it (RFC 6749 section 4.1.2.1's code).
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// Something failed on our side; the detail went to the log.
    #[error("server_error")]
    ServerError,
}

impl TokenError {
    /// The `error` code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::AccessDenied(_) => "access_denied",
            Self::ServerError => "server_error",
        }
    }

    /// The `error_description` on the wire.
    pub fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidScope(d)
            | Self::AccessDenied(d)
            | Self::UnsupportedGrantType(d) => d.clone(),
            Self::InvalidClient { .. } => "unknown client or wrong client secret".to_owned(),
            Self::ServerError => "the server could not issue a token".to_owned(),
        }
    }
}
