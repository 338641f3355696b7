//! Stored profiles: upload an encrypted preference vector once, score it many times with a
//! request of a few hundred bytes, replace it, erase it.
//!
//! Every request on a profile carries its access token as a bearer token. An unknown id, a
//! deleted or expired profile and a wrong token all get the same 404, after the same work.

use std::time::{Duration, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use veilrank_core::api::{ProfileCreated, ProfileInfo};
use veilrank_core::{wire, V1_128};

use crate::audit::Event;
use crate::auth::{bearer, AppName};
use crate::error::AppError;
use crate::routes::target::Target;
use crate::routes::{octet_body, on_pool};
use crate::state::AppState;
use crate::store::{now_unix, ProfileId, ProfileMeta};
use crate::token::AccessToken;

fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}

fn info(id: &ProfileId, meta: &ProfileMeta, idle: Option<Duration>) -> ProfileInfo {
    ProfileInfo {
        id: id.to_string(),
        catalog: meta.catalog.clone(),
        dimension: meta.dim as usize,
        created_at: rfc3339(meta.created),
        expires_at: rfc3339(meta.expires_at(idle)),
        size_bytes: meta.size,
    }
}

/// The profile id and token of a request; anything malformed is "not found".
fn credentials(id: &str, headers: &HeaderMap) -> Result<(ProfileId, AccessToken), AppError> {
    let token = bearer(headers).ok_or_else(|| {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "requests on a profile need its access token: Authorization: Bearer <token>",
        )
    })?;
    let id = ProfileId::parse(id).ok_or_else(AppError::profile_not_found)?;
    let token = AccessToken::parse(&token).ok_or_else(AppError::profile_not_found)?;
    Ok((id, token))
}

/// The metadata of a live profile whose token matches; "not found" otherwise, after the same
/// token computation whether or not the profile exists.
fn authorize(
    state: &AppState,
    id: &ProfileId,
    token: &AccessToken,
    now: u64,
) -> Result<ProfileMeta, AppError> {
    check(state, state.store.meta(id)?, token, now)
}

/// [`authorize`] on metadata already read.
fn check(
    state: &AppState,
    meta: Option<ProfileMeta>,
    token: &AccessToken,
    now: u64,
) -> Result<ProfileMeta, AppError> {
    const NOBODY: [u8; 32] = [0; 32];
    let matches = token.matches(meta.as_ref().map_or(&NOBODY, |m| &m.verifier));
    match meta {
        Some(meta) if matches && meta.expires_at(state.retention.idle) > now => Ok(meta),
        _ => Err(AppError::profile_not_found()),
    }
}

/// A validated upload: the catalog it is for, and its bytes.
struct Upload {
    catalog: Target,
    bytes: Bytes,
}

