//! The engine end to end, without the network: every decrypted score equals the plaintext score,
//! on every kernel this CPU runs, and the engine computes what the reference computes.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;
mod every_kernel;

use every_kernel::{on_every_kernel, random_values};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use veilrank_core::ntt::{ServerPrime, SERVER_PRIMES};
use veilrank_core::{plain, Query, ReferenceCatalog, SecretKey, V1_128};
use veilrank_engine::{Kernel, PreparedCatalog};

/// The worst decryption error, over every kernel, of one query against a catalog.
fn check(key: &SecretKey, catalog_values: &[i8], dim: usize, query_values: &[i8]) -> f64 {
    let query = Query::encrypt(key, query_values).unwrap();
    let expected = plain::scores(catalog_values, dim, query_values);
    let mut max_error = 0f64;
    for catalog in on_every_kernel(dim, catalog_values) {
        let response = catalog.score(&query).unwrap();
        // the exact hint, and the rounded one new clients take
        let rounded = catalog
            .hint()
            .rounded(&V1_128, catalog.noise_plan().hint_bits)
            .unwrap();
        for hint in [catalog.hint(), &rounded] {
            let decrypted = response
                .decrypt_with_error(key, hint, catalog.items())
                .unwrap();
            assert_eq!(decrypted.scores.len(), expected.len());
            if let Some(i) = (0..expected.len()).find(|&i| decrypted.scores[i] != expected[i]) {
                panic!(
                    "{} kernel under {}, dim {dim}, {} items, hint rounded to {:?} bits: item \
                     {i} decrypted {} expected {}",
                    catalog.kernel(),
                    catalog.noise_plan().prime,
                    catalog.items(),
                    hint.rounding(),
                    decrypted.scores[i],
                    expected[i]
                );
            }
            max_error = max_error.max(decrypted.max_error);
        }
    }
    max_error
}

#[test]
fn random_catalogs_and_queries_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (dim, items) in [
        (1, 1),
        (1, 2049),
        (3, 2047),
        (8, 2048),
        (16, 4097),
        (64, 3000),
    ] {
        let catalog = random_values(&mut rng, dim * items);
        let query = random_values(&mut rng, dim);
        check(&key, &catalog, dim, &query);
    }
}

#[test]
fn extreme_vectors_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for dim in [1, 64, 300] {
        let items = 2100;
        let random = random_values(&mut rng, dim * items);
        for catalog in [vec![127i8; dim * items], vec![-127i8; dim * items], random] {
            for query in [vec![127i8; dim], vec![-127i8; dim], vec![0i8; dim]] {
                check(&key, &catalog, dim, &query);
            }
        }
    }
}

#[test]
fn the_largest_dimension_decrypts_exactly_at_the_extremes() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let dim = V1_128.max_dim;
    // a full block of +127: the largest mean, which the fast prime cannot carry at d = 1024
    let items = V1_128.polynomial_size;
    let catalog = PreparedCatalog::prepare(&V1_128, dim, &vec![127i8; dim * items]).unwrap();
    assert_eq!(catalog.noise_plan().prime, ServerPrime::Wide62);
    // a small catalog has small norms: this CPU's fastest modulus is safe for it
    let small = PreparedCatalog::prepare(&V1_128, dim, &vec![127i8; dim * 10]).unwrap();
    assert_eq!(small.noise_plan().prime, Kernel::fastest_here().moduli()[0]);
    for value in [127i8, -127] {
        let query = Query::encrypt(&key, &vec![value; dim]).unwrap();
        let scores = catalog
            .score(&query)
            .unwrap()
            .decrypt(&key, catalog.hint(), items)
            .unwrap();
        assert!(scores
            .iter()
            .all(|&s| s == i32::from(value) * 127 * dim as i32));
    }
}

/// Reports the worst decryption error over 100,000 random scores at d = 64, in units of Delta,
/// next to the analysis' standard deviation; fails if it comes near the 0.5 failure point.
#[test]
fn observed_noise_is_far_below_the_failure_point() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (dim, items) = (64, 100_000);
    let catalog_values = random_values(&mut rng, dim * items);
    let query_values = random_values(&mut rng, dim);
    let catalog = PreparedCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
    let plan = *catalog.noise_plan();
    let max_error = check(&key, &catalog_values, dim, &query_values);
    common::assert_observed_noise_within_analysis(&V1_128, dim, &catalog_values, &plan, max_error);
}

#[test]
fn a_key_decrypts_only_its_own_scores() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let other = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let dim = 16;
    let catalog_values = random_values(&mut rng, dim * 500);
    let query_values = random_values(&mut rng, dim);
    let catalog = PreparedCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
    let response = catalog
        .score(&Query::encrypt(&key, &query_values).unwrap())
        .unwrap();
    let expected = plain::scores(&catalog_values, dim, &query_values);
    let wrong = response.decrypt(&other, catalog.hint(), 500).unwrap();
    let agreeing = wrong.iter().zip(&expected).filter(|(a, b)| a == b).count();
    assert!(
        agreeing < 10,
        "{agreeing} of 500 scores readable with another key"
    );
}

