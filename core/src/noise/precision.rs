//! What this parameter set's noise analysis carries beyond 8-bit values, by the formulas of
//! [`super`], for the worst catalog of each dimension: the facts `docs/design/precision.md`
//! builds on. Values are signed and symmetric: `b` bits bound them by `2^(b-1) - 1`.

use super::*;
use crate::params::V1_128;

/// The worst catalog's norms for values bounded by `bound`, as
/// [`CatalogNoiseStats::worst_case`] has them for 127.
fn worst(dim: usize, bound: f64) -> CatalogNoiseStats {
    let n = V1_128.polynomial_size as f64;
    CatalogNoiseStats {
        sum_sq: dim as f64 * n * bound * bound,
        dc_sq: dim as f64 * n * (bound * n) * (bound * n),
    }
}

/// Bits of the plaintext space for scores of `dim` products of values bounded by `c` and `q`.
fn plaintext_bits(dim: usize, c: u64, q: u64) -> u32 {
    let max_abs = dim as u64 * c * q;
    u64::BITS - max_abs.leading_zeros() + 1
}

/// Whether some server prime and response width keep a score's failure at most 2^-64.
fn carried(dim: usize, catalog_bits: u32, query_bits: u32) -> bool {
    let bound = |bits: u32| (1u64 << (bits - 1)) - 1;
    let (c, q) = (bound(catalog_bits), bound(query_bits));
    let p = plaintext_bits(dim, c, q);
    let stats = worst(dim, c as f64);
    SERVER_PRIMES.iter().any(|&prime| {
        (p + 1..=MAX_RESPONSE_BITS).any(|w| {
            let half_delta = 2f64.powi(63 - p as i32) - 3.0;
            let x = half_delta / error_std_dev(&V1_128, &stats, prime, w);
            gaussian_tail_log2(x) <= TARGET_LOG2_FAILURE
        })
    })
}

#[test]
fn the_helpers_agree_with_the_8_bit_analysis() {
    for dim in [1, 64, 1024] {
        assert_eq!(
            plaintext_bits(dim, 127, 127),
            V1_128.plaintext_bits(dim).unwrap()
        );
        assert_eq!(
            worst(dim, 127.0),
            CatalogNoiseStats::worst_case(&V1_128, dim)
        );
        assert!(carried(dim, 8, 8));
    }
}

/// The encryption noise times the catalog's norm grows with the catalog's bound while Delta
/// shrinks with both bounds: in one 64-bit ciphertext, wider catalog values run out of room.
#[test]
fn wider_catalog_values_do_not_fit_one_64_bit_ciphertext() {
    assert!(carried(64, 10, 10));
    assert!(!carried(128, 10, 10));
    assert!(!carried(64, 12, 10));
    assert!(!carried(64, 12, 12));
    assert!(!carried(1, 14, 14));
}

/// The catalog side split in 7-bit limbs (each scored as today, the client adding `hi 2^6 +
/// lo`) carries 10-bit queries at every dimension; 12-bit queries stop short of d = 1024.
#[test]
fn seven_bit_catalog_limbs_carry_ten_bit_queries_at_every_dimension() {
    for dim in 1..=V1_128.max_dim {
        assert!(carried(dim, 7, 10), "d = {dim}");
    }
    assert!(carried(384, 7, 12));
    assert!(!carried(1024, 7, 12));
}
