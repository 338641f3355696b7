//! The gateway role: the public API in front of shard servers, each shard on one or more
//! replicas. Clients cannot tell it from a single server: it serves the whole catalog's
//! manifest and hint (joined from the shards' parts, cached per content version) and each score
//! as one response, streamed from the shards' parts in block order ([`fanout`]).
//!
//! It holds no catalog and no key: only public data (manifests, hints) and ciphertexts pass
//! through it. Its rules: never join parts of two content versions (503 `catalog_changing`,
//! `Retry-After`); a replica that fails before it answers is retried on the next; a shard with
//! no live replica is 503 `shard_unavailable`; a shard's own 4xx (a bad query) goes back to the
//! client as the shard wrote it.

mod fanout;
mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use veilrank_core::api::Manifest;
use veilrank_core::hint::{Hint, HintId};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{ParameterSet, V1_128};

use crate::error::AppError;
pub use upstream::Upstream;
use upstream::{read_limited, Replicas};

/// Largest JSON a shard may answer with (a manifest with its topics, a page of items).
const MAX_JSON_BYTES: usize = 64 << 20;

/// Why a gateway request failed: an error of ours, or a shard's answer passed on as it is.
#[derive(Debug)]
pub enum Failure {
    /// The gateway's own error.
    App(AppError),
    /// A shard's 4xx (the request's fault), for the client as the shard wrote it.
    Passed(Response),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Self::App(e) => e.into_response(),
            Self::Passed(response) => response,
        }
    }
}

/// A shard's part of one content version of a catalog.
#[derive(Clone, Debug)]
struct Part {
    items: usize,
    hint: HintId,
}

/// One content version of a catalog as the shards serve it, joined.
#[derive(Debug)]
pub struct View {
    catalog: CatalogRef,
    manifest: Manifest,
    hint: Bytes,
    hint_id: HintId,
    parts: Vec<Part>,
}

/// Views kept per catalog: the current one and the one before it (queries in flight during a
/// rolling update).
const VIEWS_PER_CATALOG: usize = 2;

