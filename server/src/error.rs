//! Errors of the server: start-up failures, and the HTTP error every handler returns.

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
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

/// Makes every error response a JSON [`ErrorBody`], those that axum and tower-http write
/// themselves included (405 with an empty body, a path that is not UTF-8 as plain text, 408 from
/// the timeout). An error to a request that came with a body also says `Connection: close`: the
/// body may be unread (a 413 stops reading), and then hyper cannot reuse the connection, so the
/// client must not either.
pub async fn uniform_errors(request: Request, next: Next) -> Response {
    let has_body = request_has_body(request.headers());
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let mut response = if is_json(response.headers()) {
        response
    } else {
        as_json(response, &method).await
    };
    if has_body {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn request_has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(CONTENT_LENGTH)
        .is_some_and(|v| v.to_str().map_or(true, |v| v.trim() != "0"))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/json")
}

/// The same status and headers, with a JSON body: a code for the status, and the plain-text
/// message axum wrote when there is a short one (it describes the request, never internals).
async fn as_json(response: Response, method: &Method) -> Response {
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 512)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let status = parts.status;
    let (code, fallback) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed".to_string()),
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("this route does not take {method} (see the Allow header)"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took longer than this server allows".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the body is too large".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body's Content-Type is not one this route takes".to_string(),
        ),
        s if s.is_server_error() => ("internal", "internal error".to_string()),
        s => (
            "error",
            s.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        ),
    };
    let message = match text {
        Some(t) if status.is_client_error() && t.len() <= 300 => t,
        _ => fallback,
    };
    parts.headers.remove(CONTENT_LENGTH);
    let body = Json(ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message,
        },
    });
    let mut json = body.into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    *json.status_mut() = status;
    json
}