/// Reads an encrypted query from the body and checks it against the catalog its header names.
async fn upload(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Upload, Response> {
    let limit = match &state.gateway {
        // the shards' catalogs: bounded by the largest query of any dimension, checked exactly
        // against the catalog's once its dimension is known
        Some(_) => wire::query_size_limit(&V1_128, V1_128.max_dim),
        None => state.catalogs.max_query_size(),
    };
    let bytes = octet_body(headers, body, limit)
        .await
        .map_err(IntoResponse::into_response)?;
    let header = wire::peek(&bytes).map_err(|e| AppError::from(e).into_response())?;
    let catalog = Target::of(state, &header.catalog.id).await?;
    Ok(Upload { catalog, bytes })
}

impl Upload {
    /// Decodes the whole query (blocking work): shape, parameters and dimension must fit.
    fn validate(&self) -> Result<(), AppError> {
        self.catalog.validate(&self.bytes)
    }

    fn meta(&self, token: &AccessToken, now: u64, lifetime: Duration) -> ProfileMeta {
        ProfileMeta {
            verifier: token.verifier(),
            catalog: self.catalog.reference().id.clone(),
            dim: self.catalog.dim() as u32,
            fingerprint: self.catalog.params().fingerprint().0,
            created: now,
            expires: now.saturating_add(lifetime.as_secs()),
            last_used: now,
            size: self.bytes.len() as u64,
        }
    }
}

fn app_name(app: Option<Extension<AppName>>) -> Option<String> {
    app.map(|Extension(AppName(name))| name)
}

fn record(state: &AppState, event: Event, id: &ProfileId, catalog: &str, app: Option<&str>) {
    state.audit.record(event, id, catalog, app, now_unix());
    state.metrics.profile_event(event);
}

/// `POST /v1/profiles`: stores an encrypted query; answers its id and access token (201).
pub async fn create(
    State(state): State<AppState>,
    app: Option<Extension<AppName>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let upload = upload(&state, &headers, body).await?;
    let app = app_name(app);
    let job_state = state.clone();
    let created = on_pool(&state, move || {
        let state = job_state;
        upload.validate()?;
        let token = AccessToken::generate().map_err(internal)?;
        let id = ProfileId::generate().map_err(internal)?;
        let now = now_unix();
        let meta = upload.meta(&token, now, state.retention.lifetime);
        let sealed = token.seal(&id, &upload.bytes).map_err(internal)?;
        state.store.insert(&id, &meta, &sealed)?;
        record(&state, Event::Created, &id, &meta.catalog, app.as_deref());
        Ok(ProfileCreated {
            profile: info(&id, &meta, state.retention.idle),
            token: token.to_hex().to_string(),
        })
    })
    .await
    .map_err(IntoResponse::into_response)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /v1/profiles/{id}`: metadata only, never content.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ProfileInfo>, AppError> {
    let (id, token) = credentials(&id, &headers)?;
    let job_state = state.clone();
    let info = on_pool(&state, move || {
        let meta = authorize(&job_state, &id, &token, now_unix())?;
        Ok(info(&id, &meta, job_state.retention.idle))
    })
    .await?;
    Ok(Json(info))
}

/// `PUT /v1/profiles/{id}`: replaces the content (a new upload, same id and token); the
/// lifetime starts again.
pub async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    app: Option<Extension<AppName>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ProfileInfo>, Response> {
    let (id, token) = credentials(&id, &headers).map_err(IntoResponse::into_response)?;
    let upload = upload(&state, &headers, body).await?;
    let app = app_name(app);
    let job_state = state.clone();
    let info = on_pool(&state, move || {
        let state = job_state;
        let now = now_unix();
        authorize(&state, &id, &token, now)?;
        upload.validate()?;
        let meta = upload.meta(&token, now, state.retention.lifetime);
        let sealed = token.seal(&id, &upload.bytes).map_err(internal)?;
        if !state.store.replace(&id, &meta, &sealed)? {
            return Err(AppError::profile_not_found());
        }
        record(&state, Event::Replaced, &id, &meta.catalog, app.as_deref());
        Ok(info(&id, &meta, state.retention.idle))
    })
    .await
    .map_err(IntoResponse::into_response)?;
    Ok(Json(info))
}

/// `DELETE /v1/profiles/{id}`: erases the profile now (204); every later use gets 404.
pub async fn erase(
    State(state): State<AppState>,
    Path(id): Path<String>,
    app: Option<Extension<AppName>>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let (id, token) = credentials(&id, &headers)?;
    let app = app_name(app);
    let job_state = state.clone();
    on_pool(&state, move || {
        let state = job_state;
        let meta = authorize(&state, &id, &token, now_unix())?;
        if !state.store.delete(&id)? {
            return Err(AppError::profile_not_found());
        }
        record(&state, Event::Deleted, &id, &meta.catalog, app.as_deref());
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/profiles/{id}/score`: scores the stored profile against the current version of its
/// catalog. A profile made for another dimension or parameter set than the catalog now has, or
/// stored in an earlier wire format, gets 409 `profile_incompatible`: replace it with one
/// encrypted for the current catalog.
pub async fn score(
    State(state): State<AppState>,
    Path(id): Path<String>,
    app: Option<Extension<AppName>>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let (id, token) = credentials(&id, &headers).map_err(IntoResponse::into_response)?;
    let app = app_name(app);
    let job_state = state.clone();
    let job_id = id;
    let (meta, bytes) = on_pool(&state, move || {
        let (state, id) = (job_state, job_id);
        let now = now_unix();
        // the token is checked on the metadata alone, before the content is read: an unknown,
        // an erased and an existing id with a wrong token cost the same (one small read and one
        // token comparison), so the time of a 404 does not say whether the id exists
        let meta = check(&state, state.store.meta(&id)?, &token, now)?;
        let sealed = state
            .store
            .sealed(&id)?
            .ok_or_else(AppError::profile_not_found)?;
        let bytes = token.open(&id, &sealed).ok_or_else(|| {
            tracing::error!(profile = %id, "a stored profile does not open with its own token");
            AppError::internal()
        })?;
        if state.retention.idle.is_some() {
            state.store.touch(&id, now)?;
        }
        Ok((meta, Bytes::from(bytes)))
    })
    .await
    .map_err(IntoResponse::into_response)?;
    let catalog = Target::of(&state, &meta.catalog).await?;
    compatible(&meta, &catalog, &bytes).map_err(IntoResponse::into_response)?;
    let response = catalog.score(&state, bytes).await;
    if !response.status().is_success() {
        return Err(response);
    }
    // audited once scored: a query refused for load (503) was not a use of the profile
    let audit_state = state.clone();
    tokio::task::spawn_blocking(move || {
        record(
            &audit_state,
            Event::Scored,
            &id,
            &meta.catalog,
            app.as_deref(),
        );
    })
    .await
    .map_err(|e| internal(format!("audit task failed: {e}")).into_response())?;
    Ok(response)
}

/// Whether a stored profile still fits its catalog: the same dimension and parameter set, and
/// a wire format this server reads. 409 `profile_incompatible` otherwise: the client replaces it
/// with one encrypted for the catalog as it is now.
fn compatible(meta: &ProfileMeta, catalog: &Target, bytes: &[u8]) -> Result<(), AppError> {
    // stored before the protocol changed (format 1 had per-query masks)
    if let Err(veilrank_core::Error::UnsupportedVersion { found, supported }) = wire::peek(bytes) {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "profile_incompatible",
            format!(
                "the profile was stored in wire format {found}, this server scores format \
                 {supported}: replace the profile with one encrypted for it"
            ),
        ));
    }
    let params = catalog.params();
    if meta.dim as usize != catalog.dim() || meta.fingerprint != params.fingerprint().0 {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "profile_incompatible",
            format!(
                "the profile is for dimension {} under parameter set {}; catalog {:?} now \
                 has dimension {} under {}: replace the profile with one encrypted for it",
                meta.dim,
                veilrank_core::params::hex(&meta.fingerprint),
                meta.catalog,
                catalog.dim(),
                params.fingerprint().to_hex(),
            ),
        ));
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "profile operation failed");
    AppError::internal()
}
