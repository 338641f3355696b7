//! `veilrank demo`: a server and an app in one process, over loopback HTTP, and the ranking
//! checked against the plaintext one (the demo holds both sides).

use std::sync::Arc;
use std::time::{Duration, Instant};

use veilrank_client::{Client, SecretKey};
use veilrank_core::{plain, quantize, rank, V1_128};

use crate::print::{print_ranking, print_report};
use crate::AnyResult;

pub(crate) async fn demo(items: usize, likes: &[String], top: usize) -> AnyResult {
    println!("veilrank demo: a server and an app in one process, talking HTTP over loopback\n");
    let started = Instant::now();
    let server = veilrank_server::start_demo_on_loopback(items).await?;
    let catalog = server.state.catalogs.default_catalog();
    let prepared = catalog.prepared().ok_or("catalog not prepared")?;
    println!(
        "[server] {} items x {} dims at precision {} generated and prepared in {:.0} ms ({:.0} MB in the transform domain, prime {}, {}-bit responses, failure bound 2^{:.0} per score)",
        catalog.item_count(),
        prepared.dim(),
        catalog.params.precision,
        started.elapsed().as_secs_f64() * 1e3,
        prepared.prepared_bytes() as f64 / 1e6,
        prepared.noise_plan().prime.name(),
        prepared.noise_plan().response_bits,
        prepared.noise_plan().log2_failure,
    );
    println!("[server] listening on {}", server.url());

    let key = Arc::new(SecretKey::generate(&V1_128)?);
    println!("[app]    generated a secret key; it stays in this process");
    let client = Client::connect(&server.url(), Duration::from_secs(30)).await?;
    let names: Vec<&str> = likes.iter().map(String::as_str).collect();
    let prefs = client.preferences_from_topics(&names)?;
    println!("[app]    the user likes: {}", names.join(", "));
    let recommendations = client.recommend(&key, &prefs, top).await?;
    println!();
    print_ranking(&recommendations);
    print_report(&recommendations.report);

    // The demo can see both sides: check the encrypted ranking against the plaintext one.
    let precision = catalog.params.precision;
    let query = quantize::quantize_bits(&prefs, precision.query_bits())?;
    let expected = plain::item_scores(
        precision,
        catalog.quantized(),
        prepared.dim(),
        &query.values,
    );
    let expected_top = rank::top_k(&expected, top);
    let same = recommendations.items.len() == expected_top.len()
        && recommendations
            .items
            .iter()
            .zip(&expected_top)
            .all(|(item, &i)| catalog.items[i].id == item.id && item.raw_score == expected[i]);
    println!(
        "\nplaintext check: the decrypted ranking {} the plaintext ranking (computed here only because the demo holds both sides)",
        if same { "is identical to" } else { "DIFFERS from" }
    );
    server.shutdown().await?;
    if same {
        Ok(())
    } else {
        Err("encrypted and plaintext rankings differ".into())
    }
}
