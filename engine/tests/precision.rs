//! Wide precisions on the engine: catalogs split in limbs, queries wider than 8 bits, every
//! decrypted item score equal to the plaintext score of the wide values, on every kernel this
//! CPU runs (`scheme.rs` reports which).

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;
mod every_kernel;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_core::{Encryptor, ParameterSet, Precision, SecretKey, V1_128};
use veilrank_engine::PreparedCatalog;

fn at(catalog_bits: u32, query_bits: u32) -> ParameterSet {
    V1_128.with_precision(Precision::try_new(catalog_bits, query_bits).unwrap())
}

/// Plaintext scores of wide values, in i64 so that nothing wraps.
fn plain_scores(catalog: &[i16], dim: usize, query: &[i16]) -> Vec<i64> {
    catalog
        .chunks_exact(dim)
        .map(|item| {
            item.iter()
                .zip(query)
                .map(|(&c, &q)| i64::from(c) * i64::from(q))
                .sum()
        })
        .collect()
}

/// Prepares `values` at `params` on every kernel this CPU runs, scores `query` and checks every
/// item's score exactly; returns the worst decryption error in units of Delta.
fn check(params: &ParameterSet, key: &SecretKey, values: &[i16], dim: usize, query: &[i16]) -> f64 {
    let rows = params.precision.rows_of(values, dim);
    let encrypted = Encryptor::new(params, dim)
        .unwrap()
        .encrypt(key, query)
        .unwrap();
    let expected = plain_scores(values, dim, query);
    let mut max_error = 0f64;
    let mut kernels = 0;
    for catalog in every_kernel::on_each_kernel_at(params, dim, &rows) {
        let kernel = format!("{} under {}", catalog.kernel(), catalog.noise_plan().prime);
        kernels += 1;
        assert_eq!(catalog.items(), expected.len() * params.precision.limbs());
        let response = catalog.score(&encrypted).unwrap();
        // the exact hint, and the rounded one new clients take
        let rounded = catalog
            .hint()
            .rounded(params, catalog.noise_plan().hint_bits)
            .unwrap();
        for hint in [catalog.hint(), &rounded] {
            let decrypted = response
                .decrypt_with_error(key, hint, expected.len())
                .unwrap();
            let got: Vec<i64> = decrypted.scores.iter().map(|&s| i64::from(s)).collect();
            if let Some(i) = (0..expected.len()).find(|&i| got[i] != expected[i]) {
                panic!(
                    "{} at d = {dim}, {kernel}, {} items, hint rounded to {:?} bits: item {i} \
                     decrypted {} expected {}",
                    params.precision,
                    expected.len(),
                    hint.rounding(),
                    got[i],
                    expected[i]
                );
            }
            max_error = max_error.max(decrypted.max_error);
        }
    }
    assert!(kernels >= 1);
    max_error
}

/// The widest precisions the analysis carries at d = 1, 64 and 1024, every catalog value and
/// query value at plus or minus the bound (and mixed), at item counts around a block's.
#[test]
fn the_widest_precisions_decrypt_exactly_at_the_extremes() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let cases: [(usize, &[(u32, u32)]); 3] = [
        (1, &[(16, 16), (16, 8)]),
        (64, &[(16, 10), (14, 12), (12, 14)]),
        (1024, &[(12, 10), (10, 12), (14, 8)]),
    ];
    for (dim, precisions) in cases {
        for &(c, q) in precisions {
            let params = at(c, q);
            let (cb, qb) = (
                params.precision.catalog_bound() as i16,
                params.precision.query_bound() as i16,
            );
            let per_block = V1_128.polynomial_size / params.precision.limbs();
            let sizes: &[usize] = if dim == 1024 {
                &[per_block + 1]
            } else {
                &[per_block - 1, per_block, 2 * per_block + 1]
            };
            for &items in sizes {
                let mixed: Vec<i16> = (0..dim * items)
                    .map(|i| if i % 3 == 0 { -cb } else { cb })
                    .collect();
                for catalog in [vec![cb; dim * items], vec![-cb; dim * items], mixed] {
                    for query in [vec![qb; dim], vec![-qb; dim]] {
                        check(&params, &key, &catalog, dim, &query);
                    }
                }
            }
        }
    }
}

/// The observed noise at the widest precision of the largest dimension, random values: far
/// below the 0.5 Delta where a score would decrypt wrongly.
#[test]
fn observed_noise_at_the_widest_precision_of_the_largest_dimension() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let params = at(12, 10);
    let dim = V1_128.max_dim;
    let items = 3000;
    let (cb, qb) = (
        params.precision.catalog_bound() as i16,
        params.precision.query_bound() as i16,
    );
    let values: Vec<i16> = (0..dim * items)
        .map(|_| rng.random_range(-cb..=cb))
        .collect();
    let query: Vec<i16> = (0..dim).map(|_| rng.random_range(-qb..=qb)).collect();
    let max_error = check(&params, &key, &values, dim, &query);
    let rows = params.precision.rows_of(&values, dim);
    let plan = *PreparedCatalog::prepare(&params, dim, &rows)
        .unwrap()
        .noise_plan();
    common::assert_observed_noise_within_analysis(&params, dim, &rows, &plan, max_error);
}

/// A query wider than its catalog's precision allows, or a catalog row beyond its limb bound, is
/// refused, not scored into garbage.
#[test]
fn values_beyond_the_precision_are_refused() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let params = at(12, 10);
    let encryptor = Encryptor::new(&params, 2).unwrap();
    assert!(matches!(
        encryptor.encrypt(&key, &[512i16, 0]),
        Err(veilrank_core::Error::ValueOutOfRange { bound: 511, .. })
    ));
    // a row of 40 is a limb no 12-bit value splits into
    assert!(PreparedCatalog::prepare(&params, 1, &[40i8, 0]).is_err());
    // an odd number of rows is not whole items of two limbs
    assert!(PreparedCatalog::prepare(&params, 1, &[1i8, 0, 1]).is_err());
}
