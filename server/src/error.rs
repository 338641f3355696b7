//! Errors of the server: start-up failures, and the HTTP error every handler returns.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;
use veilrank_core::api::{ErrorBody, ErrorDetail};

/// Why the server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The catalog file is unusable; the message names the file and line.
    #[error(transparent)]
    Catalog(#[from] CatalogLoadError),
    /// The catalog could not be prepared for scoring.
    #[error("catalog {id:?} cannot be served: {source}")]
    Prepare {
        /// The catalog's id.
        id: String,
        /// What the scheme said.
        source: veilrank_core::Error,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The configuration is inconsistent (the message says how).
    #[error("configuration: {0}")]
    Config(String),
    /// The profile store cannot be opened or used.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Serving failed.
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A catalog file that cannot be loaded: which file, which line (1-based), what is wrong.
#[derive(Debug, Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CatalogLoadError {
    /// The file.
    pub path: PathBuf,
    /// The line, when one is to blame.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// `Result` of the server crate.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// An HTTP error: a status and a JSON body `{"error": {"code": ..., "message": ...}}`.
///
/// Messages say what is wrong with the request; they never carry internals or request content.
#[derive(Debug, Clone)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

impl AppError {
    /// An error with a status, a stable machine-readable code and a human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Asks the client to retry after so many seconds (with 503).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The server is still preparing its catalog.
    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the catalog is still being prepared; retry shortly",
        )
        .retry_after(1)
    }

    /// Something failed inside; the details go to the log, not to the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// A profile that does not exist, was deleted or expired, or whose token does not match: the
    /// caller cannot tell which.
    pub fn profile_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            "no such profile, or the token does not match it",
        )
    }

    /// A catalog id the server does not serve.
    pub fn unknown_catalog(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_catalog",
            format!("this server has no catalog {id:?}; GET /v1/catalogs lists them"),
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "profile store failed");
        Self::internal()
    }
}

impl From<veilrank_core::Error> for AppError {
    fn from(e: veilrank_core::Error) -> Self {
        use veilrank_core::Error as E;
        let (status, code) = match &e {
            E::BadMagic => (StatusCode::BAD_REQUEST, "bad_magic"),
            E::UnsupportedVersion { .. } => (StatusCode::BAD_REQUEST, "unsupported_version"),
            E::WrongKind { .. } => (StatusCode::BAD_REQUEST, "wrong_kind"),
            E::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
            E::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            E::FingerprintMismatch { .. } => (StatusCode::CONFLICT, "parameter_mismatch"),
            E::CatalogMismatch { .. } => (StatusCode::CONFLICT, "catalog_mismatch"),
            E::StaleCatalog { .. } => (StatusCode::CONFLICT, "stale_catalog"),
            E::DimensionMismatch { .. } | E::UnsupportedDimension { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "dimension_mismatch")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        Self::new(status, code, e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