#[test]
fn queries_of_another_dimension_are_rejected() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let catalog = PreparedCatalog::prepare(&V1_128, 4, &[1i8; 40]).unwrap();
    let query = Query::encrypt(&key, &[1i8; 5]).unwrap();
    assert!(matches!(
        catalog.score(&query),
        Err(veilrank_core::Error::DimensionMismatch {
            expected: 4,
            found: 5
        })
    ));
}

#[test]
fn catalog_sizes_around_block_and_superblock_boundaries_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = V1_128.polynomial_size;
    let dim = 2;
    // one block; 8 blocks (one per superblock); 9; 32 and 33 (superblocks of 4, the last short)
    for items in [
        n - 1,
        n,
        n + 1,
        8 * n,
        8 * n + 1,
        9 * n - 1,
        32 * n,
        33 * n + 1,
    ] {
        let catalog = random_values(&mut rng, dim * items);
        let query = random_values(&mut rng, dim);
        check(&key, &catalog, dim, &query);
    }
}

/// A response decrypted with another catalog's hint is an error, not wrong scores.
#[test]
fn a_response_needs_its_own_catalogs_hint() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (dim, items) = (4, 300);
    let first = random_values(&mut rng, dim * items);
    let mut second = first.clone();
    second[0] = second[0].wrapping_add(1).max(-127);
    let catalog = PreparedCatalog::prepare(&V1_128, dim, &first).unwrap();
    let replaced = PreparedCatalog::prepare(&V1_128, dim, &second).unwrap();
    assert_ne!(catalog.hint().id(), replaced.hint().id());
    let key = SecretKey::generate(&V1_128).unwrap();
    let response = catalog
        .score(&Query::encrypt(&key, &random_values(&mut rng, dim)).unwrap())
        .unwrap();
    assert!(matches!(
        response.decrypt(&key, replaced.hint(), items),
        Err(veilrank_core::Error::HintMismatch { .. })
    ));
}

/// The engine's hint is the reference's, value for value (both exact mod q in the transform
/// domain), and both choose the same prime and width: what a client decrypts does not depend
/// on which server computed it.
#[test]
fn the_engine_computes_what_the_reference_computes() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let n = V1_128.polynomial_size;
    for (dim, items) in [(3, 2 * n + 7), (64, n + 1), (200, 40)] {
        let values = random_values(&mut rng, dim * items);
        let key = SecretKey::generate(&V1_128).unwrap();
        let query_values = random_values(&mut rng, dim);
        let query = Query::encrypt(&key, &query_values).unwrap();
        for engine in on_every_kernel(dim, &values) {
            let kernel = engine.kernel();
            let prime = engine.noise_plan().prime;
            let reference =
                ReferenceCatalog::prepare_among(&V1_128, dim, &values, &[prime]).unwrap();
            let expected = reference
                .score(&query)
                .unwrap()
                .decrypt(&key, reference.hint(), items)
                .unwrap();
            assert_eq!(
                expected,
                plain::scores(&values, dim, &query_values),
                "{prime}"
            );
            assert_eq!(
                engine.noise_plan(),
                reference.noise_plan(),
                "{kernel}, dim {dim}"
            );
            // the hint is exact mod q: every kernel computes the same values
            assert_eq!(engine.hint(), reference.hint(), "{kernel}, dim {dim}");
            let scores = engine.score(&query).unwrap();
            assert_eq!(
                scores.decrypt(&key, engine.hint(), items).unwrap(),
                expected,
                "{kernel}, dim {dim}"
            );
        }
    }
}

/// Which kernels these tests ran on, and which this CPU lacks, where a reader of the test output
/// sees it.
#[test]
fn report_the_kernels_in_use() {
    use std::io::Write;
    let catalog = PreparedCatalog::prepare(&V1_128, 4, &[1i8; 40]).unwrap();
    let prime = catalog.noise_plan().prime;
    assert_eq!(catalog.kernel(), Kernel::best(prime));
    assert_eq!(prime, Kernel::fastest_here().moduli()[0]);
    for kernel in Kernel::ALL {
        // a kernel that does not cover a modulus does not compute under it anywhere: no gap
        for modulus in SERVER_PRIMES.into_iter().filter(|&m| kernel.covers(m)) {
            let line = match kernel.check(modulus) {
                Ok(()) => format!("engine kernel {kernel} under {modulus}: tested here"),
                Err(e) => {
                    format!("SKIPPED engine kernel {kernel} under {modulus}: not tested here, {e}")
                }
            };
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "engine kernel on this CPU by default: {} under {prime}",
        catalog.kernel()
    );
}
