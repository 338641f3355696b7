//! The client's half of the scheme end to end against the reference server: every decrypted
//! score equals the plaintext score, extreme vectors included. Runs natively, under aarch64
//! emulation and as WebAssembly (`wasm-bindgen-test`), so each platform's client is checked.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_core::ntt::ServerPrime::Crt54;
use veilrank_core::{plain, Encryptor, Error, Query, ReferenceCatalog, SecretKey, V1_128};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn random_values(rng: &mut ChaCha8Rng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.random_range(-127i8..=127)).collect()
}

/// Encrypts `query_values`, scores them on the reference server under the modulus an IFMA
/// server takes (`ifma50` where the noise allows) and under `crt54` (every other server's),
/// decrypts, and compares with the plaintext scores; returns the largest decryption error in
/// units of Delta.
fn check(key: &SecretKey, catalog_values: &[i8], dim: usize, query_values: &[i8]) -> f64 {
    let under_crt54 = ReferenceCatalog::prepare_among(&V1_128, dim, catalog_values, &[Crt54]);
    let catalogs = [ReferenceCatalog::prepare(&V1_128, dim, catalog_values)]
        .into_iter()
        .chain(match under_crt54 {
            // beyond its noise (the largest catalogs' worst case), as a server would refuse it
            Err(Error::NoiseBudget { .. }) => None,
            other => Some(other),
        });
    catalogs
        .map(|catalog| check_on(&catalog.unwrap(), key, catalog_values, dim, query_values))
        .fold(0.0, f64::max)
}

fn check_on(
    catalog: &ReferenceCatalog,
    key: &SecretKey,
    catalog_values: &[i8],
    dim: usize,
    query_values: &[i8],
) -> f64 {
    let query = Query::encrypt(key, query_values).unwrap();
    let response = catalog.score(&query).unwrap();
    let decrypted = response
        .decrypt_with_error(key, catalog.hint(), catalog.items())
        .unwrap();
    let expected = plain::scores(catalog_values, dim, query_values);
    // the hint as new clients take it, rounded to the width the noise analysis picked
    let rounded = catalog
        .hint()
        .rounded(&V1_128, catalog.noise_plan().hint_bits)
        .unwrap();
    let with_rounded = response
        .decrypt_with_error(key, &rounded, catalog.items())
        .unwrap();
    let modulus = catalog.noise_plan().prime;
    assert_eq!(
        with_rounded.scores, expected,
        "dim {dim}, {modulus}, rounded hint"
    );
    assert!(with_rounded.max_error < 0.5);
    assert_eq!(decrypted.scores.len(), expected.len());
    if let Some(i) = (0..expected.len()).find(|&i| decrypted.scores[i] != expected[i]) {
        panic!(
            "dim {dim}, {modulus}, {} items: item {i} decrypted {} expected {}",
            catalog.items(),
            decrypted.scores[i],
            expected[i]
        );
    }
    decrypted.max_error
}

#[test]
fn random_catalogs_and_queries_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (dim, items) in [(1, 1), (1, 2049), (3, 2047), (16, 4097), (64, 3000)] {
        let catalog = random_values(&mut rng, dim * items);
        let query = random_values(&mut rng, dim);
        let error = check(&key, &catalog, dim, &query);
        assert!(error < 0.25, "dim {dim}: error {error} Delta");
    }
}

#[test]
fn extreme_vectors_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (dim, items) in [(1, 2100), (64, 2100), (1024, 40)] {
        let random = random_values(&mut rng, dim * items);
        for catalog in [vec![127i8; dim * items], vec![-127i8; dim * items], random] {
            for query in [vec![127i8; dim], vec![-127i8; dim], vec![0i8; dim]] {
                check(&key, &catalog, dim, &query);
            }
        }
    }
}

/// A full block of +127 at the largest dimension: the largest mean of any catalog, which needs
/// the wide prime; and the most negative and positive scores there are.
#[test]
fn the_largest_dimension_decrypts_exactly_at_the_extremes() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let dim = V1_128.max_dim;
    let items = V1_128.polynomial_size;
    let values = vec![127i8; dim * items];
    let catalog = ReferenceCatalog::prepare(&V1_128, dim, &values).unwrap();
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
        let rounded = catalog
            .hint()
            .rounded(&V1_128, catalog.noise_plan().hint_bits)
            .unwrap();
        let scores = catalog
            .score(&query)
            .unwrap()
            .decrypt(&key, &rounded, items)
            .unwrap();
        assert!(scores
            .iter()
            .all(|&s| s == i32::from(value) * 127 * dim as i32));
    }
}

