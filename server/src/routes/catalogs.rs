//! Catalog routes: the list, each catalog's manifest and items, and scoring an uploaded query.
//! The single-catalog routes of the first API version (`/v1/catalog`, `/v1/score`) serve the
//! default catalog.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use veilrank_core::api::{
    CatalogList, CatalogSummary, ItemsPage, Manifest, Noise, Parameters, Quantization, ShardInfo,
};
use veilrank_core::wire;

use crate::catalog::ServedCatalog;
use crate::error::AppError;
use crate::hint::{checked_form, EncodedHints, HintForm, HintQuery};
use crate::routes::{gateway, octet_body, on_pool, scores_response};
use crate::state::AppState;

/// Largest page of `GET /v1/catalogs/{catalog}/items`.
pub const MAX_PAGE: usize = 10_000;

fn catalog(state: &AppState, id: &str) -> Result<Arc<ServedCatalog>, AppError> {
    state
        .catalogs
        .get(id)
        .ok_or_else(|| AppError::unknown_catalog(id))
}

/// `GET /v1/catalogs`.
pub async fn list(State(state): State<AppState>) -> Response {
    if let Some(gateway) = &state.gateway {
        return gateway.forward("/v1/catalogs").await.into_response();
    }
    Json(CatalogList {
        default: state.catalogs.default_id().to_string(),
        catalogs: state
            .catalogs
            .all()
            .iter()
            .map(|c| CatalogSummary {
                id: c.reference.id.clone(),
                content_version: c.reference.version.to_hex(),
                item_count: c.item_count(),
                dimension: c.dim,
                ready: c.prepared().is_some(),
            })
            .collect(),
    })
    .into_response()
}

/// `GET /v1/catalogs/{catalog}`: everything a client checks before it encrypts.
pub async fn manifest(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::manifest(gateway, Some(id)).await);
    }
    let catalog = catalog(&state, &id)?;
    Ok(manifest_of(&catalog)?.into_response())
}

/// `GET /v1/catalog`: the default catalog's manifest.
pub async fn default_manifest(State(state): State<AppState>) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::manifest(gateway, None).await);
    }
    Ok(manifest_of(&state.catalogs.default_catalog())?.into_response())
}

fn manifest_of(catalog: &ServedCatalog) -> Result<Json<Manifest>, AppError> {
    let prepared = catalog.prepared().ok_or_else(AppError::not_ready)?;
    let plan = prepared.noise_plan();
    let precision = catalog.params.precision;
    Ok(Json(Manifest {
        id: catalog.reference.id.clone(),
        content_version: catalog.reference.version.to_hex(),
        item_count: catalog.item_count(),
        dimension: catalog.dim,
        quantization: Quantization {
            bound: precision.catalog_bound(),
            query_bound: precision.query_bound(),
            catalog_scale: catalog.scale,
            query_scale: format!("per query: max|u| / {}", precision.query_bound()),
        },
        precision,
        parameters: Parameters {
            name: catalog.params.name.into(),
            fingerprint: catalog.params.fingerprint().to_hex(),
            polynomial_size: catalog.params.polynomial_size,
        },
        noise: Noise {
            server_prime: plan.prime.name().into(),
            response_bits: plan.response_bits,
            hint_bits: Some(plan.hint_bits),
            log2_failure_per_score: plan.log2_failure,
        },
        topics: catalog.topics.clone(),
        max_query_bytes: catalog.query_size_limit(),
        hint_bytes: catalog
            .hints()
            .map_or(0, |h| h.bytes(HintForm::Exact).len()),
        rounded_hint_bytes: catalog.hints().and_then(EncodedHints::rounded_len),
        shard: (prepared.shard().count() > 1).then(|| ShardInfo {
            index: prepared.shard().index(),
            count: prepared.shard().count(),
            // the engine counts rows, a limb each ([`veilrank_core::precision`])
            first_item: prepared.first_item() / precision.limbs(),
            items: prepared.items() / precision.limbs(),
        }),
    }))
}

