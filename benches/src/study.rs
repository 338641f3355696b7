//! One latency study: C concurrent clients run Q queries over real HTTP against a server (one
//! started in-process with a synthetic catalog, or a running one), with every phase of every
//! query recorded in HDR histograms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use veilrank_client::{Client, SecretKey};
use veilrank_core::ntt::ServerPrime;
use veilrank_core::{Precision, V1_128};
use veilrank_engine::{Kernel, Pins, PreparedCatalog};

use crate::baselines::{self, NaiveTfhe};
use crate::in_process::{preferences, start_in_process, InProcess};
use crate::progress::bar;
use crate::system;

mod phases;
use phases::Phases;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Study {
    /// A running server's URL; `None` starts one in-process.
    pub server: Option<String>,
    /// Items of the synthetic catalog (in-process), or of the plaintext baseline (`--server`).
    pub items: usize,
    /// Their dimension.
    pub dim: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Measured queries, in all.
    pub queries: usize,
    /// Unmeasured queries first (connections, caches, the item list).
    pub warmup: usize,
    /// The in-process server's batch limit (1: one query at a time).
    pub max_batch: usize,
    /// Items ranked per query.
    pub top: usize,
    /// Show progress bars.
    pub progress: bool,
    /// The in-process server's scoring kernel (`None`: the fastest this CPU runs).
    pub kernel: Option<Kernel>,
    /// The in-process server's modulus (`None`: the kernel's fastest that the noise allows).
    pub modulus: Option<ServerPrime>,
    /// The in-process server's precision.
    pub precision: Precision,
}

/// Everything a study measured. Times in milliseconds unless named otherwise.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Catalog items.
    pub items: usize,
    /// Dimension.
    pub dim: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Measured queries.
    pub queries: usize,
    /// Server batch limit (in-process; 0 for a running server).
    pub max_batch: usize,
    /// Threads of the machine's rayon pool (server and baselines).
    pub threads: usize,
    /// The CPU's model name.
    pub cpu: String,
    /// Its vector extensions that the kernels and the baseline could use.
    pub isa: String,
    /// The scoring kernel the server ran (`remote` for `--server`, which does not say).
    pub kernel: String,
    /// The modulus the server scored under (`remote` for `--server`; empty in results made
    /// before `crt54`, all `ifma50`).
    #[serde(default)]
    pub modulus: String,
    /// The catalog's precision, catalog/query bits (empty in results made before precisions).
    #[serde(default)]
    pub precision: String,
    /// The plaintext baseline's kernel.
    pub baseline_kernel: String,
    /// End-to-end latency percentiles: encryption to ranked items.
    pub latency_p50_ms: f64,
    /// p90.
    pub latency_p90_ms: f64,
    /// p99.
    pub latency_p99_ms: f64,
    /// Largest.
    pub latency_max_ms: f64,
    /// Client encryption, p50.
    pub encrypt_p50_ms: f64,
    /// Sending the query (round trip to the response headers, less the server's time), p50.
    pub upload_p50_ms: f64,
    /// The server's time for a query (expansion, queue, scoring pass), p50.
    pub server_p50_ms: f64,
    /// Of which the pass over the catalog (shared by a batch), p50.
    pub server_score_p50_ms: f64,
    /// Of which expansion, p50.
    pub server_expand_p50_ms: f64,
    /// Of which waiting for the pass in progress, p50.
    pub server_queue_p50_ms: f64,
    /// Receiving the response body, p50.
    pub download_p50_ms: f64,
    /// Client decryption and top-k ranking, p50.
    pub decrypt_rank_p50_ms: f64,
    /// Mean queries per scoring pass.
    pub mean_batch: f64,
    /// Measured queries per second of wall time.
    pub throughput_qps: f64,
    /// Query body bytes.
    pub upload_bytes: usize,
    /// Response body bytes.
    pub download_bytes: usize,
    /// Bytes of the catalog's hint, which a client downloads once per catalog version.
    pub hint_bytes: usize,
    /// Server pass per query (its share of a batch), per item-feature, p50, in ns of wall time.
    pub server_ns_per_item_feature: f64,
    /// The same per core (times the threads).
    pub server_ns_per_item_feature_per_core: f64,
    /// Plaintext i8 scoring of a catalog of the same size, cache-cold, same threads, in ns.
    pub plaintext_ns_per_item_feature: f64,
    /// `server_ns_per_item_feature / plaintext_ns_per_item_feature`.
    pub ratio_to_plaintext: f64,
    /// Reading the prepared catalog's bytes once on the same threads, in ms: the memory floor of
    /// a scoring pass (in-process only).
    pub memory_read_ms: Option<f64>,
    /// Catalog preparation, seconds (in-process only).
    pub prepare_s: Option<f64>,
    /// Prepared catalog bytes per item-feature (in-process only).
    pub prepared_bytes_per_item_feature: Option<f64>,
    /// Peak resident memory, bytes: of the harness process with the server in it, or with
    /// `--server` of that server since it started (its `/metrics`).
    pub peak_rss_bytes: Option<u64>,
    /// Whose memory [`Self::peak_rss_bytes`] is.
    pub peak_rss_of: String,
    /// tfhe's high-level integer API: seconds per item-feature, measured on a tiny instance.
    pub naive_tfhe_s_per_item_feature: Option<f64>,
    /// Its extrapolation to this catalog: seconds per query (extrapolated, not measured).
    pub naive_tfhe_extrapolated: Option<f64>,
    /// The tiny instance it was measured on, `items x dim`.
    pub naive_tfhe_measured_on: Option<String>,
}

