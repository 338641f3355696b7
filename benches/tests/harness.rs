//! The harness end to end on a small in-process study: every field the issue names is in the
//! JSON and the CSV, the numbers are consistent, and the plots are drawn.

use veilrank_bench::baselines::NaiveTfhe;
use veilrank_bench::capacity::{self, Capacity};
use veilrank_bench::in_process;
use veilrank_bench::study::{self, Study};
use veilrank_bench::{output, plots};

const REQUIRED: [&str; 22] = [
    "items",
    "precision",
    "dim",
    "concurrency",
    "queries",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "encrypt_p50_ms",
    "server_p50_ms",
    "decrypt_rank_p50_ms",
    "throughput_qps",
    "upload_bytes",
    "download_bytes",
    "hint_bytes",
    "server_ns_per_item_feature",
    "plaintext_ns_per_item_feature",
    "ratio_to_plaintext",
    "peak_rss_bytes",
    "naive_tfhe_s_per_item_feature",
    "naive_tfhe_extrapolated",
];

/// A quick study: one warm-up query, batches of up to 4, top 5, no progress bars.
fn small(
    server: Option<String>,
    items: usize,
    dim: usize,
    concurrency: usize,
    queries: usize,
) -> Study {
    Study {
        server,
        items,
        dim,
        concurrency,
        queries,
        warmup: 1,
        max_batch: 4,
        top: 5,
        progress: false,
        kernel: None,
        modulus: None,
        // the byte counts below are checked at one row per item
        precision: veilrank_core::Precision::BASELINE,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_study_reports_every_field_consistently() {
    let (items, dim) = (2 * 2048 + 3, 8);
    let mut outcomes = Vec::new();
    for concurrency in [1, 3] {
        let outcome = study::run(&small(None, items, dim, concurrency, 6))
            .await
            .unwrap();
        outcomes.push(outcome);
    }
    let fake = NaiveTfhe {
        items: 1,
        dim: 2,
        seconds: 1.0,
        seconds_per_item_feature: 0.5,
    };
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|o| o.with_naive(Some(fake)))
        .collect();

    for o in &outcomes {
        assert_eq!((o.items, o.dim, o.queries), (items, dim, 6));
        assert_eq!(o.precision, "8/8");
        assert!(o.latency_p50_ms > 0.0);
        assert!(o.latency_p50_ms <= o.latency_p90_ms);
        assert!(o.latency_p90_ms <= o.latency_p99_ms);
        assert!(o.latency_p99_ms <= o.latency_max_ms + 0.01);
        // the phases fit inside the end-to-end time
        assert!(o.encrypt_p50_ms + o.decrypt_rank_p50_ms <= o.latency_max_ms + 0.01);
        // 48-bit bodies per feature, plus the nonce and the envelope
        assert!(o.upload_bytes > dim * 2048 * 6, "{}", o.upload_bytes);
        // one coefficient per item, of more bits than the plaintext's
        assert!(o.download_bytes > items * 2, "{}", o.download_bytes);
        // the hint, rounded (once per catalog version): at least 3 bytes per coefficient of
        // every block at 8/8, and less than the exact hint's 7
        let coefficients = items.div_ceil(2048) * 2048;
        assert!(
            o.hint_bytes >= coefficients * 3 && o.hint_bytes < coefficients * 7,
            "{}",
            o.hint_bytes
        );
        assert!(o.mean_batch >= 1.0 && o.mean_batch <= 4.0);
        assert!(o.server_ns_per_item_feature > 0.0 && o.plaintext_ns_per_item_feature > 0.0);
        let ratio = o.server_ns_per_item_feature / o.plaintext_ns_per_item_feature;
        assert!((o.ratio_to_plaintext - ratio).abs() < 1e-9);
        // 7 bytes per value under the IFMA kernel, 8 without it; the last block is padded
        let padded = (3 * 2048) as f64 / items as f64;
        let bytes = o.prepared_bytes_per_item_feature.unwrap();
        assert!(
            (bytes - 7.0 * padded).abs() < 1e-9 || (bytes - 8.0 * padded).abs() < 1e-9,
            "{bytes}"
        );
        assert!(o.peak_rss_bytes.unwrap() > 1 << 20);
        assert!(o.peak_rss_of.contains("in-process"), "{}", o.peak_rss_of);
        assert_eq!(o.naive_tfhe_extrapolated, Some(0.5 * (items * dim) as f64));
        assert!(output::table(o).contains("EXTRAPOLATED"));
    }

    let dir = tempfile::tempdir().unwrap();
    output::write_json(&dir.path().join("one.json"), &outcomes[..1]).unwrap();
    let one: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("one.json")).unwrap())
            .unwrap();
    for field in REQUIRED {
        assert!(
            one.get(field).is_some_and(|v| !v.is_null()),
            "JSON lacks {field}"
        );
    }
    output::write_csv(&dir.path().join("results.csv"), &outcomes).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for field in REQUIRED {
        assert!(header.contains(&field), "CSV lacks {field}");
    }
    assert_eq!(csv.lines().count(), 1 + outcomes.len());

    plots::write_all(dir.path(), &outcomes).unwrap();
    for plot in ["latency.svg", "throughput.svg", "bytes.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(plot)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<polyline"), "{plot}");
    }
}

