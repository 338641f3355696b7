//! The catalog routes in the gateway role: the same paths and answers as a single server's,
//! served from the shards ([`crate::gateway`]).

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use veilrank_core::V1_128;

use crate::gateway::{check_id, Failure, Gateway};
use crate::hint::HintForm;
use crate::routes::octet_body;

/// A failure as the client's answer, counted where it is the gateway's own 5xx.
fn refused(gateway: &Gateway, failure: Failure) -> Response {
    gateway.count_refusal(&failure);
    failure.into_response()
}

/// The catalog a route names, or the default one.
async fn id_of(gateway: &Gateway, id: Option<String>) -> Result<String, Failure> {
    let id = match id {
        Some(id) => id,
        None => gateway.default_id().await?,
    };
    check_id(&id)?;
    Ok(id)
}

/// The whole catalog's manifest, joined from the shards'.
pub(super) async fn manifest(gateway: &Gateway, id: Option<String>) -> Response {
    let view = async {
        let id = id_of(gateway, id).await?;
        gateway.view(&id, None).await
    };
    match view.await {
        Ok(view) => Json(view.manifest().clone()).into_response(),
        Err(e) => refused(gateway, e),
    }
}

/// The whole catalog's hint, joined from the shards' parts, in the form asked for.
pub(super) async fn hint(gateway: &Gateway, id: Option<String>, form: HintForm) -> Response {
    let view = async {
        let id = id_of(gateway, id).await?;
        gateway.view(&id, None).await
    };
    match view.await {
        Ok(view) => view.hints().response(form),
        Err(e) => refused(gateway, e),
    }
}

/// A page of items, each shard's share from that shard.
pub(super) async fn items(
    gateway: &Gateway,
    id: Option<String>,
    offset: usize,
    limit: usize,
) -> Response {
    let page = async {
        let id = id_of(gateway, id).await?;
        gateway.items(&id, offset, limit).await
    };
    match page.await {
        Ok(page) => Json(page).into_response(),
        Err(e) => refused(gateway, e),
    }
}

/// An encrypted query scored on every shard; its body is checked by the shards (the gateway
/// bounds it by the largest query any catalog accepts).
pub(super) async fn score(
    gateway: &Gateway,
    id: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let scored = async {
        let id = id_of(gateway, id).await?;
        let limit = veilrank_core::wire::query_size_limit(&V1_128, V1_128.max_dim);
        let query = octet_body(headers, body, limit).await?;
        gateway.score(&id, query).await
    };
    scored.await.unwrap_or_else(|e| refused(gateway, e))
}
