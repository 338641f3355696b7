//! What the CLI prints: rankings, the timing and bytes report, profiles.

use std::time::Duration;

use veilrank_client::{Recommendations, Report};

use crate::{AnyResult, Output};

pub(crate) fn print(recommendations: &Recommendations, output: &Output) -> AnyResult {
    if output.json {
        println!("{}", serde_json::to_string_pretty(&recommendations.items)?);
    } else {
        print_ranking(recommendations);
        print_report(&recommendations.report);
    }
    Ok(())
}

pub(crate) fn print_profile(info: &veilrank_core::api::ProfileInfo) {
    println!("profile    {}", info.id);
    println!("catalog    {} (dimension {})", info.catalog, info.dimension);
    println!("created    {}", info.created_at);
    println!("expires    {}", info.expires_at);
    println!("size       {} bytes (encrypted)", info.size_bytes);
}

pub(crate) fn print_ranking(recommendations: &Recommendations) {
    println!("{:>4}  {:<12} {:>9}  title", "rank", "id", "score");
    for item in &recommendations.items {
        println!(
            "{:>4}  {:<12} {:>9.4}  {}",
            item.rank, item.id, item.score, item.title
        );
    }
}

pub(crate) fn print_report(report: &Report) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\ntime (ms): encrypt {:.1} | round trip {:.1} (server {}) | decrypt {:.1} | rank {:.2}",
        ms(report.encrypt),
        ms(report.round_trip),
        report.server.map_or("n/a".to_string(), |s| format!(
            "{:.1}: expand {:.1}, scoring {:.1} in a batch of {}",
            ms(s.total),
            ms(s.expand),
            ms(s.score),
            s.batch
        )),
        ms(report.decrypt),
        ms(report.rank),
    );
    println!(
        "bytes: sent {} ({:.2} MB), received {} ({:.2} MB)",
        report.bytes_sent,
        report.bytes_sent as f64 / 1e6,
        report.bytes_received,
        report.bytes_received as f64 / 1e6
    );
    if report.hint_bytes > 0 {
        println!(
            "       and the catalog's hint, {:.2} MB in {:.1} ms (public; fetched once per catalog version)",
            report.hint_bytes as f64 / 1e6,
            ms(report.hint)
        );
    }
}
