//! The HTTP handlers.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use veilrank_core::wire;

use veilrank_core::api::{ItemsPage, Manifest, Noise, Parameters, Quantization};

use crate::error::AppError;
use crate::state::AppState;

/// Largest page of `GET /v1/catalog/items`.
pub const MAX_PAGE: usize = 10_000;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the catalog is prepared and scoring can start.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state
        .catalog
        .prepared()
        .map(|_| "ready")
        .ok_or_else(AppError::not_ready)
}

/// `GET /v1/catalog`.
pub async fn manifest(State(state): State<AppState>) -> Result<Json<Manifest>, AppError> {
    let catalog = &state.catalog;
    let prepared = catalog.prepared().ok_or_else(AppError::not_ready)?;
    let plan = prepared.noise_plan();
    Ok(Json(Manifest {
        id: catalog.reference.id.clone(),
        content_version: catalog.reference.version.to_hex(),
        item_count: catalog.items.len(),
        dimension: catalog.dim,
        quantization: Quantization {
            bound: veilrank_core::params::VALUE_BOUND,
            catalog_scale: catalog.scale,
            query_scale: "per query: max|u| / 127".into(),
        },
        parameters: Parameters {
            name: catalog.params.name.into(),
            fingerprint: catalog.params.fingerprint().to_hex(),
            polynomial_size: catalog.params.polynomial_size,
        },
        noise: Noise {
            server_prime: plan.prime.name().into(),
            response_bits: plan.response_bits,
            log2_failure_per_score: plan.log2_failure,
        },
        topics: catalog.topics.clone(),
        max_query_bytes: catalog.query_size_limit(),
    }))
}

/// Paging of `GET /v1/catalog/items`.
#[derive(Deserialize, Debug)]
pub struct Page {
    /// First item, 0-based.
    #[serde(default)]
    pub offset: usize,
    /// Items in the page (at most [`MAX_PAGE`]).
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    1000
}

/// `GET /v1/catalog/items?offset=&limit=`: the whole catalog's metadata, page by page, so that
/// clients never ask for the items they were recommended (which would reveal them).
pub async fn items(
    State(state): State<AppState>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ItemsPage>, AppError> {
    let Query(page) =
        page.map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    if page.limit == 0 || page.limit > MAX_PAGE {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let catalog = &state.catalog;
    let start = page.offset.min(catalog.items.len());
    let end = start.saturating_add(page.limit).min(catalog.items.len());
    Ok(Json(ItemsPage {
        content_version: catalog.reference.version.to_hex(),
        total: catalog.items.len(),
        offset: start,
        items: catalog.items[start..end].to_vec(),
    }))
}

/// `POST /v1/score`: an encrypted query in, encrypted scores out.
///
/// Decoding and scoring run on the blocking pool behind a semaphore; the scoring time goes back
/// in a `Server-Timing` header. Nothing about the request body is logged.
pub async fn score(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/octet-stream") {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the query must be sent as application/octet-stream",
        ));
    }
    let body = body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "the query is larger than the {} bytes a query for this catalog can be",
                state.catalog.query_size_limit()
            )
        } else {
            e.body_text()
        };
        AppError::new(status, "bad_body", message)
    })?;
    if state.catalog.prepared().is_none() {
        return Err(AppError::not_ready());
    }
    let permit = tokio::time::timeout(state.queue_timeout, state.scoring.clone().acquire_owned())
        .await
        .map_err(|_| {
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy scoring other queries; retry shortly",
            )
            .retry_after(1)
        })?
        .map_err(|_| AppError::internal())?;
    let catalog = state.catalog.clone();
    let (encoded, elapsed) = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = Instant::now();
        let prepared = catalog.prepared().ok_or_else(AppError::not_ready)?;
        let query = wire::decode_query(&catalog.params, &catalog.reference, catalog.dim, &body)?;
        let response = prepared.score(&query)?;
        let encoded = wire::encode_response(&catalog.params, &catalog.reference, &response)
            .map_err(|e| {
                tracing::error!(error = %e, "encoding a response failed");
                AppError::internal()
            })?;
        Ok::<_, AppError>((encoded, started.elapsed()))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "scoring task failed");
        AppError::internal()
    })??;
    tracing::debug!(
        score_ms = elapsed.as_secs_f64() * 1e3,
        bytes = encoded.len(),
        "scored"
    );
    let timing = format!("score;dur={:.3}", elapsed.as_secs_f64() * 1e3);
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        encoded,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    Ok(response)
}

/// Any other path.
pub async fn not_found() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
