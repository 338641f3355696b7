//! The catalog as the shards serve it, joined: per content version, the whole manifest and the
//! whole hint, and each shard's part (its items and hint id) that the fan-out checks answers by.

use std::sync::Arc;

use veilrank_core::api::{ItemInfo, ItemsPage, Manifest};
use veilrank_core::hint::{Hint, HintId};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};

use super::upstream::read_limited;
use super::{bad_upstream, changing, passed, Failure, Gateway, MAX_JSON_BYTES};
use crate::error::AppError;
use crate::hint::{EncodedHints, HintForm};

/// A shard's part of one content version of a catalog.
#[derive(Clone, Debug)]
pub(super) struct Part {
    pub(super) first_item: usize,
    pub(super) items: usize,
    pub(super) hint: HintId,
}

/// One content version of a catalog as the shards serve it, joined.
#[derive(Debug)]
pub struct View {
    pub(super) catalog: CatalogRef,
    pub(super) manifest: Manifest,
    pub(super) hints: EncodedHints,
    pub(super) hint_id: HintId,
    pub(super) parts: Vec<Part>,
}

/// Views kept per catalog: the current one and the one before it (queries in flight during a
/// rolling update).
const VIEWS_PER_CATALOG: usize = 2;

impl Gateway {
    /// The view of catalog `id`: of `version` (cached, or joined from replicas that serve it),
    /// or, without one, of the version every shard serves now. While a catalog is replaced
    /// replica by replica, shards offer two versions: the gateway keeps to the one it serves
    /// until every shard has a replica of another, then moves to that one.
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
        let offers = futures_util::future::try_join_all(
            (0..self.shards.len()).map(|k| self.manifests_of(id, k)),
        )
        .await?;
        let complete: Vec<&str> = offers[0]
            .iter()
            .map(|(_, m)| m.content_version.as_str())
            .filter(|v| {
                offers
                    .iter()
                    .all(|shard| shard.iter().any(|(_, m)| m.content_version == *v))
            })
            .collect();
        let current = self.current(id).map(|v| v.to_hex());
        let chosen = match version {
            Some(v) => complete.iter().find(|c| **c == v.to_hex()).copied(),
            None => complete
                .iter()
                .find(|c| Some(**c) != current.as_deref())
                .or_else(|| complete.first())
                .copied(),
        };
        let Some(chosen) = chosen.map(str::to_string) else {
            return Err(changing(id).into());
        };
        if let Some(view) = ContentVersion::from_hex(&chosen)
            .ok()
            .and_then(|v| self.cached(id, v))
        {
            return Ok(view);
        }
        let manifests: Vec<(reqwest::Url, Manifest)> = offers
            .into_iter()
            .filter_map(|shard| shard.into_iter().find(|(_, m)| m.content_version == chosen))
            .collect();
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

    /// The version of catalog `id` the gateway joined last, if any.
    pub(super) fn current(&self, id: &str) -> Option<ContentVersion> {
        let views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        views.get(id)?.first().map(|v| v.catalog.version)
    }

