//! A catalog as the server serves it: public metadata, quantized once, prepared for scoring.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use veilrank_core::quantize::{quantize_wide_with_scale, scale_for_bound};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{ParameterSet, Precision};
use veilrank_engine::{Pins, PreparedCatalog, Shard, Whole};

use veilrank_core::api::{ItemInfo, Topic};

use std::path::Path;

use crate::catalog_file::RawCatalog;
use crate::catalog_part::PartFacts;
use crate::error::{Result, ServerError};
use crate::hint::EncodedHints;

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
    /// The scoring kernel and modulus asked for (neither: the fastest for this CPU).
    pins: Pins,
    /// The part of the catalog this server scores (the whole, unless it is a shard server).
    shard: Shard,
    /// For a part read from a split catalog: the whole catalog's size in rows (a row per limb of
    /// each item) and noise statistics (`items` and `quantized` then hold the part alone).
    whole: Option<Whole>,
    /// The prepared form, with its hint encoded once in both forms (every client downloads one
    /// once per content version): set together, so a ready catalog always has its hint.
    prepared: OnceLock<(PreparedCatalog, EncodedHints)>,
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
        let precision = params.precision;
        // scores of every item must fit (and be carried): refuse before anything is quantized
        params.plaintext_bits(raw.dim).map_err(prepare_error)?;
        let scale = scale_for_bound(
            raw.items.iter().flat_map(|i| i.vector.iter()),
            precision.catalog_bound(),
        )
        .map_err(prepare_error)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"veilrank-catalog-v1");
        hasher.update(&(raw.dim as u64).to_le_bytes());
        hasher.update(&scale.to_le_bytes());
        // the baseline's versions are the ones before precisions existed
        let baseline = precision == Precision::BASELINE;
        if !baseline {
            hasher.update(format!("precision={precision}").as_bytes());
        }
        let (items, quantized) = quantize_items(raw.items, raw.dim, scale, precision, |item, q| {
            for text in [&item.id, &item.title] {
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            if baseline {
                hasher.update(&q.iter().map(|&v| v as u8).collect::<Vec<u8>>());
            } else {
                hasher.update(&q.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
            }
        })
        .map_err(prepare_error)?;
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
            pins: Pins::NONE,
            shard: Shard::whole(),
            whole: None,
            prepared: OnceLock::new(),
        })
    }

    /// Scores on the kernel and under the modulus `pins` names instead of the fastest for this
    /// CPU; preparation fails with a clear error where it cannot.
    #[must_use]
    pub fn with_pins(mut self, pins: Pins) -> Self {
        self.pins = pins;
        self
    }

    /// Loads catalog `id` from `path`: a whole catalog file, or a part of a split catalog
    /// (a file with a sidecar, [`crate::catalog_part`]).
    pub fn load(id: &str, path: &Path, params: ParameterSet) -> Result<Self> {
        let raw = crate::catalog_file::load(path)?;
        match crate::catalog_part::read_sidecar(path)? {
            Some(facts) => Self::from_part(id, raw, params, &facts),
            None => Self::new(id, raw, params),
        }
    }

    /// A part of a split catalog: its items, quantized with the whole catalog's scale, served
    /// under the whole catalog's version as the shard the sidecar names.
    pub fn from_part(
        id: &str,
        raw: RawCatalog,
        params: ParameterSet,
        facts: &PartFacts,
    ) -> Result<Self> {
        let bad = |what: String| ServerError::Config(format!("catalog {id:?}, a part: {what}"));
        if params.precision != facts.precision {
            return Err(bad(format!(
                "it was split at precision {}, and is served at {} (pass --precision {} or \
                 --catalog {id}@{}=PATH)",
                facts.precision, params.precision, facts.precision, facts.precision
            )));
        }
        let shard = facts.shard()?;
        if raw.dim != facts.dimension {
            return Err(bad(format!(
                "its vectors have {} dimensions, its sidecar says {}",
                raw.dim, facts.dimension
            )));
        }
        // shards own whole blocks of rows, whole items each ([`veilrank_core::precision`])
        let rows = shard
            .items(facts.whole().items, params.polynomial_size)
            .map_err(|e| bad(e.to_string()))?;
        let items = rows.len() / params.precision.limbs();
        if items != raw.items.len() {
            return Err(bad(format!(
                "shard {shard} of {} items holds {items} items, the file {}",
                facts.catalog_items,
                raw.items.len()
            )));
        }
        let version =
            ContentVersion::from_hex(&facts.content_version).map_err(|e| bad(e.to_string()))?;
        if !(facts.scale.is_finite() && facts.scale > 0.0) {
            return Err(bad(format!(
                "scale {} is not a positive number",
                facts.scale
            )));
        }
        let (items, quantized) =
            quantize_items(raw.items, raw.dim, facts.scale, params.precision, |_, _| {})
                .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            reference: CatalogRef {
                id: id.to_string(),
                version,
            },
            params,
            dim: raw.dim,
            scale: facts.scale,
            items,
            topics: facts.topics.clone(),
            quantized,
            pins: Pins::NONE,
            shard,
            whole: Some(facts.whole()),
            prepared: OnceLock::new(),
        })
    }

    /// Scores only `shard`'s blocks (its metadata, scale and version stay the whole catalog's);
    /// a part of a split catalog is already its shard's, and refuses another.
    pub fn with_shard(mut self, shard: Shard) -> Result<Self> {
        if self.whole.is_some() && shard != self.shard {
            return Err(ServerError::Config(format!(
                "catalog {:?} is a part of shard {}, not of shard {shard}",
                self.reference.id, self.shard
            )));
        }
        self.shard = shard;
        Ok(self)
    }

    /// Items in the whole catalog (a part holds fewer in `items`).
    pub fn item_count(&self) -> usize {
        let limbs = self.params.precision.limbs();
        self.whole.map_or(self.items.len(), |w| w.items / limbs)
    }

    /// The first of `items` in the whole catalog (0 but for a part).
    pub fn first_item(&self) -> usize {
        let precision = self.params.precision;
        match self.whole {
            Some(w) => self
                .shard
                .items(w.items, self.params.polynomial_size)
                .map_or(0, |r| r.start / precision.limbs()),
            None => 0,
        }
    }

    /// The part of the catalog this server scores.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// The scoring kernel and modulus asked for.
    pub fn pins(&self) -> Pins {
        self.pins
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
        let prepared = match &self.whole {
            Some(whole) => PreparedCatalog::prepare_part(
                &self.params,
                self.dim,
                &self.quantized,
                self.shard,
                whole,
                self.pins,
                &progress,
            ),
            None => PreparedCatalog::prepare_shard(
                &self.params,
                self.dim,
                &self.quantized,
                self.shard,
                self.pins,
                &progress,
            ),
        }
        .map_err(|source| ServerError::Prepare {
            id: self.reference.id.clone(),
            source,
        })?;
        let hints = EncodedHints::encode(
            &self.params,
            &self.reference,
            prepared.hint(),
            Some(prepared.noise_plan().hint_bits),
        )
        .map_err(|source| ServerError::Prepare {
            id: self.reference.id.clone(),
            source,
        })?;
        let (prepared, _) = self.prepared.get_or_init(|| (prepared, hints));
        Ok(prepared)
    }

    /// The encoded hints, once prepared.
    pub fn hints(&self) -> Option<&EncodedHints> {
        self.prepared.get().map(|(_, hints)| hints)
    }

    /// The prepared form, once ready.
    pub fn prepared(&self) -> Option<&PreparedCatalog> {
        self.prepared.get().map(|(prepared, _)| prepared)
    }

    /// The catalog's rows, item-major: the quantized vectors of `items`, each split in its
    /// precision's limbs (the vectors themselves at the baseline; public data).
    pub fn quantized(&self) -> &[i8] {
        &self.quantized
    }

    /// The largest query body this catalog accepts.
    pub fn query_size_limit(&self) -> usize {
        wire::query_size_limit(&self.params, self.dim)
    }
}

/// Quantizes every item with `scale` to the precision's catalog bits, calling `each` on an item
/// and its values as it goes (the content hash); the items' public metadata and the catalog's
/// rows (each item's limbs, [`Precision::rows_of`]), item-major.
fn quantize_items(
    raw: Vec<crate::catalog_file::RawItem>,
    dim: usize,
    scale: f32,
    precision: Precision,
    mut each: impl FnMut(&ItemInfo, &[i16]),
) -> std::result::Result<(Vec<ItemInfo>, Vec<i8>), veilrank_core::Error> {
    let mut rows = Vec::with_capacity(precision.rows(raw.len()) * dim);
    let mut items = Vec::with_capacity(raw.len());
    for item in raw {
        let q = quantize_wide_with_scale(&item.vector, scale, precision.catalog_bound())?;
        let info = ItemInfo {
            id: item.id,
            title: item.title,
        };
        each(&info, &q);
        rows.extend_from_slice(&precision.rows_of(&q, dim));
        items.push(info);
    }
    Ok((items, rows))
}
