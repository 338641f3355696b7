//! Batches: queries of several users scored in one pass each decrypt to their own plaintext
//! scores, on every kernel, at every batch size, and under a secret of their own.

mod every_kernel;

use every_kernel::{on_every_kernel, random_values};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use veilrank_core::{plain, Query, SecretKey, V1_128};
use veilrank_engine::{ExpandedQuery, PreparedCatalog};

/// How many scores decrypted under the wrong key or nonce still equal the right ones.
fn agreeing<T: PartialEq>(got: &[T], expected: &[T]) -> usize {
    got.iter().zip(expected).filter(|(a, b)| a == b).count()
}

#[test]
fn batched_queries_of_different_users_each_decrypt_only_their_own_scores() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let n = V1_128.polynomial_size;
    let dim = 8;
    for items in [3 * n + 5, 33 * n + 1] {
        let catalog_values = random_values(&mut rng, dim * items);
        let catalog = PreparedCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
        let prime = catalog.noise_plan().prime;
        let users: Vec<(SecretKey, Vec<i8>)> = (0..5)
            .map(|_| {
                (
                    SecretKey::generate(&V1_128).unwrap(),
                    random_values(&mut rng, dim),
                )
            })
            .collect();
        let queries: Vec<Query> = users
            .iter()
            .map(|(key, values)| Query::encrypt(key, values).unwrap())
            .collect();
        let expanded: Vec<_> = queries
            .iter()
            .map(|q| ExpandedQuery::expand(q, &V1_128, dim, prime).unwrap())
            .collect();
        let responses = catalog
            .score_batch(&expanded.iter().collect::<Vec<_>>())
            .unwrap();
        assert_eq!(responses.len(), users.len());
        for (u, ((key, values), response)) in users.iter().zip(&responses).enumerate() {
            let expected = plain::scores(&catalog_values, dim, values);
            assert_eq!(
                response.decrypt(key, catalog.hint(), items).unwrap(),
                expected,
                "user {u}"
            );
            // the same as scoring alone
            let alone = catalog.score(&queries[u]).unwrap();
            assert_eq!(
                alone.decrypt(key, catalog.hint(), items).unwrap(),
                expected,
                "user {u} alone"
            );
            // and unreadable to the others
            let (other, _) = &users[(u + 1) % users.len()];
            let readable = agreeing(
                &response.decrypt(other, catalog.hint(), items).unwrap(),
                &expected,
            );
            assert!(
                readable < items / 50,
                "{readable} of user {u}'s scores readable"
            );
        }
    }
}

/// Every batch size from 1 to 9: the kernel pairs queries two per slot, so odd batches leave a
/// half slot empty and even ones fill every slot.
#[test]
fn every_batch_size_pairs_queries_correctly() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = V1_128.polynomial_size;
    let (dim, items) = (5, 2 * n + 3);
    let catalog_values = random_values(&mut rng, dim * items);
    let key = SecretKey::generate(&V1_128).unwrap();
    let vectors: Vec<Vec<i8>> = (0..9).map(|_| random_values(&mut rng, dim)).collect();
    for catalog in on_every_kernel(dim, &catalog_values) {
        let prime = catalog.noise_plan().prime;
        let expanded: Vec<_> = vectors
            .iter()
            .map(|v| {
                let query = Query::encrypt(&key, v).unwrap();
                ExpandedQuery::expand(&query, &V1_128, dim, prime).unwrap()
            })
            .collect();
        for batch in 1..=vectors.len() {
            let refs: Vec<_> = expanded[..batch].iter().collect();
            let responses = catalog.score_batch(&refs).unwrap();
            assert_eq!(responses.len(), batch);
            for (j, response) in responses.iter().enumerate() {
                assert_eq!(
                    response.decrypt(&key, catalog.hint(), items).unwrap(),
                    plain::scores(&catalog_values, dim, &vectors[j]),
                    "{} kernel, batch {batch}, query {j}",
                    catalog.kernel()
                );
            }
        }
        assert!(catalog.score_batch(&[]).unwrap().is_empty());
    }
}

/// One key encrypts every query under a secret of its own: two encryptions of one vector share
/// nothing but the public masks, and a response whose nonce is changed does not decrypt.
#[test]
fn every_query_has_a_secret_of_its_own() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (dim, items) = (4, 300);
    let catalog_values = random_values(&mut rng, dim * items);
    let catalog = PreparedCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let values = random_values(&mut rng, dim);
    let (a, b) = (
        Query::encrypt(&key, &values).unwrap(),
        Query::encrypt(&key, &values).unwrap(),
    );
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.bodies, b.bodies);
    let expected = plain::scores(&catalog_values, dim, &values);
    let mut response = catalog.score(&a).unwrap();
    assert_eq!(response.nonce, a.nonce);
    assert_eq!(
        response.decrypt(&key, catalog.hint(), items).unwrap(),
        expected
    );
    response.nonce ^= 1;
    let readable = agreeing(
        &response.decrypt(&key, catalog.hint(), items).unwrap(),
        &expected,
    );
    assert!(
        readable < 10,
        "{readable} scores readable under another nonce"
    );
}