fn ms(h: &Histogram<u64>, quantile: f64) -> f64 {
    h.value_at_quantile(quantile) as f64 / 1e3
}

/// Runs a study. The integer-API baseline is the caller's ([`Outcome::with_naive`]): it is
/// measured once, after the studies, so that its keys do not count in their peak memory.
pub async fn run(study: &Study) -> Result<Outcome, String> {
    system::reset_peak_rss();
    let in_process = match &study.server {
        Some(_) => None,
        None => Some(
            start_in_process(
                study.items,
                study.dim,
                study.max_batch,
                study.progress,
                Pins::NONE
                    .with_kernel(study.kernel)
                    .with_modulus(study.modulus),
                study.precision,
            )
            .await?,
        ),
    };
    let url = match (&study.server, &in_process) {
        (Some(url), _) => url.clone(),
        (None, Some(p)) => p.server.url(),
        (None, None) => return Err("no server".into()),
    };
    let outcome = drive(study, &url, in_process.as_ref()).await;
    if let Some(p) = in_process {
        p.server
            .shutdown()
            .await
            .map_err(|e| format!("shutdown: {e}"))?;
    }
    outcome
}

async fn drive(
    study: &Study,
    url: &str,
    in_process: Option<&InProcess>,
) -> Result<Outcome, String> {
    let client = Arc::new(
        Client::connect(url, Duration::from_secs(600))
            .await
            .map_err(|e| format!("connect to {url}: {e}"))?,
    );
    let dim = study.dim;
    let concurrency = study.concurrency.max(1);
    let bar = bar(
        study.progress,
        (study.warmup + study.queries) as u64,
        "queries",
    );

    // warm-up: one client at a time, not recorded
    let key = Arc::new(SecretKey::generate(&V1_128).map_err(|e| e.to_string())?);
    for w in 0..study.warmup {
        client
            .recommend(&key, &preferences(dim, w as u64), study.top)
            .await
            .map_err(|e| format!("warm-up query: {e}"))?;
        bar.inc(1);
    }

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, next, bar) = (client.clone(), next.clone(), bar.clone());
        let (queries, top) = (study.queries, study.top);
        tasks.push(tokio::spawn(async move {
            let key = Arc::new(SecretKey::generate(&V1_128).map_err(|e| e.to_string())?);
            let mut phases = Phases::new()?;
            loop {
                let q = next.fetch_add(1, Ordering::Relaxed);
                if q >= queries {
                    return Ok::<_, String>(phases);
                }
                let t = Instant::now();
                let answer = client
                    .recommend(&key, &preferences(dim, 1000 + q as u64), top)
                    .await
                    .map_err(|e| format!("query {q}: {e}"))?;
                phases.record(t.elapsed(), &answer.report);
                bar.inc(1);
            }
        }));
    }
    let mut all = Phases::new()?;
    for task in tasks {
        let phases = task.await.map_err(|e| e.to_string())??;
        all.merge(&phases)?;
    }
    let wall = started.elapsed();
    bar.finish_and_clear();

    // before the baseline's cache-eviction buffer counts
    let (peak_rss_bytes, peak_rss_of) = match in_process {
        Some(_) => (system::peak_rss_bytes(), "harness and in-process server"),
        None => (
            system::server_peak_rss(url).await,
            "server since it started (its /metrics)",
        ),
    };
    // the baseline, after the measured queries so that it does not disturb them
    let item_features = (study.items * dim) as f64;
    let plaintext = tokio::task::block_in_place(|| {
        let query = crate::random_i8(7, dim);
        match in_process {
            Some(p) => baselines::plaintext_cold(p.quantized.quantized(), dim, &query, 7),
            None => {
                baselines::plaintext_cold(&crate::random_i8(1, study.items * dim), dim, &query, 7)
            }
        }
    });
    let memory_read_ms = in_process.map(|p| {
        tokio::task::block_in_place(|| {
            baselines::memory_read(p.prepared_bytes, 5).as_secs_f64() * 1e3
        })
    });
    let threads = system::threads();
    let server_ns = ms(&all.server_share, 0.5) * 1e6 / item_features;
    let plaintext_ns = plaintext.as_secs_f64() * 1e9 / item_features;
    let measured = study.queries.max(1) as f64;
    Ok(Outcome {
        items: study.items,
        dim,
        concurrency,
        queries: study.queries,
        max_batch: if in_process.is_some() {
            study.max_batch
        } else {
            0
        },
        threads,
        cpu: system::cpu_model(),
        isa: system::isa_features(),
        kernel: in_process
            .and_then(|p| p.quantized.prepared())
            .map_or("remote", PreparedCatalog::kernel_name)
            .to_string(),
        modulus: in_process
            .and_then(|p| p.quantized.prepared())
            .map_or("remote", |c| c.noise_plan().prime.name())
            .to_string(),
        baseline_kernel: veilrank_engine::baseline::kernel_name(dim).to_string(),
        precision: in_process.map_or("remote".to_string(), |p| {
            p.quantized.params.precision.to_string()
        }),
        latency_p50_ms: ms(&all.total, 0.5),
        latency_p90_ms: ms(&all.total, 0.9),
        latency_p99_ms: ms(&all.total, 0.99),
        latency_max_ms: all.total.max() as f64 / 1e3,
        encrypt_p50_ms: ms(&all.encrypt, 0.5),
        upload_p50_ms: ms(&all.upload, 0.5),
        server_p50_ms: ms(&all.server, 0.5),
        server_score_p50_ms: ms(&all.server_score, 0.5),
        server_expand_p50_ms: ms(&all.expand, 0.5),
        server_queue_p50_ms: ms(&all.queue, 0.5),
        download_p50_ms: ms(&all.download, 0.5),
        decrypt_rank_p50_ms: ms(&all.decrypt_rank, 0.5),
        mean_batch: all.batches as f64 / measured,
        throughput_qps: measured / wall.as_secs_f64(),
        upload_bytes: all.upload_bytes,
        download_bytes: all.download_bytes,
        // what the client downloads: the rounded hint where the server has one
        hint_bytes: client
            .manifest()
            .rounded_hint_bytes
            .unwrap_or(client.manifest().hint_bytes),
        server_ns_per_item_feature: server_ns,
        server_ns_per_item_feature_per_core: server_ns * threads as f64,
        plaintext_ns_per_item_feature: plaintext_ns,
        ratio_to_plaintext: server_ns / plaintext_ns,
        prepare_s: in_process.map(|p| p.prepare.as_secs_f64()),
        memory_read_ms,
        prepared_bytes_per_item_feature: in_process
            .map(|p| p.prepared_bytes as f64 / item_features),
        peak_rss_bytes,
        peak_rss_of: peak_rss_of.into(),
        naive_tfhe_s_per_item_feature: None,
        naive_tfhe_extrapolated: None,
        naive_tfhe_measured_on: None,
    })
}

impl Outcome {
    /// Adds the integer-API baseline, extrapolated to this catalog.
    pub fn with_naive(mut self, naive: Option<NaiveTfhe>) -> Self {
        let item_features = (self.items * self.dim) as f64;
        self.naive_tfhe_s_per_item_feature = naive.map(|n| n.seconds_per_item_feature);
        self.naive_tfhe_extrapolated = naive.map(|n| n.seconds_per_item_feature * item_features);
        self.naive_tfhe_measured_on = naive.map(|n| format!("{} x {}", n.items, n.dim));
        self
    }
}
