//! The one error type of the client SDK.

use thiserror::Error;

/// Everything that can go wrong on the client side.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error.
    #[error("server said {status} ({code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server uses another parameter set than this SDK.
    #[error(
        "the server uses parameter set {server}, this client speaks {client}: upgrade one of them"
    )]
    ParameterMismatch {
        /// The server's fingerprint.
        server: String,
        /// The client's fingerprint.
        client: String,
    },
    /// The catalog changed between two requests; fetch the manifest again.
    #[error("the catalog changed on the server (now version {current}); refresh and retry")]
    CatalogChanged {
        /// The server's current content version.
        current: String,
    },
    /// The stored profile does not fit the catalog any more (its dimension or parameter set
    /// changed): replace it with one encrypted for the current catalog.
    #[error("the stored profile no longer fits its catalog: {message}")]
    ProfileIncompatible {
        /// The server's explanation.
        message: String,
    },
    /// No such profile on the server: erased, expired, or the token is wrong.
    #[error("no such profile on the server (erased, expired, or the token does not match)")]
    ProfileNotFound,
    /// The app's API key is over its rate limit.
    #[error("rate limited: retry in {retry_after:?}")]
    RateLimited {
        /// How long the server asks to wait.
        retry_after: std::time::Duration,
    },
    /// The server wants a (valid) API key.
    #[error("not authorized: {message}")]
    Unauthorized {
        /// The server's explanation.
        message: String,
    },
    /// The preferences do not fit the catalog.
    #[error("invalid preferences: {0}")]
    InvalidPreferences(String),
    /// The scheme failed (bad response, key problem).
    #[error(transparent)]
    Core(#[from] veilrank_core::Error),
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A background task failed.
    #[error("internal task failed: {0}")]
    Task(String),
}

/// `Result` of the client SDK.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
