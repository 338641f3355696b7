//! A catalog as the server serves it: public metadata, quantized once, prepared for scoring.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use veilrank_core::quantize::{quantize_with_scale, scale_for};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::ParameterSet;
use veilrank_engine::{Kernel, PreparedCatalog, Shard};

use veilrank_core::api::{ItemInfo, Topic};

use crate::catalog_file::RawCatalog;
use crate::error::{Result, ServerError};

/// A served catalog. Metadata is available at once; the prepared form when preparation ends.
pub struct ServedCatalog {
    /// Id and content version, as messages name them.
    pub reference: CatalogRef,
    /// The parameter set.
    pub params: ParameterSet,
    /// The items' dimension.
    pub dim: usize,
    /// The one quantization scale of every item vector.
    pub scale: f32,
    /// Items in catalog order (the order of scores).
    pub items: Vec<ItemInfo>,
    /// Named directions clients may build preferences from.
    pub topics: Vec<Topic>,
    quantized: Vec<i8>,
    /// The scoring kernel asked for (`None`: the fastest this CPU runs).
    kernel: Option<Kernel>,
    /// The part of the catalog this server scores (the whole, unless it is a shard server).
    shard: Shard,
    /// The prepared form, with its hint encoded once as a wire message (every client downloads
    /// it once per content version): set together, so a ready catalog always has its hint.
    prepared: OnceLock<(PreparedCatalog, axum::body::Bytes)>,
}

impl ServedCatalog {
    /// Quantizes a validated catalog and computes its content version (fast); preparation is
    /// [`Self::prepare`].
    pub fn new(id: &str, raw: RawCatalog, params: ParameterSet) -> Result<Self> {
        let prepare_error = |source| ServerError::Prepare {
            id: id.to_string(),
            source,
        };
        if id.is_empty() || id.len() > wire::MAX_CATALOG_ID_LEN {
            return Err(prepare_error(veilrank_core::Error::Malformed(format!(
                "catalog id must be 1 to {} bytes",
                wire::MAX_CATALOG_ID_LEN
            ))));
        }
        params.check_dim(raw.dim).map_err(prepare_error)?;
        let scale =
            scale_for(raw.items.iter().flat_map(|i| i.vector.iter())).map_err(prepare_error)?;
        let mut quantized = Vec::with_capacity(raw.items.len() * raw.dim);
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"veilrank-catalog-v1");
        hasher.update(&(raw.dim as u64).to_le_bytes());
        hasher.update(&scale.to_le_bytes());
        let mut items = Vec::with_capacity(raw.items.len());
        for item in raw.items {
            let q = quantize_with_scale(&item.vector, scale).map_err(prepare_error)?;
            for text in [&item.id, &item.title] {
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            hasher.update(&q.iter().map(|&v| v as u8).collect::<Vec<u8>>());
            quantized.extend_from_slice(&q);
            items.push(ItemInfo {
                id: item.id,
                title: item.title,
            });
        }
        Ok(Self {
            reference: CatalogRef {
                id: id.to_string(),
                version: ContentVersion(*hasher.finalize().as_bytes()),
            },
            params,
            dim: raw.dim,
            scale,
            items,
            topics: raw.topics,
            quantized,
            kernel: None,
            shard: Shard::whole(),
            prepared: OnceLock::new(),
        })
    }

    /// Scores with `kernel` instead of the fastest this CPU runs (`None`); preparation fails with
    /// a clear error where it cannot.
    #[must_use]
    pub fn with_kernel(mut self, kernel: Option<Kernel>) -> Self {
        self.kernel = kernel;
        self
    }

    /// Scores only `shard`'s blocks (its metadata, scale and version stay the whole catalog's).
    #[must_use]
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// The part of the catalog this server scores.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// The scoring kernel asked for, if any.
    pub fn kernel(&self) -> Option<Kernel> {
        self.kernel
    }

    /// Moves the catalog into the transform domain (CPU-heavy: call off the async executor).
    pub fn prepare(&self) -> Result<&PreparedCatalog> {
        self.prepare_reporting(&|_, _| {})
    }

    /// [`Self::prepare`], also calling `report(blocks_done, blocks)` as it goes (a progress bar).
    pub fn prepare_reporting(
        &self,
        report: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<&PreparedCatalog> {
        if let Some(prepared) = self.prepared() {
            return Ok(prepared);
        }
        // a log line per tenth done, for catalogs large enough to take a while
        let logged_tenths = AtomicUsize::new(0);
        let progress = |done: usize, blocks: usize| {
            report(done, blocks);
            let tenths = done * 10 / blocks;
            if blocks >= 64 && logged_tenths.fetch_max(tenths, Ordering::Relaxed) < tenths {
                tracing::info!(
                    catalog = %self.reference.id,
                    percent = tenths * 10,
                    "preparing catalog"
                );
            }
        };
        let prepared = PreparedCatalog::prepare_shard(
            &self.params,
            self.dim,
            &self.quantized,
            self.shard,
            self.kernel,
            &progress,
        )
        .map_err(|source| ServerError::Prepare {
            id: self.reference.id.clone(),
            source,
        })?;
        let hint = wire::encode_hint(&self.params, &self.reference, prepared.hint()).map_err(
            |source| ServerError::Prepare {
                id: self.reference.id.clone(),
                source,
            },
        )?;
        let (prepared, _) = self
            .prepared
            .get_or_init(|| (prepared, axum::body::Bytes::from(hint)));
        Ok(prepared)
    }

    /// The encoded hint, once prepared.
    pub fn hint(&self) -> Option<axum::body::Bytes> {
        self.prepared.get().map(|(_, hint)| hint.clone())
    }

    /// The prepared form, once ready.
    pub fn prepared(&self) -> Option<&PreparedCatalog> {
        self.prepared.get().map(|(prepared, _)| prepared)
    }

    /// The quantized vectors, item-major (public data: the catalog is public).
    pub fn quantized(&self) -> &[i8] {
        &self.quantized
    }

    /// The largest query body this catalog accepts.
    pub fn query_size_limit(&self) -> usize {
        wire::query_size_limit(&self.params, self.dim)
    }
}