/// The gateway: the shards' replicas and the views joined so far.
pub struct Gateway {
    shards: Vec<Replicas>,
    client: reqwest::Client,
    params: ParameterSet,
    views: Mutex<HashMap<String, Vec<Arc<View>>>>,
    default_id: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway to `upstreams` (one per shard, in shard order); `timeout` bounds each request
    /// to a shard, body included.
    pub fn try_new(upstreams: &[Upstream], timeout: Duration) -> crate::error::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| {
                crate::ServerError::Config(format!("cannot build the HTTP client: {e}"))
            })?;
        if upstreams.is_empty() {
            return Err(crate::ServerError::Config(
                "a gateway needs at least one --upstream".into(),
            ));
        }
        Ok(Self {
            shards: upstreams.iter().map(Replicas::new).collect(),
            client,
            params: V1_128,
            views: Mutex::new(HashMap::new()),
            default_id: tokio::sync::OnceCell::new(),
        })
    }

    /// Shards behind the gateway.
    #[must_use]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Whether every shard has a replica that is ready.
    pub async fn ready(&self) -> bool {
        let checks = (0..self.shards.len()).map(|k| async move {
            matches!(self.get(k, "/readyz").await, Ok((_, r)) if r.status().is_success())
        });
        futures_util::future::join_all(checks)
            .await
            .into_iter()
            .all(|ready| ready)
    }

    /// A GET on shard `shard`, on the first replica that answers with anything but a 5xx: that
    /// replica and its answer.
    async fn get(
        &self,
        shard: usize,
        path: &str,
    ) -> Result<(reqwest::Url, reqwest::Response), Failure> {
        let mut last = String::new();
        for base in self.shards[shard].in_turn() {
            let url = base.join(path.trim_start_matches('/')).map_err(|e| {
                tracing::error!(error = %e, "cannot build an upstream URL");
                AppError::internal()
            })?;
            match self.client.get(url).send().await {
                Ok(r) if !r.status().is_server_error() => return Ok((base.clone(), r)),
                Ok(r) => last = format!("{base}: {}", r.status()),
                Err(e) => last = format!("{base}: {e}"),
            }
            tracing::warn!(shard, replica = %base, error = %last, "shard replica failed");
        }
        Err(self.unavailable(shard, &last).into())
    }

    fn unavailable(&self, shard: usize, last: &str) -> AppError {
        tracing::warn!(shard, last_error = %last, "no live replica");
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shard_unavailable",
            format!(
                "shard {shard} of {} has no live replica; retry shortly",
                self.shards.len()
            ),
        )
        .retry_after(1)
    }

    /// The id of the catalog the single-catalog routes serve, as shard 0 says (once).
    pub async fn default_id(&self) -> Result<String, Failure> {
        self.default_id
            .get_or_try_init(|| async {
                let (_, response) = self.get(0, "/v1/catalogs").await?;
                if !response.status().is_success() {
                    return Err(passed(response).await.map_or_else(|e| e, Failure::Passed));
                }
                let bytes = read_limited(response, MAX_JSON_BYTES)
                    .await
                    .map_err(|e| bad_upstream(0, &e))?;
                let list: veilrank_core::api::CatalogList =
                    serde_json::from_slice(&bytes).map_err(|e| bad_upstream(0, &e.to_string()))?;
                Ok(list.default)
            })
            .await
            .cloned()
    }

    /// A GET answered by shard 0 (every shard has the whole catalog's metadata), passed on.
    pub async fn forward(&self, path_and_query: &str) -> Result<Response, Failure> {
        let (_, upstream) = self.get(0, path_and_query).await?;
        passed(upstream).await
    }

    /// The view of catalog `id`: of `version` (cached, or joined from the shards now), or the
    /// one the shards serve now.
    pub async fn view(
        &self,
        id: &str,
        version: Option<ContentVersion>,
    ) -> Result<Arc<View>, Failure> {
        if let Some(version) = version {
            if let Some(view) = self.cached(id, version) {
                return Ok(view);
            }
        }
        let manifests =
            futures_util::future::try_join_all((0..self.shards.len()).map(|k| self.part_of(id, k)))
                .await?;
        let first = &manifests[0].1;
        let all_same = manifests
            .iter()
            .all(|(_, m)| m.content_version == first.content_version);
        let wanted = version.map(|v| v.to_hex());
        if !all_same || wanted.is_some_and(|v| v != first.content_version) {
            return Err(changing(id).into());
        }
        if let Some(view) = ContentVersion::from_hex(&first.content_version)
            .ok()
            .and_then(|v| self.cached(id, v))
        {
            return Ok(view);
        }
        let view = Arc::new(self.join(id, manifests).await?);
        let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        let kept = views.entry(id.to_string()).or_default();
        kept.insert(0, view.clone());
        kept.truncate(VIEWS_PER_CATALOG);
        Ok(view)
    }

    fn cached(&self, id: &str, version: ContentVersion) -> Option<Arc<View>> {
        let views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        views
            .get(id)?
            .iter()
            .find(|v| v.catalog.version == version)
            .cloned()
    }

    /// Shard `k`'s manifest of catalog `id`, checked to be that shard's, and the replica that
    /// served it.
    async fn part_of(&self, id: &str, k: usize) -> Result<(reqwest::Url, Manifest), Failure> {
        let (replica, response) = self.get(k, &format!("/v1/catalogs/{id}")).await?;
        if !response.status().is_success() {
            return Err(passed(response).await.map_or_else(|e| e, Failure::Passed));
        }
        let bytes = read_limited(response, MAX_JSON_BYTES)
            .await
            .map_err(|e| bad_upstream(k, &e))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| bad_upstream(k, &e.to_string()))?;
        let (index, count) = manifest
            .shard
            .as_ref()
            .map_or((0, 1), |s| (s.index, s.count));
        if index != k || count != self.shards.len() {
            return Err(bad_upstream(
                k,
                &format!(
                    "{replica} serves shard {index} of {count}, the gateway expects shard {k} of {}",
                    self.shards.len()
                ),
            )
            .into());
        }
        Ok((replica, manifest))
    }

    /// Joins the shards' manifests and hints (fetched from the replicas that gave the manifests).
    async fn join(
        &self,
        id: &str,
        manifests: Vec<(reqwest::Url, Manifest)>,
    ) -> Result<View, Failure> {
        let catalog = CatalogRef {
            id: id.to_string(),
            version: ContentVersion::from_hex(&manifests[0].1.content_version)
                .map_err(|e| bad_upstream(0, &e.to_string()))?,
        };
        let hints = futures_util::future::try_join_all(
            manifests
                .iter()
                .enumerate()
                .map(|(k, (replica, manifest))| self.hint_part(k, replica, &catalog, manifest)),
        )
        .await?;
        let mut parts = Vec::with_capacity(hints.len());
        let mut next = 0;
        for (k, ((_, manifest), hint)) in manifests.iter().zip(&hints).enumerate() {
            let (first_item, items) = manifest
                .shard
                .as_ref()
                .map_or((0, manifest.item_count), |s| (s.first_item, s.items));
            if first_item != next || hint.items() != items {
                return Err(bad_upstream(k, "its part does not follow the previous one").into());
            }
            next += items;
            parts.push(Part {
                items,
                hint: hint.id(),
            });
        }
        let mut manifest = manifests[0].1.clone();
        if manifest.parameters.fingerprint != self.params.fingerprint().to_hex() {
            return Err(bad_upstream(0, "its parameter set is not the gateway's").into());
        }
        if next != manifest.item_count {
            return Err(bad_upstream(0, "the parts do not cover the catalog").into());
        }
        let hint = Hint::join(&self.params, hints).map_err(|e| bad_upstream(0, &e.to_string()))?;
        let encoded = wire::encode_hint(&self.params, &catalog, &hint)
            .map_err(|e| bad_upstream(0, &e.to_string()))?;
        manifest.shard = None;
        manifest.hint_bytes = encoded.len();
        tracing::info!(catalog = %id, version = %catalog.version.to_hex(), shards = parts.len(), "joined the shards' catalog");
        Ok(View {
            catalog,
            manifest,
            hint: Bytes::from(encoded),
            hint_id: hint.id(),
            parts,
        })
    }

    async fn hint_part(
        &self,
        k: usize,
        replica: &reqwest::Url,
        catalog: &CatalogRef,
        manifest: &Manifest,
    ) -> Result<Hint, Failure> {
        let items = manifest
            .shard
            .as_ref()
            .map_or(manifest.item_count, |s| s.items);
        let limit = wire::hint_size_limit(&self.params, items);
        let url = replica
            .join(&format!("v1/catalogs/{}/hint", catalog.id))
            .map_err(|_| AppError::internal())?;
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.unavailable(k, &e.to_string()))?;
        if !response.status().is_success() {
            return Err(self.unavailable(k, &response.status().to_string()).into());
        }
        let bytes = read_limited(response, limit)
            .await
            .map_err(|e| bad_upstream(k, &e))?;
        wire::decode_hint(&self.params, catalog, items, &bytes).map_err(|e| match e {
            veilrank_core::Error::StaleCatalog { .. } => changing(&catalog.id).into(),
            other => bad_upstream(k, &other.to_string()).into(),
        })
    }
}