/// `GET /v1/catalogs/{catalog}/hint?form=`: the public part of every score that does not
/// depend on the query ([`veilrank_core::hint`]), for the catalog's current content version,
/// exact (the default) or rounded. The same bytes for every client; clients fetch it once per
/// version.
pub async fn hint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Query<HintQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let form = checked_form(form)?;
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::hint(gateway, Some(id), form).await);
    }
    let catalog = catalog(&state, &id)?;
    hint_of(&catalog, form)
}

/// `GET /v1/catalog/hint?form=`: the default catalog's hint.
pub async fn default_hint(
    State(state): State<AppState>,
    form: Result<Query<HintQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let form = checked_form(form)?;
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::hint(gateway, None, form).await);
    }
    hint_of(&state.catalogs.default_catalog(), form)
}

fn hint_of(catalog: &ServedCatalog, form: HintForm) -> Result<Response, AppError> {
    let hints = catalog.hints().ok_or_else(AppError::not_ready)?;
    Ok(hints.response(form))
}

/// Paging of the items routes.
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

/// `GET /v1/catalogs/{catalog}/items?offset=&limit=`: the whole catalog's metadata, page by
/// page, so that clients never ask for the items they were recommended (which would reveal them).
pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        let page = checked_page(page)?;
        return Ok(gateway::items(gateway, Some(id), page.offset, page.limit).await);
    }
    let catalog = catalog(&state, &id)?;
    Ok(items_of(&catalog, page)?.into_response())
}

/// `GET /v1/catalog/items`: the default catalog's items.
pub async fn default_items(
    State(state): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        let page = checked_page(page)?;
        return Ok(gateway::items(gateway, None, page.offset, page.limit).await);
    }
    Ok(items_of(&state.catalogs.default_catalog(), page)?.into_response())
}

fn items_of(
    catalog: &ServedCatalog,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<ItemsPage>, AppError> {
    let page = checked_page(page)?;
    // offsets are the whole catalog's; a part of a split catalog answers with the items of the
    // page it holds (the gateway asks each part for its share of a page)
    let (first, held) = (catalog.first_item(), catalog.items.len());
    let start = page.offset.clamp(first, first + held);
    let end = page
        .offset
        .saturating_add(page.limit)
        .clamp(start, first + held);
    Ok(Json(ItemsPage {
        content_version: catalog.reference.version.to_hex(),
        total: catalog.item_count(),
        offset: start,
        items: catalog.items[start - first..end - first].to_vec(),
    }))
}

/// The paging parameters, checked.
fn checked_page(page: Result<Query<Page>, QueryRejection>) -> Result<Page, AppError> {
    let Query(page) =
        page.map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    if page.limit == 0 || page.limit > MAX_PAGE {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    Ok(page)
}

/// `POST /v1/catalogs/{catalog}/score`: an encrypted query in, encrypted scores out.
///
/// Decoding runs on the blocking pool behind the semaphore, expansion and scoring in the batcher
/// (with any other queries waiting), on the catalog version current when the request arrived;
/// the response names that version. Nothing about the
/// body is logged.
pub async fn score(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::score(gateway, Some(id), &headers, body).await);
    }
    let catalog = catalog(&state, &id)?;
    score_with(state, catalog, headers, body).await
}

/// `POST /v1/score`: scoring against the default catalog.
pub async fn default_score(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if let Some(gateway) = &state.gateway {
        return Ok(gateway::score(gateway, None, &headers, body).await);
    }
    let catalog = state.catalogs.default_catalog();
    score_with(state, catalog, headers, body).await
}

async fn score_with(
    state: AppState,
    catalog: Arc<ServedCatalog>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let body = octet_body(&headers, body, catalog.query_size_limit()).await?;
    if catalog.prepared().is_none() {
        return Err(AppError::not_ready());
    }
    let job_catalog = catalog.clone();
    let (query, decode) = on_pool(&state, move || {
        let catalog = job_catalog;
        let started = Instant::now();
        let query = wire::decode_query(&catalog.params, &catalog.reference, catalog.dim, &body)?;
        Ok((query, started.elapsed()))
    })
    .await?;
    let scored = state.batcher.score(catalog, query).await?;
    Ok(scores_response(scored, decode))
}
