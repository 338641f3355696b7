//! The catalog a stored profile is for, wherever it is scored: on this server, or on the shards
//! behind a gateway. Profiles need only what an upload is checked against (parameters, id,
//! dimension) and a way to score.

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use veilrank_core::wire::{self, CatalogRef};
use veilrank_core::{ParameterSet, V1_128};

use crate::catalog::ServedCatalog;
use crate::error::AppError;
use crate::gateway::{check_id, View};
use crate::routes::{on_pool, scores_response};
use crate::state::AppState;

/// A catalog to store a profile for or to score one on.
pub(super) enum Target {
    /// Served here.
    Local(Arc<ServedCatalog>),
    /// On the shards, as the gateway sees its current version.
    Sharded(Arc<View>),
}

impl Target {
    /// Catalog `id`, as it is now.
    pub(super) async fn of(state: &AppState, id: &str) -> Result<Self, Response> {
        match &state.gateway {
            Some(gateway) => {
                check_id(id).map_err(IntoResponse::into_response)?;
                let view = gateway
                    .view(id, None)
                    .await
                    .map_err(IntoResponse::into_response)?;
                Ok(Self::Sharded(view))
            }
            None => state
                .catalogs
                .get(id)
                .map(Self::Local)
                .ok_or_else(|| AppError::unknown_catalog(id).into_response()),
        }
    }

    /// Its parameter set.
    pub(super) fn params(&self) -> ParameterSet {
        match self {
            Self::Local(c) => c.params,
            Self::Sharded(v) => V1_128.with_precision(v.manifest().precision),
        }
    }

    /// Its id and content version.
    pub(super) fn reference(&self) -> &CatalogRef {
        match self {
            Self::Local(c) => &c.reference,
            Self::Sharded(v) => v.catalog(),
        }
    }

    /// Its items' dimension.
    pub(super) fn dim(&self) -> usize {
        match self {
            Self::Local(c) => c.dim,
            Self::Sharded(v) => v.manifest().dimension,
        }
    }

    /// Checks a query for it (blocking work): shape, parameters and dimension.
    pub(super) fn validate(&self, bytes: &[u8]) -> Result<(), AppError> {
        wire::decode_query(&self.params(), self.reference(), self.dim(), bytes)?;
        Ok(())
    }

    /// Scores a query already checked against it: in this server's batcher, or on the shards.
    pub(super) async fn score(&self, state: &AppState, bytes: Bytes) -> Response {
        match self {
            Self::Sharded(view) => match &state.gateway {
                Some(gateway) => gateway
                    .score(&view.catalog().id, bytes)
                    .await
                    .unwrap_or_else(IntoResponse::into_response),
                None => AppError::internal().into_response(),
            },
            Self::Local(catalog) => {
                let scored = async {
                    if catalog.prepared().is_none() {
                        return Err(AppError::not_ready());
                    }
                    let job = catalog.clone();
                    let (query, decode) = on_pool(state, move || {
                        let started = std::time::Instant::now();
                        let query =
                            wire::decode_query(&job.params, &job.reference, job.dim, &bytes)?;
                        Ok((query, started.elapsed()))
                    })
                    .await?;
                    let scored = state.batcher.score(catalog.clone(), query).await?;
                    Ok(scores_response(scored, decode))
                };
                scored.await.unwrap_or_else(IntoResponse::into_response)
            }
        }
    }
}
