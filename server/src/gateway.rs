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
mod joined;
mod upstream;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use veilrank_core::wire::{self, ContentVersion};
use veilrank_core::{ParameterSet, Precision, V1_128};

use crate::error::AppError;
pub use upstream::Upstream;
use upstream::{read_limited, Replicas};
pub use view::View;

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

/// The gateway: the shards' replicas and the views joined so far.
pub struct Gateway {
    shards: Vec<Replicas>,
    client: reqwest::Client,
    params: ParameterSet,
    /// The parameter set at every precision, by fingerprint, computed once: how a shard's
    /// answer says which precision it is at.
    by_fingerprint: HashMap<[u8; 32], ParameterSet>,
    views: Mutex<HashMap<String, Vec<Arc<View>>>>,
    default_id: tokio::sync::OnceCell<String>,
    /// Longest a replica may take to start its answer before the next is tried.
    head_timeout: Duration,
    metrics: Arc<crate::metrics::Metrics>,
    /// The catalog version each replica last answered with, by catalog id and replica: queries
    /// go first to replicas of the version the gateway serves, so that while a catalog is
    /// replaced replica by replica the answers do not alternate between versions.
    seen: Mutex<HashMap<(String, reqwest::Url), ContentVersion>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// The parameter set at the precision whose fingerprint a shard's answer carries (the
    /// gateway's own, 8/8, when none matches: decoding then says the fingerprint is foreign).
    fn params_of(&self, fingerprint: &[u8; 32]) -> ParameterSet {
        self.by_fingerprint
            .get(fingerprint)
            .copied()
            .unwrap_or(self.params)
    }

    /// A gateway to `upstreams` (one per shard, in shard order): a replica has `head_timeout`
    /// to start answering a query (its head) before the next is tried, and `timeout` for the
    /// whole of any request, body included.
    pub fn try_new(
        upstreams: &[Upstream],
        head_timeout: Duration,
        timeout: Duration,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> crate::error::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2).min(head_timeout))
            .timeout(timeout)
            // a shard host that vanishes without a reset (its link cut) is noticed on idle
            // connections too
            .tcp_keepalive(Duration::from_secs(10))
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
            by_fingerprint: Precision::all()
                .map(|p| {
                    let params = V1_128.with_precision(p);
                    (params.fingerprint().0, params)
                })
                .collect(),
            views: Mutex::new(HashMap::new()),
            default_id: tokio::sync::OnceCell::new(),
            head_timeout,
            metrics,
            seen: Mutex::new(HashMap::new()),
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
            match tokio::time::timeout(self.head_timeout, self.client.get(url).send()).await {
                Ok(Ok(r)) if !r.status().is_server_error() => return Ok((base.clone(), r)),
                Ok(Ok(r)) => last = format!("{base}: {}", r.status()),
                Ok(Err(e)) => last = format!("{base}: {e}"),
                Err(_) => last = format!("{base}: no answer in {:?}", self.head_timeout),
            }
            self.replica_failed(shard, &last);
        }
        Err(self.unavailable(shard, &last).into())
    }

    /// Notes the version `replica` serves catalog `id` in.
    fn saw(&self, id: &str, replica: &reqwest::Url, version: ContentVersion) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert((id.to_string(), replica.clone()), version);
    }

    /// Shard `k`'s replicas in turn, those last seen on the version of catalog `id` the
    /// gateway serves first.
    fn replicas_for(&self, id: &str, k: usize) -> Vec<&reqwest::Url> {
        let mut order: Vec<&reqwest::Url> = self.shards[k].in_turn().collect();
        if let Some(current) = self.current(id) {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            // stable: the turn is kept among the replicas of each version
            order.sort_by_key(|url| seen.get(&(id.to_string(), (*url).clone())) != Some(&current));
        }
        order
    }

    /// Logs and counts a replica's failure.
    fn replica_failed(&self, shard: usize, error: &str) {
        tracing::warn!(shard, error, "shard replica failed");
        self.metrics
            .replica_failures
            .get_or_create(&crate::metrics::ShardLabels {
                shard: shard.to_string(),
            })
            .inc();
    }

    /// Counts an answer that is the gateway's own 5xx (a shard's 4xx passed on is not).
    pub fn count_refusal(&self, failure: &Failure) {
        if let Failure::App(e) = failure {
            if e.status().is_server_error() {
                self.metrics
                    .gateway_refusals
                    .get_or_create(&crate::metrics::ReasonLabels {
                        reason: e.code().to_string(),
                    })
                    .inc();
            }
        }
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

    /// A GET answered by shard 0, passed on (the list of catalogs, the same on every shard).
    pub async fn forward(&self, path_and_query: &str) -> Result<Response, Failure> {
        let (_, upstream) = self.get(0, path_and_query).await?;
        passed(upstream).await
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
