//! What the noise analysis carries at each precision, for the worst catalog of each dimension:
//! the facts `docs/design/precision.md` and the README's precision table build on.

use super::*;
use crate::params::V1_128;
use crate::precision::Precision;

fn at(catalog_bits: u32, query_bits: u32) -> ParameterSet {
    V1_128.with_precision(Precision::try_new(catalog_bits, query_bits).unwrap())
}

/// Whether some server prime and response width keep every score of the worst catalog of
/// `dim` within 2^-64.
fn carried(params: &ParameterSet, dim: usize) -> bool {
    choose(params, dim, &CatalogNoiseStats::worst_case(params, dim)).is_ok()
}

/// The largest dimension up to which every dimension is carried (0: none).
fn carried_up_to(params: &ParameterSet) -> usize {
    (1..=params.max_dim)
        .take_while(|&d| carried(params, d))
        .last()
        .unwrap_or(0)
}

/// One ciphertext limb of more than 8 bits runs out of room: 10-bit catalogs without limbs are
/// what the analysis cannot carry far (the design note's table), which is why wider catalogs
/// are split in limbs of at most 6 bits.
#[test]
fn limbs_keep_wide_catalogs_within_the_baseline_noise() {
    for dim in [1, 64, 1024] {
        assert_eq!(
            CatalogNoiseStats::worst_case(&at(12, 10), dim).sum_sq,
            CatalogNoiseStats::worst_case(&V1_128, dim).sum_sq * (32.0 * 32.0) / (127.0 * 127.0)
        );
    }
}

/// The precisions the fidelity study needs, at every dimension from 1 to 1024.
#[test]
fn twelve_bit_catalogs_with_ten_bit_queries_are_carried_at_every_dimension() {
    for (c, q) in [(8, 8), (9, 9), (10, 10), (12, 8), (12, 10), (14, 8)] {
        let params = at(c, q);
        for dim in 1..=V1_128.max_dim {
            let plan = choose(&params, dim, &CatalogNoiseStats::worst_case(&params, dim));
            let plan = plan.unwrap_or_else(|e| panic!("{c}/{q} at d = {dim}: {e}"));
            assert!(plan.log2_failure <= TARGET_LOG2_FAILURE);
        }
    }
}

/// Wider queries cost plaintext bits in every limb; past 12 bits they stop short of d = 1024.
/// The widest catalogs are limited by the scores' `i32` first: 16/8 up to d = 516, 16/16 up to
/// d = 2.
#[test]
fn the_widest_precisions_are_carried_only_at_small_dimensions() {
    assert!(carried_up_to(&at(12, 12)) >= 384);
    assert!(carried_up_to(&at(12, 14)) < 1024);
    assert_eq!(carried_up_to(&at(16, 8)), 516);
    assert_eq!(carried_up_to(&at(16, 16)), 2);
    assert!(matches!(
        at(16, 16).plaintext_bits(3),
        Err(Error::UnsupportedPrecision(_))
    ));
}

/// A precision the noise cannot carry is refused with the reason, naming it.
#[test]
fn an_uncarried_precision_says_which() {
    let params = at(8, 12);
    let e = choose(&params, 300, &CatalogNoiseStats::worst_case(&params, 300)).unwrap_err();
    assert!(matches!(e, Error::NoiseBudget { dim: 300, .. }), "{e}");
    assert!(e.to_string().contains("precision 8/12"), "{e}");
}

/// Prints the README's precision table: `cargo test -p veilrank-core precision_table --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn precision_table() {
    println!("| catalog/query bits | limbs | carried up to d | plan at d = 64 | at d = 384 |");
    for c in [8, 10, 12, 14, 16] {
        for q in [8, 10, 12, 14, 16] {
            let params = at(c, q);
            let plan = |dim: usize| {
                choose(&params, dim, &CatalogNoiseStats::worst_case(&params, dim))
                    .map(|p| format!("{} / {} bits", p.prime.name(), p.response_bits))
                    .unwrap_or_else(|_| "-".into())
            };
            println!(
                "| {c}/{q} | {} | {} | {} | {} |",
                params.precision.limbs(),
                carried_up_to(&params),
                plan(64),
                plan(384)
            );
        }
    }
}

/// The rounded hint at every carried precision and dimension: within what the client multiplies
/// exactly, the narrowest width that meets the target (one bit less misses it), and no response
/// wider than the exact hint alone would need plus one bit.
#[test]
fn the_hint_is_rounded_to_the_narrowest_width_that_keeps_scores_exact() {
    for (c, q) in [(8, 8), (12, 10), (14, 8)] {
        let params = at(c, q);
        for dim in [1, 2, 63, 64, 65, 128, 384, 512, 1000, 1024] {
            let stats = CatalogNoiseStats::worst_case(&params, dim);
            let plan = choose(&params, dim, &stats).unwrap();
            let p = params.plaintext_bits(dim).unwrap();
            let (w, t) = (plan.response_bits, plan.hint_bits);
            assert!(
                t > p && t <= max_hint_bits(&params, plan.prime),
                "{c}/{q} d {dim}: {t}"
            );
            let fails = |t| log2_failure(&params, dim, &stats, plan.prime, w, Some(t)).unwrap();
            assert!(fails(t) <= TARGET_LOG2_FAILURE);
            assert!(
                fails(t - 1) > TARGET_LOG2_FAILURE,
                "{c}/{q} d {dim}: {t} not narrowest"
            );
            let exact = log2_failure(&params, dim, &stats, plan.prime, w, None).unwrap();
            assert!(exact <= fails(t));
            let exact_alone = (p + 1..=w)
                .find(|&bits| {
                    log2_failure(&params, dim, &stats, plan.prime, bits, None).unwrap()
                        <= TARGET_LOG2_FAILURE
                })
                .unwrap();
            assert!(
                w <= exact_alone + 1,
                "{c}/{q} d {dim}: {w} against {exact_alone}"
            );
        }
    }
}