/// The rounded hint's width matters: rounded a few bits short of what the noise analysis picks,
/// its error times the key swamps the scores.
#[test]
fn a_hint_rounded_too_narrow_misreads_scores() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (dim, items) = (64, 2048);
    let values = random_values(&mut rng, dim * items);
    let catalog = ReferenceCatalog::prepare(&V1_128, dim, &values).unwrap();
    let query = random_values(&mut rng, dim);
    let response = catalog
        .score(&Query::encrypt(&key, &query).unwrap())
        .unwrap();
    let expected = plain::scores(&values, dim, &query);
    let chosen = catalog.noise_plan().hint_bits;
    let p = V1_128.plaintext_bits(dim).unwrap();
    assert!(chosen > p && chosen < 56, "{chosen} bits for p = {p}");
    let decrypt = |bits| {
        let hint = catalog.hint().rounded(&V1_128, bits).unwrap();
        response.decrypt_with_error(&key, &hint, items).unwrap()
    };
    let fine = decrypt(chosen);
    assert_eq!(fine.scores, expected);
    let narrow = decrypt(p - 2);
    let wrong = (0..items)
        .filter(|&i| narrow.scores[i] != expected[i])
        .count();
    assert!(
        wrong > items / 2,
        "{wrong} of {items} wrong at {} bits",
        p - 2
    );
    assert!(narrow.max_error > fine.max_error);
}

#[test]
fn catalog_sizes_around_block_boundaries_decrypt_exactly() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = V1_128.polynomial_size;
    let dim = 2;
    for items in [n - 1, n, n + 1, 3 * n - 1, 3 * n + 1] {
        let catalog = random_values(&mut rng, dim * items);
        let query = random_values(&mut rng, dim);
        check(&key, &catalog, dim, &query);
    }
}

/// One encryptor serves many queries and many keys; each query has a secret of its own.
#[test]
fn a_kept_encryptor_encrypts_every_query_afresh() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (dim, items) = (8, 700);
    let catalog_values = random_values(&mut rng, dim * items);
    let catalog = ReferenceCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
    let encryptor = Encryptor::new(&V1_128, dim).unwrap();
    for _ in 0..3 {
        let key = SecretKey::generate(&V1_128).unwrap();
        let values = random_values(&mut rng, dim);
        let (a, b) = (
            encryptor.encrypt(&key, &values).unwrap(),
            encryptor.encrypt(&key, &values).unwrap(),
        );
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.bodies, b.bodies);
        let expected = plain::scores(&catalog_values, dim, &values);
        for query in [a, b] {
            let response = catalog.score(&query).unwrap();
            assert_eq!(
                response.decrypt(&key, catalog.hint(), items).unwrap(),
                expected
            );
        }
    }
}

#[test]
fn a_key_decrypts_only_its_own_scores_and_only_with_the_right_nonce() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let other = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (dim, items) = (16, 500);
    let catalog_values = random_values(&mut rng, dim * items);
    let query_values = random_values(&mut rng, dim);
    let catalog = ReferenceCatalog::prepare(&V1_128, dim, &catalog_values).unwrap();
    let mut response = catalog
        .score(&Query::encrypt(&key, &query_values).unwrap())
        .unwrap();
    let expected = plain::scores(&catalog_values, dim, &query_values);
    let agreeing = |scores: Vec<i32>| scores.iter().zip(&expected).filter(|(a, b)| a == b).count();
    let with_other = agreeing(response.decrypt(&other, catalog.hint(), items).unwrap());
    assert!(
        with_other < 10,
        "{with_other} of {items} readable with another key"
    );
    response.nonce ^= 1;
    let with_nonce = agreeing(response.decrypt(&key, catalog.hint(), items).unwrap());
    assert!(
        with_nonce < 10,
        "{with_nonce} of {items} readable under another nonce"
    );
}

/// A response decrypted with another catalog's hint is an error, not wrong scores.
#[test]
fn a_response_needs_its_own_catalogs_hint() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (dim, items) = (4, 300);
    let first = random_values(&mut rng, dim * items);
    let mut second = first.clone();
    second[0] = second[0].wrapping_add(1).max(-127);
    let catalog = ReferenceCatalog::prepare(&V1_128, dim, &first).unwrap();
    let replaced = ReferenceCatalog::prepare(&V1_128, dim, &second).unwrap();
    assert_ne!(catalog.hint().id(), replaced.hint().id());
    let key = SecretKey::generate(&V1_128).unwrap();
    let response = catalog
        .score(&Query::encrypt(&key, &random_values(&mut rng, dim)).unwrap())
        .unwrap();
    assert!(matches!(
        response.decrypt(&key, replaced.hint(), items),
        Err(Error::HintMismatch { .. })
    ));
}

#[test]
fn queries_of_another_dimension_are_rejected() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let catalog = ReferenceCatalog::prepare(&V1_128, 4, &[1i8; 40]).unwrap();
    let query = Query::encrypt(&key, &[1i8; 5]).unwrap();
    assert!(matches!(
        catalog.score(&query),
        Err(Error::DimensionMismatch {
            expected: 4,
            found: 5
        })
    ));
}
