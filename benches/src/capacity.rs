//! Server capacity: queries per second that one server answers when its clients cost it nothing.
//!
//! In a latency study the clients encrypt and decrypt on the same cores as the server, so at
//! high concurrency it measures the clients. Here each of C clients (its own user, its own key)
//! encrypts its query once and replays the ciphertext; every response is received in full,
//! and each client's first response is decrypted and checked, exactly, against the plaintext
//! scores. Run with the server answering one query at a time (`max_batch` 1) and with
//! micro-batching, side by side, it measures what sharing a pass over the catalog buys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use veilrank_client::{Client, SecretKey};
use veilrank_core::quantize::quantize_bits;
use veilrank_core::{plain, Precision, V1_128};

use crate::in_process::{self, InProcess};
use crate::progress::bar;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Capacity {
    /// Items of the synthetic catalog.
    pub items: usize,
    /// Their dimension.
    pub dim: usize,
    /// Concurrent clients, each its own user.
    pub concurrency: usize,
    /// Measured queries, in all.
    pub queries: usize,
    /// The server's batch limit (1: one query at a time).
    pub max_batch: usize,
    /// Show progress bars.
    pub progress: bool,
    /// The scoring kernel (`None`: the fastest this CPU runs).
    pub kernel: Option<veilrank_engine::Kernel>,
    /// The modulus (`None`: the kernel's fastest that the noise allows).
    pub modulus: Option<veilrank_core::ntt::ServerPrime>,
    /// The catalog's precision.
    pub precision: Precision,
}

/// What one capacity run measured. Times in milliseconds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CapacityOutcome {
    /// Catalog items.
    pub items: usize,
    /// Dimension.
    pub dim: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Measured queries.
    pub queries: usize,
    /// The server's batch limit.
    pub max_batch: usize,
    /// Measured queries per second of wall time.
    pub throughput_qps: f64,
    /// Round trip (upload, server, download), p50.
    pub latency_p50_ms: f64,
    /// p99.
    pub latency_p99_ms: f64,
    /// The server's own time per query (expansion, queue, pass), p50.
    pub server_p50_ms: f64,
    /// Mean queries per scoring pass.
    pub mean_batch: f64,
    /// The scoring kernel the server ran.
    #[serde(default)]
    pub kernel: String,
    /// The modulus it scored under (empty in results made before `crt54`, all `ifma50`).
    #[serde(default)]
    pub modulus: String,
    /// The catalog's precision (empty in results made before precisions).
    #[serde(default)]
    pub precision: String,
    /// The CPU's model name.
    #[serde(default)]
    pub cpu: String,
    /// The vector extensions the CPU reports.
    #[serde(default)]
    pub isa: String,
}

/// Runs one capacity measurement against a fresh in-process server; an error if any client's
/// decrypted scores differ from the plaintext scores.
pub async fn run(c: &Capacity) -> Result<CapacityOutcome, String> {
    let p = in_process::start_in_process(
        c.items,
        c.dim,
        c.max_batch,
        c.progress,
        veilrank_engine::Pins::NONE
            .with_kernel(c.kernel)
            .with_modulus(c.modulus),
        c.precision,
    )
    .await?;
    let outcome = drive(c, &p).await;
    p.server
        .shutdown()
        .await
        .map_err(|e| format!("shutdown: {e}"))?;
    outcome
}