/// With `--server` the harness cannot see the server's memory in its own process: it reads
/// the server's peak from `/metrics`, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_against_a_running_server_reports_the_servers_memory() {
    let (items, dim) = (2048, 8);
    let running = in_process::start_in_process(
        items,
        dim,
        4,
        false,
        veilrank_engine::Pins::NONE,
        veilrank_core::Precision::BASELINE,
    )
    .await
    .unwrap();
    let outcome = study::run(&small(Some(running.server.url()), items, dim, 2, 4))
        .await
        .unwrap();
    assert_eq!(outcome.queries, 4);
    // nothing prepared here: the running server did that
    assert_eq!(outcome.prepared_bytes_per_item_feature, None);
    if cfg!(target_os = "linux") {
        // the server shares this process, so its peak is at least this process's RSS now
        assert!(outcome.peak_rss_bytes.unwrap() > 1 << 20);
        assert!(
            outcome.peak_rss_of.contains("/metrics"),
            "{}",
            outcome.peak_rss_of
        );
    }
    running.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_runs_one_at_a_time_and_batched_and_reports_both() {
    let run = |max_batch| Capacity {
        items: 2048 + 5,
        dim: 8,
        concurrency: 3,
        queries: 9,
        max_batch,
        progress: false,
        kernel: None,
        modulus: None,
        precision: veilrank_core::Precision::RECOMMENDED,
    };
    let alone = capacity::run(&run(1)).await.unwrap();
    let batched = capacity::run(&run(4)).await.unwrap();
    // one at a time means every pass scored exactly one query
    assert_eq!(alone.mean_batch, 1.0);
    assert!((1.0..=4.0).contains(&batched.mean_batch), "{batched:?}");
    for o in [&alone, &batched] {
        assert_eq!((o.queries, o.concurrency), (9, 3));
        assert!(o.throughput_qps > 0.0);
        assert!(
            0.0 < o.latency_p50_ms && o.latency_p50_ms <= o.latency_p99_ms,
            "{o:?}"
        );
        assert!(
            o.server_p50_ms > 0.0 && o.server_p50_ms <= o.latency_p99_ms,
            "{o:?}"
        );
    }
    let table = capacity::table(&alone, &batched);
    let ratio = batched.throughput_qps / alone.throughput_qps;
    assert!(table.contains(&format!("{ratio:.2}x")), "{table}");
    assert!(table.contains("one at a time") && table.contains("batched (max 4)"));
    // the machine and the kernel, in the JSON and the table
    let best = veilrank_engine::Kernel::best(veilrank_core::ntt::ServerPrime::Ifma50);
    assert_eq!(alone.kernel, best.name());
    assert_eq!(alone.cpu, veilrank_bench::system::cpu_model());
    assert!(table.contains(&alone.cpu) && table.contains(&format!("{best} kernel")));
    // the precision too (the run checks each user's scores against its plaintext)
    assert_eq!(alone.precision, "12/10");
    assert!(table.contains("precision 12/10"), "{table}");
    let portable = capacity::run(&Capacity {
        kernel: Some(veilrank_engine::Kernel::Portable),
        ..run(2)
    })
    .await
    .unwrap();
    assert_eq!(portable.kernel, "portable");
}