impl View {
    /// The catalog's id and content version.
    #[must_use]
    pub fn catalog(&self) -> &CatalogRef {
        &self.catalog
    }

    /// The whole catalog's manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The whole catalog's hint as a response, tagged with its content version.
    #[must_use]
    pub fn hint_response(&self) -> Response {
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            Body::from(self.hint.clone()),
        )
            .into_response();
        let etag = format!("\"{}\"", self.catalog.version.to_hex());
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
    }
}

/// A catalog id as it may appear in a path to a shard: what `--catalog` accepts, and no `.`
/// or `..` (which would move the path).
pub fn check_id(id: &str) -> Result<(), AppError> {
    let plain = !id.is_empty()
        && id.len() <= wire::MAX_CATALOG_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && id != "."
        && id != "..";
    if plain {
        Ok(())
    } else {
        Err(AppError::unknown_catalog(id))
    }
}

/// The shards serve two versions of a catalog (a rolling update): nothing is joined across them.
fn changing(id: &str) -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "catalog_changing",
        format!("catalog {id:?} is being replaced on its shards; retry shortly"),
    )
    .retry_after(1)
}

/// A shard answered something it should not have: a deployment error, logged, not the client's.
fn bad_upstream(shard: usize, what: &str) -> AppError {
    tracing::error!(shard, error = %what, "a shard's answer is unusable");
    AppError::new(
        StatusCode::BAD_GATEWAY,
        "bad_upstream",
        format!("shard {shard} answered something the gateway cannot use (see the gateway's log)"),
    )
}

/// A shard's answer passed on to the client: its status, content type and body.
async fn passed(upstream: reqwest::Response) -> Result<Response, Failure> {
    let status = upstream.status();
    let content_type = upstream.headers().get(header::CONTENT_TYPE).cloned();
    let retry_after = upstream.headers().get(header::RETRY_AFTER).cloned();
    let bytes = read_limited(upstream, MAX_JSON_BYTES)
        .await
        .map_err(|e| bad_upstream(0, &e))?;
    let mut response = (status, Body::from(bytes)).into_response();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::RETRY_AFTER, retry_after),
    ] {
        if let Some(value) = value {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