    /// The manifests of catalog `id` that shard `k`'s live replicas serve, each checked to be
    /// that shard's; a 4xx (an unknown catalog) is passed on, no live replica is 503.
    async fn manifests_of(
        &self,
        id: &str,
        k: usize,
    ) -> Result<Vec<(reqwest::Url, Manifest)>, Failure> {
        let path = format!("v1/catalogs/{id}");
        let asks = self.shards[k].in_turn().map(|base| {
            let path = path.clone();
            async move {
                let url = base.join(&path).map_err(|e| e.to_string())?;
                let sent = tokio::time::timeout(self.head_timeout, self.client.get(url).send())
                    .await
                    .map_err(|_| format!("no answer in {:?}", self.head_timeout))?
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((base.clone(), sent))
            }
        });
        let mut found = Vec::new();
        let mut last = String::new();
        for answer in futures_util::future::join_all(asks).await {
            let (replica, response) = match answer {
                Ok(ok) => ok,
                Err(e) => {
                    self.replica_failed(k, &e);
                    last = e;
                    continue;
                }
            };
            let status = response.status();
            if status.is_client_error() {
                return Err(passed(response).await.map_or_else(|e| e, Failure::Passed));
            }
            if !status.is_success() {
                last = format!("{replica}: {status}");
                self.replica_failed(k, &last);
                continue;
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
                        "{replica} serves shard {index} of {count}, the gateway expects shard {k} \
                         of {}",
                        self.shards.len()
                    ),
                )
                .into());
            }
            if let Ok(version) = ContentVersion::from_hex(&manifest.content_version) {
                self.saw(id, &replica, version);
            }
            found.push((replica, manifest));
        }
        if found.is_empty() {
            return Err(self.unavailable(k, &last).into());
        }
        Ok(found)
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
        // one version is one precision (its content version covers it): every part's, checked
        let precision = manifests[0].1.precision;
        let params = self.params.with_precision(precision);
        for (k, ((_, manifest), hint)) in manifests.iter().zip(&hints).enumerate() {
            let (first_item, items) = manifest
                .shard
                .as_ref()
                .map_or((0, manifest.item_count), |s| (s.first_item, s.items));
            if manifest.precision != precision {
                return Err(bad_upstream(k, "its precision is not the other shards'").into());
            }
            // shards on CPUs of different kinds choose different moduli unless pinned
            let (modulus, first) = (
                &manifest.noise.server_prime,
                &manifests[0].1.noise.server_prime,
            );
            if modulus != first {
                return Err(bad_upstream(
                    k,
                    &format!(
                        "it computes under {modulus}, shard 0 under {first}: start every shard \
                         with the same --modulus"
                    ),
                )
                .into());
            }
            if first_item != next || hint.items() != precision.rows(items) {
                return Err(bad_upstream(k, "its part does not follow the previous one").into());
            }
            next += items;
            parts.push(Part {
                first_item,
                items,
                hint: hint.id(),
            });
        }
        let mut manifest = manifests[0].1.clone();
        if manifest.parameters.fingerprint != params.fingerprint().to_hex() {
            return Err(bad_upstream(0, "its parameter set is not the gateway's").into());
        }
        if next != manifest.item_count {
            return Err(bad_upstream(0, "the parts do not cover the catalog").into());
        }
        let hint = Hint::join(&params, hints).map_err(|e| bad_upstream(0, &e.to_string()))?;
        // the shards' noise plans are the whole catalog's, their rounding too (shards from
        // before the rounded hint state none: then the exact hint serves every client)
        if manifests
            .iter()
            .any(|(_, m)| m.noise.hint_bits != manifest.noise.hint_bits)
        {
            return Err(bad_upstream(0, "the shards round the hint to different widths").into());
        }
        let encoded = EncodedHints::encode(&params, &catalog, &hint, manifest.noise.hint_bits)
            .map_err(|e| bad_upstream(0, &e.to_string()))?;
        manifest.shard = None;
        manifest.hint_bytes = encoded.bytes(HintForm::Exact).len();
        manifest.rounded_hint_bytes = encoded.rounded_len();
        tracing::info!(catalog = %id, version = %catalog.version.to_hex(), shards = parts.len(), "joined the shards' catalog");
        Ok(View {
            catalog,
            manifest,
            hints: encoded,
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
        let params = self.params.with_precision(manifest.precision);
        let limit = wire::hint_size_limit(&params, items);
        let url = replica
            .join(&format!("v1/catalogs/{}/hint", catalog.id))
            .map_err(|_| AppError::internal())?;
        let response = tokio::time::timeout(self.head_timeout, self.client.get(url).send())
            .await
            .map_err(|_| self.unavailable(k, "no answer in time"))?
            .map_err(|e| self.unavailable(k, &e.to_string()))?;
        if !response.status().is_success() {
            return Err(self.unavailable(k, &response.status().to_string()).into());
        }
        let bytes = read_limited(response, limit)
            .await
            .map_err(|e| bad_upstream(k, &e))?;
        wire::decode_hint(&params, catalog, items, &bytes).map_err(|e| match e {
            veilrank_core::Error::StaleCatalog { .. } => changing(&catalog.id).into(),
            other => bad_upstream(k, &other.to_string()).into(),
        })
    }
}

impl Gateway {
    /// A page of catalog `id`'s items (`offset`, at most `limit`), each shard asked for its
    /// share: a shard of a split catalog holds its part's items alone.
    pub async fn items(&self, id: &str, offset: usize, limit: usize) -> Result<ItemsPage, Failure> {
        let view = self.view(id, None).await?;
        let total = view.manifest.item_count;
        let start = offset.min(total);
        let end = start.saturating_add(limit).min(total);
        let mut items = Vec::with_capacity(end - start);
        for (k, part) in view.parts.iter().enumerate() {
            let lo = start.max(part.first_item);
            let hi = end.min(part.first_item + part.items);
            if lo < hi {
                items.extend(self.items_of(k, &view, lo, hi).await?);
            }
        }
        Ok(ItemsPage {
            content_version: view.catalog.version.to_hex(),
            total,
            offset: start,
            items,
        })
    }

    /// Items `lo..hi` from a replica of shard `k` on the view's version.
    async fn items_of(
        &self,
        k: usize,
        view: &View,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<ItemInfo>, Failure> {
        let path = format!(
            "v1/catalogs/{}/items?offset={lo}&limit={}",
            view.catalog.id,
            hi - lo
        );
        let mut last = String::from("no replica on this catalog version");
        for base in self.replicas_for(&view.catalog.id, k) {
            let url = base.join(&path).map_err(|_| AppError::internal())?;
            let response =
                match tokio::time::timeout(self.head_timeout, self.client.get(url).send()).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        last = e.to_string();
                        self.replica_failed(k, &last);
                        continue;
                    }
                    Err(_) => {
                        last = format!("no answer in {:?}", self.head_timeout);
                        self.replica_failed(k, &last);
                        continue;
                    }
                };
            if response.status().is_client_error() {
                return Err(passed(response).await.map_or_else(|e| e, Failure::Passed));
            }
            if !response.status().is_success() {
                last = response.status().to_string();
                self.replica_failed(k, &last);
                continue;
            }
            let bytes = read_limited(response, MAX_JSON_BYTES)
                .await
                .map_err(|e| bad_upstream(k, &e))?;
            let page: ItemsPage =
                serde_json::from_slice(&bytes).map_err(|e| bad_upstream(k, &e.to_string()))?;
            if page.content_version != view.catalog.version.to_hex() {
                continue; // a replica on another version: another may have this one
            }
            if page.offset != lo || page.items.len() != hi - lo {
                return Err(bad_upstream(k, "its items page is not the range asked for").into());
            }
            return Ok(page.items);
        }
        Err(self.unavailable(k, &last).into())
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

    /// The whole catalog's hint, both forms.
    #[must_use]
    pub fn hints(&self) -> &EncodedHints {
        &self.hints
    }
}