async fn drive(c: &Capacity, p: &InProcess) -> Result<CapacityOutcome, String> {
    let url = p.server.url();
    let client = Arc::new(
        Client::connect(&url, Duration::from_secs(600))
            .await
            .map_err(|e| format!("connect to {url}: {e}"))?,
    );
    let concurrency = c.concurrency.max(1);

    // each user encrypts once, sends once unmeasured, and checks that answer exactly
    let mut users = Vec::with_capacity(concurrency);
    for u in 0..concurrency {
        let key = Arc::new(SecretKey::generate(&V1_128).map_err(|e| e.to_string())?);
        let prefs = in_process::preferences(c.dim, 5000 + u as u64);
        let query = client
            .encrypt_query(&key, &prefs)
            .await
            .map_err(|e| format!("encrypt: {e}"))?;
        let answer = client
            .send_query(&query)
            .await
            .map_err(|e| format!("warm-up query: {e}"))?;
        let scores = client
            .decrypt_scores(&key, answer)
            .await
            .map_err(|e| format!("decrypt: {e}"))?;
        let quantized =
            quantize_bits(&prefs, c.precision.query_bits()).map_err(|e| e.to_string())?;
        let expected = tokio::task::block_in_place(|| {
            plain::item_scores(
                c.precision,
                p.quantized.quantized(),
                c.dim,
                &quantized.values,
            )
        });
        if scores.raw != expected {
            return Err(format!(
                "user {u}: decrypted scores differ from the plaintext"
            ));
        }
        users.push(Arc::new(query));
    }

    let bar = bar(c.progress, c.queries as u64, "queries");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for query in users {
        let (client, next, bar, queries) = (client.clone(), next.clone(), bar.clone(), c.queries);
        tasks.push(tokio::spawn(async move {
            let mut round_trip = histogram()?;
            let mut server = histogram()?;
            let mut batches = 0u64;
            while next.fetch_add(1, Ordering::Relaxed) < queries {
                let t = Instant::now();
                let answer = client
                    .send_query(&query)
                    .await
                    .map_err(|e| format!("query: {e}"))?;
                let _ = round_trip.record(micros(t.elapsed()));
                if let Some(s) = answer.report.server {
                    let _ = server.record(micros(s.total));
                    batches += s.batch as u64;
                }
                bar.inc(1);
            }
            Ok::<_, String>((round_trip, server, batches))
        }));
    }
    let (mut round_trip, mut server, mut batches) = (histogram()?, histogram()?, 0);
    for task in tasks {
        let (r, s, b) = task.await.map_err(|e| e.to_string())??;
        round_trip.add(&r).map_err(|e| e.to_string())?;
        server.add(&s).map_err(|e| e.to_string())?;
        batches += b;
    }
    let wall = started.elapsed();
    bar.finish_and_clear();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    Ok(CapacityOutcome {
        items: c.items,
        dim: c.dim,
        concurrency,
        queries: c.queries,
        max_batch: c.max_batch,
        throughput_qps: c.queries as f64 / wall.as_secs_f64(),
        latency_p50_ms: ms(&round_trip, 0.5),
        latency_p99_ms: ms(&round_trip, 0.99),
        server_p50_ms: ms(&server, 0.5),
        mean_batch: batches as f64 / c.queries.max(1) as f64,
        kernel: p
            .quantized
            .prepared()
            .map_or("", veilrank_engine::PreparedCatalog::kernel_name)
            .to_string(),
        modulus: p
            .quantized
            .prepared()
            .map_or("", |c| c.noise_plan().prime.name())
            .to_string(),
        precision: c.precision.to_string(),
        cpu: crate::system::cpu_model(),
        isa: crate::system::isa_features(),
    })
}

fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// The side-by-side table: one query at a time, then batched, and the throughput ratio.
pub fn table(alone: &CapacityOutcome, batched: &CapacityOutcome) -> String {
    let row = |name: &str, o: &CapacityOutcome| {
        format!(
            "  {name:<24} {:>8.1} {:>10.1} {:>10.1} {:>10.1} {:>8.2}\n",
            o.throughput_qps, o.latency_p50_ms, o.latency_p99_ms, o.server_p50_ms, o.mean_batch
        )
    };
    format!(
        "server capacity, {} items x {} dims, {} clients replaying their queries, {} queries, \
         {} kernel, modulus {}, precision {}\n  machine: {} ({})\n  \
         {:<24} {:>8} {:>10} {:>10} {:>10} {:>8}\n{}{}  throughput ratio (batched / one at a time): {:.2}x\n",
        alone.items,
        alone.dim,
        alone.concurrency,
        alone.queries,
        alone.kernel,
        alone.modulus,
        alone.precision,
        alone.cpu,
        alone.isa,
        "server",
        "qps",
        "p50 ms",
        "p99 ms",
        "server ms",
        "batch",
        row("one at a time", alone),
        row(&format!("batched (max {})", batched.max_batch), batched),
        batched.throughput_qps / alone.throughput_qps,
    )
}
