//! The server the studies start themselves: on a free loopback port, with a synthetic catalog
//! prepared before the clock starts, and the synthetic users that query it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_core::{Precision, V1_128};
use veilrank_engine::Pins;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::catalog_file::{RawCatalog, RawItem};
use veilrank_server::catalogs::Catalogs;
use veilrank_server::{Config, RunningServer};

use crate::progress::bar;

/// A synthetic catalog of `items x dim` random vectors, deterministic.
pub fn synthetic_catalog(items: usize, dim: usize) -> RawCatalog {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED);
    RawCatalog {
        dim,
        items: (0..items)
            .map(|i| RawItem {
                id: format!("item-{i}"),
                title: String::new(),
                vector: (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
            })
            .collect(),
        topics: Vec::new(),
    }
}

/// An in-process server with a prepared synthetic catalog.
pub struct InProcess {
    /// The server.
    pub server: RunningServer,
    /// The catalog's quantized values (for the plaintext baseline).
    pub quantized: Arc<ServedCatalog>,
    /// Preparation time.
    pub prepare: Duration,
    /// Prepared bytes.
    pub prepared_bytes: usize,
}

/// Starts a server on a free loopback port with a prepared `items x dim` catalog at
/// `precision`, no API keys, profiles in memory.
pub async fn start_in_process(
    items: usize,
    dim: usize,
    max_batch: usize,
    progress: bool,
    pins: Pins,
    precision: Precision,
) -> Result<InProcess, String> {
    let raw = synthetic_catalog(items, dim);
    let catalog = ServedCatalog::new("bench", raw, V1_128.with_precision(precision))
        .map_err(|e| format!("catalog: {e}"))?
        .with_pins(pins);
    let bar = bar(progress, 0, "preparing");
    let started = Instant::now();
    let prepared_bytes = tokio::task::block_in_place(|| {
        catalog
            .prepare_reporting(&|done, blocks| {
                bar.set_length(blocks as u64);
                bar.set_position(done as u64);
            })
            .map(|p| p.prepared_bytes())
    })
    .map_err(|e| format!("prepare: {e}"))?;
    let prepare = started.elapsed();
    bar.finish_and_clear();
    let catalogs =
        Catalogs::try_new(vec![(catalog, None)], "bench").map_err(|e| format!("catalogs: {e}"))?;
    let config = Config {
        addr: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        max_batch,
        max_concurrent_scores: 8,
        rate_limit_per_minute: u32::MAX,
        ..Config::demo()
    };
    let mut server = veilrank_server::start(&config, catalogs)
        .await
        .map_err(|e| format!("server: {e}"))?;
    server.ready().await.map_err(|e| format!("server: {e}"))?;
    let quantized = server
        .state
        .catalogs
        .get("bench")
        .ok_or("the catalog is gone")?;
    Ok(InProcess {
        server,
        quantized,
        prepare,
        prepared_bytes,
    })
}

/// A user's preferences: random, deterministic per query.
pub(crate) fn preferences(dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}
