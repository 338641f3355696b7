//! Operations and transparency: health, readiness, metrics, the privacy statement, the API
//! description.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::AppError;
use crate::privacy::Privacy;
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: every catalog is prepared and scoring can start (a gateway: every shard has a
/// ready replica).
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    let ready = match &state.gateway {
        Some(gateway) => gateway.ready().await,
        None => state.catalogs.ready(),
    };
    if ready {
        Ok("ready")
    } else {
        Err(AppError::not_ready())
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    // off the executor: rendering counts the stored profiles, a database query
    let body = match tokio::task::spawn_blocking(move || state.metrics.render(&state)).await {
        Ok(body) => body,
        Err(_) => return AppError::internal().into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /v1/privacy`: what this server stores, for how long, and what it learns.
pub async fn privacy(State(state): State<AppState>) -> Json<Privacy> {
    Json(Privacy::of(&state))
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of this API.
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// Any other path.
pub async fn not_found() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
