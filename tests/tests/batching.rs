//! Micro-batching in the server: queries of different users that wait together are scored in
//! one pass, and each user decrypts exactly its own scores, and nothing of the others'.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;

use veilrank_core::{plain, wire, Query, SecretKey, V1_128};
use veilrank_e2e::{integer_catalog, random_values};
use veilrank_server::batcher::{BatchPolicy, Batcher};
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::metrics::Metrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_queries_share_a_pass_and_each_user_reads_only_its_own() {
    let (dim, items) = (32, 40 * 2048 + 7);
    let values = random_values(1, dim * items);
    let catalog = ServedCatalog::new("c", integer_catalog(dim, values.clone()), V1_128).unwrap();
    catalog.prepare().unwrap();
    let catalog = Arc::new(catalog);
    let policy = BatchPolicy {
        max_batch: 8,
        max_wait: std::time::Duration::ZERO,
        queue: 64,
    };
    let batcher = Arc::new(Batcher::start(policy, Arc::new(Metrics::new())).unwrap());

    let users: Vec<(SecretKey, Vec<i8>)> = (0..7)
        .map(|u| {
            let mut prefs = random_values(100 + u, dim);
            prefs[0] = (u as i8) - 3;
            (SecretKey::generate(&V1_128).unwrap(), prefs)
        })
        .collect();
    let queries: Vec<_> = users
        .iter()
        .map(|(key, prefs)| Query::encrypt(key, prefs).unwrap())
        .collect();

    // all seven are queued at once: the first pass takes one (or a few), the rest wait together
    let answers = futures_join(queries.into_iter().map(|query| {
        let (batcher, catalog) = (batcher.clone(), catalog.clone());
        async move { batcher.score(catalog, query).await.unwrap() }
    }))
    .await;

    let largest = answers.iter().map(|a| a.batch).max().unwrap();
    assert!(
        largest >= 2,
        "no two queries shared a pass: batches {:?}",
        answers.iter().map(|a| a.batch).collect::<Vec<_>>()
    );
    let hint = catalog.prepared().unwrap().hint();
    for (u, ((key, prefs), answer)) in users.iter().zip(&answers).enumerate() {
        let response =
            wire::decode_response(&V1_128, &catalog.reference, items, &answer.encoded.concat())
                .unwrap();
        let expected = plain::scores(catalog.quantized(), dim, prefs);
        assert_eq!(
            response.decrypt(key, hint, items).unwrap(),
            expected,
            "user {u}"
        );
        let (other, _) = &users[(u + 1) % users.len()];
        let readable = response
            .decrypt(other, hint, items)
            .unwrap()
            .iter()
            .zip(&expected)
            .filter(|(a, b)| a == b)
            .count();
        assert!(
            readable < items / 50,
            "{readable} of user {u}'s scores readable by another key"
        );
    }
}

/// Runs the futures concurrently on the runtime and returns their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
