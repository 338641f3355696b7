//! Every catalog the server serves, by id, and replacing one without downtime.
//!
//! A request takes an `Arc` of the catalog it needs when it starts; a replacement swaps the map
//! entry, so queries in flight finish on the version they started with and the old version is
//! freed when the last of them ends.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::catalog::ServedCatalog;
use crate::error::{Result, ServerError};

/// A served catalog and where it was loaded from.
#[derive(Clone)]
struct Entry {
    catalog: Arc<ServedCatalog>,
    /// The file to reload it from; `None` for the generated demo catalog.
    source: Option<PathBuf>,
}

/// The catalogs, by id.
pub struct Catalogs {
    entries: RwLock<BTreeMap<String, Entry>>,
    default_id: String,
    /// One reload at a time: two concurrent reloads of one file would prepare it twice.
    reloading: Mutex<()>,
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// The file's content is what is served already.
    Unchanged {
        /// The content version.
        version: String,
    },
    /// A new version is served.
    Replaced {
        /// The version replaced.
        old: String,
        /// The version now served.
        new: String,
    },
}

impl Catalogs {
    /// A registry of `catalogs` (each with its source file, if any); `default_id` must be one of
    /// them.
    pub fn try_new(
        catalogs: Vec<(ServedCatalog, Option<PathBuf>)>,
        default_id: &str,
    ) -> Result<Self> {
        let mut entries = BTreeMap::new();
        for (catalog, source) in catalogs {
            let id = catalog.reference.id.clone();
            let entry = Entry {
                catalog: Arc::new(catalog),
                source,
            };
            if entries.insert(id.clone(), entry).is_some() {
                return Err(ServerError::Config(format!(
                    "catalog id {id:?} is given twice"
                )));
            }
        }
        if !entries.contains_key(default_id) {
            return Err(ServerError::Config(format!(
                "the default catalog {default_id:?} is not among the catalogs served ({})",
                entries.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self {
            entries: RwLock::new(entries),
            default_id: default_id.to_string(),
            reloading: Mutex::new(()),
        })
    }

    /// No catalogs: a gateway's, whose catalogs are on its shards.
    #[must_use]
    pub fn none() -> Self {
        Self {
            entries: RwLock::new(BTreeMap::new()),
            default_id: String::new(),
            reloading: Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        // a panic while holding the lock cannot leave the map half-updated: writes are one insert
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The catalog `id` as it is now.
    pub fn get(&self, id: &str) -> Option<Arc<ServedCatalog>> {
        self.read().get(id).map(|e| e.catalog.clone())
    }

    /// The id of the catalog the single-catalog routes serve.
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// The default catalog as it is now.
    pub fn default_catalog(&self) -> Arc<ServedCatalog> {
        self.read()
            .get(&self.default_id)
            .map(|e| e.catalog.clone())
            .unwrap_or_else(|| {
                unreachable!("the default catalog is checked at start and never removed")
            })
    }

    /// Every catalog, by id.
    pub fn all(&self) -> Vec<Arc<ServedCatalog>> {
        self.read().values().map(|e| e.catalog.clone()).collect()
    }

    /// Whether every catalog is prepared.
    pub fn ready(&self) -> bool {
        self.read().values().all(|e| e.catalog.prepared().is_some())
    }

    /// The largest query any catalog accepts: the body limit of routes that take one.
    pub fn max_query_size(&self) -> usize {
        self.read()
            .values()
            .map(|e| e.catalog.query_size_limit())
            .max()
            .unwrap_or(0)
    }

    /// Prepares every catalog not yet prepared (CPU-heavy: call off the async executor).
    pub fn prepare_all(&self) -> Result<()> {
        for catalog in self.all() {
            let started = Instant::now();
            tracing::info!(
                catalog = %catalog.reference.id,
                items = catalog.items.len(),
                shard = %catalog.shard(),
                dim = catalog.dim,
                "preparing catalog"
            );
            let prepared = catalog
                .prepare()
                .inspect_err(|e| tracing::error!(error = %e, "catalog preparation failed"))?;
            tracing::info!(
                catalog = %catalog.reference.id,
                version = %catalog.reference.version.to_hex(),
                modulus = prepared.noise_plan().prime.name(),
                kernel = prepared.kernel_name(),
                response_bits = prepared.noise_plan().response_bits,
                log2_failure = prepared.noise_plan().log2_failure,
                prepared_mb = prepared.prepared_bytes() as f64 / 1e6,
                ms = started.elapsed().as_millis() as u64,
                "catalog ready"
            );
        }
        Ok(())
    }

    /// Reloads catalog `id` from its file, prepares the new version, then swaps it in
    /// (CPU-heavy: call off the async executor). Until the swap the old version serves every
    /// request; if anything fails the old version stays.
    pub fn reload(&self, id: &str) -> Result<Reloaded> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let entry = self
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| ServerError::Config(format!("no catalog {id:?}")))?;
        let path = entry.source.clone().ok_or_else(|| {
            ServerError::Config(format!(
                "catalog {id:?} is generated, not loaded from a file: nothing to reload"
            ))
        })?;
        let fresh = ServedCatalog::load(id, &path, entry.catalog.params)?
            .with_pins(entry.catalog.pins())
            .with_shard(entry.catalog.shard())?;
        let old = entry.catalog.reference.version.to_hex();
        let new = fresh.reference.version.to_hex();
        if old == new {
            return Ok(Reloaded::Unchanged { version: old });
        }
        fresh.prepare()?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            id.to_string(),
            Entry {
                catalog: Arc::new(fresh),
                source: Some(path),
            },
        );
        drop(entries);
        tracing::info!(catalog = %id, old = %old, new = %new, "catalog replaced");
        Ok(Reloaded::Replaced { old, new })
    }

    /// Reloads every catalog that has a file; logs each outcome (what SIGHUP does).
    pub fn reload_all(&self) {
        let ids: Vec<String> = self
            .read()
            .iter()
            .filter(|(_, e)| e.source.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            match self.reload(&id) {
                Ok(Reloaded::Unchanged { .. }) => {
                    tracing::info!(catalog = %id, "catalog file unchanged")
                }
                Ok(Reloaded::Replaced { .. }) => {}
                Err(e) => {
                    tracing::error!(catalog = %id, error = %e, "reload failed; the old version stays")
                }
            }
        }
    }
}
