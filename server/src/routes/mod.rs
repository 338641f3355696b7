//! The HTTP API: one table of every endpoint (method, path, who may call it), from which the
//! router and the OpenAPI check are both built, and what the handlers share.

pub mod admin;
pub mod catalogs;
mod gateway;
pub mod ops;
pub mod profiles;
mod target;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};

use crate::batcher::Scored;
use crate::error::AppError;
use crate::state::AppState;

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, metrics, the API description).
    Public,
    /// Apps with an API key, when keys are configured (every `/v1` route).
    App,
    /// The operator, with the admin key.
    Admin,
}

/// One endpoint of the API.
pub struct Endpoint {
    /// Its method.
    pub method: Method,
    /// Its path template, as axum and OpenAPI write it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its handler.
    pub handler: MethodRouter<AppState>,
}

fn endpoint(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        handler,
    }
}

/// Every endpoint the server has.
pub fn endpoints() -> Vec<Endpoint> {
    use Access::{Admin, App, Public};
    vec![
        endpoint(Method::GET, "/healthz", Public, get(ops::healthz)),
        endpoint(Method::GET, "/readyz", Public, get(ops::readyz)),
        endpoint(Method::GET, "/metrics", Public, get(ops::metrics)),
        endpoint(Method::GET, "/openapi.json", Public, get(ops::openapi)),
        endpoint(Method::GET, "/v1/privacy", App, get(ops::privacy)),
        endpoint(Method::GET, "/v1/catalogs", App, get(catalogs::list)),
        endpoint(
            Method::GET,
            "/v1/catalogs/{catalog}",
            App,
            get(catalogs::manifest),
        ),
        endpoint(
            Method::GET,
            "/v1/catalogs/{catalog}/items",
            App,
            get(catalogs::items),
        ),
        endpoint(
            Method::GET,
            "/v1/catalogs/{catalog}/hint",
            App,
            get(catalogs::hint),
        ),
        endpoint(
            Method::POST,
            "/v1/catalogs/{catalog}/score",
            App,
            post(catalogs::score),
        ),
        endpoint(
            Method::GET,
            "/v1/catalog",
            App,
            get(catalogs::default_manifest),
        ),
        endpoint(
            Method::GET,
            "/v1/catalog/items",
            App,
            get(catalogs::default_items),
        ),
        endpoint(
            Method::GET,
            "/v1/catalog/hint",
            App,
            get(catalogs::default_hint),
        ),
        endpoint(
            Method::POST,
            "/v1/score",
            App,
            post(catalogs::default_score),
        ),
        endpoint(Method::POST, "/v1/profiles", App, post(profiles::create)),
        endpoint(Method::GET, "/v1/profiles/{id}", App, get(profiles::show)),
        endpoint(
            Method::PUT,
            "/v1/profiles/{id}",
            App,
            put(profiles::replace),
        ),
        endpoint(
            Method::DELETE,
            "/v1/profiles/{id}",
            App,
            delete(profiles::erase),
        ),
        endpoint(
            Method::POST,
            "/v1/profiles/{id}/score",
            App,
            post(profiles::score),
        ),
        endpoint(
            Method::POST,
            "/admin/catalogs/{catalog}/reload",
            Admin,
            post(admin::reload),
        ),
    ]
}

/// Checks that a body is `application/octet-stream` and reads at most `limit` bytes of it.
pub(crate) async fn octet_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, AppError> {
    // a media type, parsed: case-insensitive, parameters allowed, nothing glued on
    let octets = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == mime::APPLICATION_OCTET_STREAM.essence_str());
    if !octets {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the query must be sent as application/octet-stream",
        ));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad_body",
                format!(
                    "the query is larger than the {limit} bytes a query for this catalog can be"
                ),
            )
        } else {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the body: {e}"),
            )
        }
    })
}

/// Runs a CPU-heavy or blocking job on the blocking pool, behind the scoring semaphore: a job
/// waits at most the queue timeout for a slot, then gets 503.
pub(crate) async fn on_pool<T: Send + 'static>(
    state: &AppState,
    job: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    state.metrics.queue_depth.inc();
    let permit =
        tokio::time::timeout(state.queue_timeout, state.scoring.clone().acquire_owned()).await;
    state.metrics.queue_depth.dec();
    let permit = permit
        .map_err(|_| {
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy scoring other queries; retry shortly",
            )
            .retry_after(1)
        })?
        .map_err(|_| AppError::internal())?;
    let metrics = state.metrics.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        metrics.scoring.inc();
        let result = job();
        metrics.scoring.dec();
        result
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "a blocking job failed");
        AppError::internal()
    })?
}

/// Encrypted scores as an HTTP response. `Server-Timing` says where the server's time went:
/// `expand` (decoding, and moving the batch's queries to the transform domain), `queue` (waiting for the
/// pass in progress), `score` (the pass over the catalog, shared by `batch` queries) and `total`.
pub(crate) fn scores_response(scored: Scored, decode: Duration) -> Response {
    let expand = decode + scored.expand;
    let total = expand + scored.waited + scored.scoring;
    tracing::debug!(
        total_ms = total.as_secs_f64() * 1e3,
        batch = scored.batch,
        bytes = scored.encoded.len(),
        "scored"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let timing = format!(
        "expand;dur={:.3}, queue;dur={:.3}, score;dur={:.3}, total;dur={:.3}, batch;desc=\"{}\"",
        ms(expand),
        ms(scored.waited),
        ms(scored.scoring),
        ms(total),
        scored.batch
    );
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        axum::body::Body::new(scored.encoded),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}
