//! A study's outcome as people and programs read it: a table, JSON, CSV.

use std::path::Path;

use crate::study::Outcome;

/// The readable table of one outcome.
pub fn table(o: &Outcome) -> String {
    let mut t = String::new();
    let mut line = |label: &str, value: String| t.push_str(&format!("  {label:<34} {value}\n"));
    line(
        "machine",
        format!(
            "{} ({}); scoring kernel {}, modulus {}, precision {}, plaintext baseline {}",
            o.cpu, o.isa, o.kernel, o.modulus, o.precision, o.baseline_kernel
        ),
    );
    line(
        "catalog",
        format!(
            "{} items x {} dims, {} concurrent clients, {} queries, {} threads",
            o.items, o.dim, o.concurrency, o.queries, o.threads
        ),
    );
    line(
        "end to end (ms)",
        format!(
            "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            o.latency_p50_ms, o.latency_p90_ms, o.latency_p99_ms, o.latency_max_ms
        ),
    );
    line(
        "phases, p50 (ms)",
        format!(
            "encrypt {:.1} | upload {:.1} | server {:.1} | download {:.1} | decrypt+rank {:.1}",
            o.encrypt_p50_ms,
            o.upload_p50_ms,
            o.server_p50_ms,
            o.download_p50_ms,
            o.decrypt_rank_p50_ms
        ),
    );
    line(
        "server, p50 (ms)",
        format!(
            "expand {:.1} | queue {:.1} | scoring pass {:.1} (mean batch {:.2})",
            o.server_expand_p50_ms, o.server_queue_p50_ms, o.server_score_p50_ms, o.mean_batch
        ),
    );
    line("throughput", format!("{:.2} queries/s", o.throughput_qps));
    line(
        "bytes per query",
        format!(
            "up {} ({:.1} KB) | down {} ({:.2} B/item) | hint {:.1} KB once per catalog version",
            o.upload_bytes,
            o.upload_bytes as f64 / 1e3,
            o.download_bytes,
            o.download_bytes as f64 / o.items as f64,
            o.hint_bytes as f64 / 1e3
        ),
    );
    line(
        "server per item-feature",
        format!(
            "{:.3} ns ({:.3} ns per core)",
            o.server_ns_per_item_feature, o.server_ns_per_item_feature_per_core
        ),
    );
    line(
        "plaintext i8, cache-cold",
        format!(
            "{:.3} ns per item-feature -> encrypted / plaintext = {:.1}x",
            o.plaintext_ns_per_item_feature, o.ratio_to_plaintext
        ),
    );
    if let (Some(read), Some(bytes)) = (o.memory_read_ms, o.prepared_bytes_per_item_feature) {
        line(
            "memory floor",
            format!(
                "reading the prepared {:.0} MB once: {read:.2} ms on {} threads; \
                 scoring pass p50 {:.1} ms = {:.1}x that",
                bytes * (o.items * o.dim) as f64 / 1e6,
                o.threads,
                o.server_score_p50_ms,
                o.server_score_p50_ms / read
            ),
        );
    }
    if let (Some(prepare), Some(bytes)) = (o.prepare_s, o.prepared_bytes_per_item_feature) {
        line(
            "catalog preparation",
            format!("{prepare:.2} s, {bytes:.2} bytes per item-feature"),
        );
    }
    if let Some(rss) = o.peak_rss_bytes {
        line(
            "peak RSS",
            format!(
                "{:.0} MiB ({})",
                rss as f64 / (1 << 20) as f64,
                o.peak_rss_of
            ),
        );
    }
    if let (Some(per), Some(total), Some(on)) = (
        o.naive_tfhe_s_per_item_feature,
        o.naive_tfhe_extrapolated,
        &o.naive_tfhe_measured_on,
    ) {
        line(
            "tfhe integer API (naive)",
            format!(
                "{per:.3} s per item-feature, measured on {on}; {:.1} hours per query \
                 (EXTRAPOLATED)",
                total / 3600.0
            ),
        );
    }
    t
}

/// Writes outcomes as one JSON value: an object for one, an array for several.
pub fn write_json(path: &Path, outcomes: &[Outcome]) -> std::io::Result<()> {
    let json = match outcomes {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(many),
    }
    .map_err(std::io::Error::other)?;
    std::fs::write(path, json + "\n")
}

/// Writes outcomes as CSV, one row each, with a header.
pub fn write_csv(path: &Path, outcomes: &[Outcome]) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    for o in outcomes {
        writer.serialize(o).map_err(std::io::Error::other)?;
    }
    writer.flush()
}

/// A markdown table of a sweep, for the README.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut t = outcomes
        .first()
        .map(|o| {
            format!(
                "{} ({}); scoring kernel {}, modulus {}, precision {}, plaintext baseline {}\n\n",
                o.cpu, o.isa, o.kernel, o.modulus, o.precision, o.baseline_kernel
            )
        })
        .unwrap_or_default();
    t.push_str(
        "| items | dim | clients | p50 ms | p99 ms | server ms | ns/item-feature/core | \
         x plaintext | queries/s | up KB | down KB |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        t.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {:.0} | {:.0} |\n",
            o.items,
            o.dim,
            o.concurrency,
            o.latency_p50_ms,
            o.latency_p99_ms,
            o.server_p50_ms,
            o.server_ns_per_item_feature_per_core,
            o.ratio_to_plaintext,
            o.throughput_qps,
            o.upload_bytes as f64 / 1e3,
            o.download_bytes as f64 / 1e3,
        ));
    }
    t
}

/// Our figures beside Apple's published ones for the same shape (different hardware, scheme
/// and security analysis: a shape comparison, not a race).
pub fn apple_comparison(o: &Outcome) -> String {
    format!(
        "  Apple PNNS shape (4096 x 128) | veilrank (this machine)  | Apple swift-homomorphic-encryption (published, other hardware)\n  \
         query                          | {:>8.1} KB              | 28.2 KB + 170 KB evaluation key\n  \
         response                       | {:>8.1} KB              | 52.1 KB\n  \
         once per catalog version       | {:>8.1} KB hint         | (evaluation key above, per client)\n  \
         server                         | {:>8.1} ms              | 10.4-12.5 ms",
        o.upload_bytes as f64 / 1e3,
        o.download_bytes as f64 / 1e3,
        o.hint_bytes as f64 / 1e3,
        o.server_p50_ms,
    )
}
