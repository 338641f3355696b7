//! Operator routes, behind the admin key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use veilrank_core::api::ReloadOutcome;

use crate::catalogs::Reloaded;
use crate::error::{AppError, ServerError};
use crate::state::AppState;

/// `POST /admin/catalogs/{catalog}/reload`: reads the catalog's file again and, if its content
/// changed, prepares the new version and swaps it in. Requests in flight finish on the old
/// version; nothing is refused meanwhile.
pub async fn reload(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReloadOutcome>, AppError> {
    if state.catalogs.get(&id).is_none() {
        return Err(AppError::unknown_catalog(&id));
    }
    let catalogs = state.catalogs.clone();
    let job_id = id.clone();
    // preparation uses every core for a while: on the blocking pool, outside the scoring slots
    let outcome = tokio::task::spawn_blocking(move || catalogs.reload(&job_id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reload task failed");
            AppError::internal()
        })?
        .map_err(|e| match e {
            ServerError::Config(message) => {
                AppError::new(StatusCode::CONFLICT, "not_reloadable", message)
            }
            other => AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_catalog",
                format!("the new catalog was not loaded, the old one stays: {other}"),
            ),
        })?;
    Ok(Json(match outcome {
        Reloaded::Unchanged { version } => ReloadOutcome {
            catalog: id,
            status: "unchanged".into(),
            previous_version: version.clone(),
            current_version: version,
        },
        Reloaded::Replaced { old, new } => ReloadOutcome {
            catalog: id,
            status: "replaced".into(),
            previous_version: old,
            current_version: new,
        },
    }))
}
