//! End to end over real HTTP on loopback: the decrypted scores are the plaintext scores, exactly.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;
use std::time::Duration;

use veilrank_client::{Client, ClientError};
use veilrank_core::ntt::SERVER_PRIMES;
use veilrank_core::{plain, rank, SecretKey, V1_128};
use veilrank_e2e::{integer_catalog, random_values, serve, serve_with, test_config};
use veilrank_engine::Kernel;

fn floats(values: &[i8]) -> Vec<f32> {
    values.iter().map(|&v| f32::from(v)).collect()
}

async fn connect(url: &str) -> Client {
    Client::connect(url, Duration::from_secs(30)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_are_exact_for_every_size_and_dimension() {
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    for dim in [1usize, 64, 512] {
        for items in [1usize, 2047, 2048, 2049, 10_000] {
            let values = random_values((dim * 100_000 + items) as u64, dim * items);
            let server = serve(integer_catalog(dim, values.clone())).await;
            let client = connect(&server.url()).await;
            let random_query = random_values(dim as u64 + 7, dim);
            for query in [random_query, vec![127; dim], vec![-127; dim], vec![0; dim]] {
                let scores = client.score(&key, &floats(&query)).await.unwrap();
                let expected = plain::scores(&values, dim, &query);
                assert_eq!(scores.raw, expected, "dim {dim}, {items} items");
            }
            server.shutdown().await.unwrap();
        }
    }
}

/// The server's `--kernel` and `--modulus`: every kernel this CPU runs, under every modulus it
/// covers, serves exact scores over HTTP, not only the fastest, which the other tests use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kernel_this_cpu_runs_serves_exact_scores() {
    use std::io::Write;
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let (dim, items) = (64, 2 * 2048 + 1);
    let values = random_values(11, dim * items);
    let mut tested = 0;
    for kernel in Kernel::ALL {
        if !kernel.runs_here() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED e2e on the {kernel} kernel: this CPU lacks its instructions"
            );
            continue;
        }
        for modulus in SERVER_PRIMES.into_iter().filter(|&m| kernel.covers(m)) {
            let config = veilrank_server::Config {
                kernel: Some(kernel),
                modulus: Some(modulus),
                ..test_config()
            };
            let server = serve_with(&config, integer_catalog(dim, values.clone())).await;
            let client = connect(&server.url()).await;
            assert_eq!(client.manifest().noise.server_prime, modulus.name());
            for query in [random_values(12, dim), vec![127; dim], vec![-127; dim]] {
                let scores = client.score(&key, &floats(&query)).await.unwrap();
                let expected = plain::scores(&values, dim, &query);
                assert_eq!(scores.raw, expected, "{kernel} under {modulus}");
            }
            server.shutdown().await.unwrap();
            tested += 1;
        }
    }
    assert!(tested >= 1, "the portable kernel runs everywhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_catalogs_are_exact() {
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    for dim in [1usize, 64, 512] {
        for fill in [127i8, -127] {
            let items = 2049;
            let values = vec![fill; dim * items];
            let server = serve(integer_catalog(dim, values.clone())).await;
            let client = connect(&server.url()).await;
            for query in [vec![127i8; dim], vec![-127; dim], random_values(5, dim)] {
                let scores = client.score(&key, &floats(&query)).await.unwrap();
                assert_eq!(
                    scores.raw,
                    plain::scores(&values, dim, &query),
                    "dim {dim}, fill {fill}"
                );
            }
            server.shutdown().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_equals_the_plaintext_ranking_with_ties_by_position() {
    let dim = 16;
    // 3000 items drawn from only 40 distinct vectors: many exact ties
    let distinct = random_values(11, 40 * dim);
    let values: Vec<i8> = (0..3000)
        .flat_map(|i| distinct[(i * 7 % 40) * dim..(i * 7 % 40 + 1) * dim].to_vec())
        .collect();
    let server = serve(integer_catalog(dim, values.clone())).await;
    let client = connect(&server.url()).await;
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let query = random_values(12, dim);
    let recommendations = client.recommend(&key, &floats(&query), 200).await.unwrap();
    let expected = plain::scores(&values, dim, &query);
    let expected_top = rank::top_k(&expected, 200);
    let got: Vec<String> = recommendations.items.iter().map(|i| i.id.clone()).collect();
    let want: Vec<String> = expected_top.iter().map(|i| format!("i{i}")).collect();
    assert_eq!(got, want);
    // ties really occur, and go to the earlier item
    let tied = recommendations
        .items
        .windows(2)
        .filter(|w| w[0].raw_score == w[1].raw_score)
        .count();
    assert!(tied > 50, "only {tied} ties");
    for w in recommendations.items.windows(2) {
        assert!(
            w[0].raw_score > w[1].raw_score
                || w[0].id[1..].parse::<usize>().unwrap() < w[1].id[1..].parse::<usize>().unwrap()
        );
    }
    assert_eq!(recommendations.items[0].rank, 1);
    assert_eq!(
        recommendations.items[0].score,
        recommendations.items[0].raw_score as f32
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_catalog_recommends_what_the_user_likes() {
    let server = veilrank_server::start_demo_on_loopback(5000).await.unwrap();
    let client = connect(&server.url()).await;
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs = client.preferences_from_topics(&["jazz"]).unwrap();
    let top = client.recommend(&key, &prefs, 10).await.unwrap();
    assert!(
        top.items.iter().all(|i| i.title.contains("jazz")),
        "{:?}",
        top.items
    );
    assert!(matches!(
        client.preferences_from_topics(&["polka"]),
        Err(ClientError::InvalidPreferences(m)) if m.contains("jazz")
    ));
    let report = &top.report;
    assert!(report.server.is_some(), "server timing header missing");
    assert!(report.bytes_sent > 0 && report.bytes_received > 0);
    server.shutdown().await.unwrap();
}
