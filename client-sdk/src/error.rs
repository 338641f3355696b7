//! The one error type of the client SDK.

use thiserror::Error;

/// Everything that can go wrong on the client side.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server could not be reached, or the connection failed.
    #[cfg(feature = "http")]
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
    /// A root certificate given in [`crate::ConnectOptions`] is not usable PEM.
    #[cfg(feature = "http")]
    #[error("unusable root certificate: {0}")]
    InvalidCertificate(String),
    /// A body that should be JSON of the API is not (a proxy's error page, a truncated body).
    #[error("the server's answer is not the JSON expected: {0}")]
    InvalidJson(String),
    /// A manifest this SDK cannot use (no items, more than the wire format counts).
    #[error("unusable catalog manifest: {0}")]
    BadManifest(String),
    /// An answer larger than the most its kind may be: read no further.
    #[error("the server's answer is larger than {limit} bytes")]
    TooLarge {
        /// The most bytes accepted for it.
        limit: usize,
    },
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

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        Self::InvalidJson(e.to_string())
    }
}

impl ClientError {
    /// The typed error of an error response: its status, the `code` and `message` of its JSON
    /// body (`{"error": {"code": ..., "message": ...}}`), and its `Retry-After` in seconds. For
    /// bindings and apps with their own HTTP stack; the HTTP client uses it too.
    #[must_use]
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<u64>) -> Self {
        match serde_json::from_slice::<veilrank_core::api::ErrorBody>(body) {
            Ok(body) => Self::from_code(status, body.error.code, body.error.message, retry_after),
            Err(_) => Self::Server {
                status,
                code: "unknown".into(),
                message: "the server's error response was not JSON".into(),
            },
        }
    }

    /// The typed error of a server error code.
    #[must_use]
    pub fn from_code(status: u16, code: String, message: String, retry_after: Option<u64>) -> Self {
        match code.as_str() {
            "stale_catalog" => Self::CatalogChanged {
                current: "unknown".into(),
            },
            "parameter_mismatch" => Self::ParameterMismatch {
                server: message,
                client: veilrank_core::V1_128.fingerprint().to_hex(),
            },
            "profile_incompatible" => Self::ProfileIncompatible { message },
            "profile_not_found" => Self::ProfileNotFound,
            "rate_limited" => Self::RateLimited {
                retry_after: std::time::Duration::from_secs(retry_after.unwrap_or(1)),
            },
            "missing_api_key" | "bad_api_key" => Self::Unauthorized { message },
            _ => Self::Server {
                status,
                code,
                message,
            },
        }
    }

    /// A stable machine-readable code for this error, as the bindings report it: the server's
    /// code where it sent one, else the kind of failure.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            #[cfg(feature = "http")]
            Self::Http(_) => "network",
            #[cfg(feature = "http")]
            Self::InvalidCertificate(_) => "invalid_certificate",
            Self::InvalidJson(_) => "invalid_json",
            Self::BadManifest(_) => "bad_manifest",
            Self::TooLarge { .. } => "too_large",
            Self::Server { code, .. } => code,
            Self::ParameterMismatch { .. } => "parameter_mismatch",
            Self::CatalogChanged { .. } => "catalog_changed",
            Self::ProfileIncompatible { .. } => "profile_incompatible",
            Self::ProfileNotFound => "profile_not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unauthorized { .. } => "unauthorized",
            Self::InvalidPreferences(_) => "invalid_preferences",
            Self::Core(_) => "protocol",
            Self::Io { .. } => "io",
            Self::Task(_) => "internal",
        }
    }
}

/// `Result` of the client SDK.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
