use super::*;
use crate::params::V1_128;

#[test]
fn every_supported_dimension_meets_the_target_for_the_worst_catalog() {
    // in the order of an IFMA CPU and of the others (`crt54` first)
    let split_order = [ServerPrime::Crt54, ServerPrime::Ifma50, ServerPrime::Wide62];
    for order in [SERVER_PRIMES, split_order] {
        for dim in 1..=V1_128.max_dim {
            let stats = CatalogNoiseStats::worst_case(&V1_128, dim);
            let plan = choose_among(&V1_128, dim, &stats, &order).unwrap();
            assert!(
                plan.log2_failure <= TARGET_LOG2_FAILURE,
                "dim {dim}: {plan:?}"
            );
            assert!(
                plan.response_bits <= MAX_RESPONSE_BITS,
                "dim {dim}: {plan:?}"
            );
        }
    }
}

#[test]
fn crt54_holds_more_noise_than_ifma50_and_less_than_wide62() {
    // the worst catalog at each dimension: the widest response each needs, or none
    let widths = |prime| -> Vec<Option<u32>> {
        (1..=V1_128.max_dim)
            .map(|dim| {
                let stats = CatalogNoiseStats::worst_case(&V1_128, dim);
                choose_among(&V1_128, dim, &stats, &[prime])
                    .ok()
                    .map(|p| p.response_bits)
            })
            .collect()
    };
    let (ifma, crt, wide) = (
        widths(ServerPrime::Ifma50),
        widths(ServerPrime::Crt54),
        widths(ServerPrime::Wide62),
    );
    let covered = |w: &[Option<u32>]| w.iter().filter(|w| w.is_some()).count();
    assert!(covered(&ifma) < covered(&crt) && covered(&crt) < covered(&wide));
    assert_eq!(covered(&wide), V1_128.max_dim);
    // wherever ifma50 fits, crt54 fits with a response no wider
    for (i, c) in ifma.iter().zip(&crt) {
        if let Some(i) = i {
            assert!(c.is_some_and(|c| c <= *i));
        }
    }
    // a pinned modulus that cannot hold the noise is an error, not a wrong plan
    let stats = CatalogNoiseStats::worst_case(&V1_128, 1024);
    assert!(matches!(
        choose_among(&V1_128, 1024, &stats, &[ServerPrime::Crt54]),
        Err(Error::NoiseBudget { dim: 1024, .. })
    ));
}

#[test]
fn a_random_catalog_at_64_dims_takes_the_fast_prime_and_narrow_responses() {
    // uniform values in [-127, 127]: E[v^2] = 127*128/3, J V behaves like a random walk
    let n = 2048.0;
    let ev2 = 127.0 * 128.0 / 3.0;
    let stats = CatalogNoiseStats {
        sum_sq: 64.0 * n * ev2,
        dc_sq: 64.0 * n * n * ev2,
    };
    let plan = choose(&V1_128, 64, &stats).unwrap();
    assert_eq!(plan.prime, ServerPrime::Ifma50);
    assert!(plan.response_bits <= 30, "{plan:?}");
    let order = [ServerPrime::Crt54, ServerPrime::Ifma50];
    let crt = choose_among(&V1_128, 64, &stats, &order).unwrap();
    assert_eq!(crt.prime, ServerPrime::Crt54);
    assert_eq!(crt.response_bits, plan.response_bits, "{crt:?}");
}

#[test]
fn a_constant_catalog_needs_the_wide_prime_at_large_dimensions() {
    let stats = CatalogNoiseStats::worst_case(&V1_128, 1024);
    assert!(log2_failure(&V1_128, 1024, &stats, ServerPrime::Ifma50, 39, None).unwrap() > -64.0);
    assert_eq!(
        choose(&V1_128, 1024, &stats).unwrap().prime,
        ServerPrime::Wide62
    );
}

#[test]
fn polynomial_stats_match_a_direct_computation() {
    let coeffs: Vec<i8> = vec![3, -1, 4, -1, 5];
    let stats = CatalogNoiseStats::of_polynomial(coeffs.iter().copied());
    assert_eq!(stats.sum_sq, 9.0 + 1.0 + 16.0 + 1.0 + 25.0);
    // J*V coefficients: prefix - suffix
    let total: i64 = 10;
    let mut expected = 0.0;
    let mut prefix = 0i64;
    for c in &coeffs {
        prefix += i64::from(*c);
        let suffix = total - prefix;
        expected += ((prefix - suffix) * (prefix - suffix)) as f64;
    }
    assert_eq!(stats.dc_sq, expected);
}

#[test]
fn failure_bound_is_monotone_in_width() {
    let stats = CatalogNoiseStats::worst_case(&V1_128, 64);
    let narrow = log2_failure(&V1_128, 64, &stats, ServerPrime::Wide62, 26, None).unwrap();
    let wide = log2_failure(&V1_128, 64, &stats, ServerPrime::Wide62, 34, None).unwrap();
    assert!(wide < narrow);
}

/// Prints the table in the crate docs: `cargo test -p veilrank-core noise_table -- --nocapture
/// --ignored`.
#[test]
#[ignore]
fn noise_table() {
    // as a CPU with AVX-512 IFMA orders the moduli, and as every other does
    let others = [ServerPrime::Crt54, ServerPrime::Ifma50, ServerPrime::Wide62];
    for dim in [1, 16, 64, 128, 256, 384, 512, 1024] {
        let worst = CatalogNoiseStats::worst_case(&V1_128, dim);
        let [ifma, other] = [&SERVER_PRIMES, &others]
            .map(|order| choose_among(&V1_128, dim, &worst, order).unwrap());
        println!(
            "| {dim} | {} | {} {} {} {:.0} | {} {} {} {:.0} |",
            V1_128.plaintext_bits(dim).unwrap(),
            ifma.prime.name(),
            ifma.response_bits,
            ifma.hint_bits,
            ifma.log2_failure,
            other.prime.name(),
            other.response_bits,
            other.hint_bits,
            other.log2_failure
        );
    }
}
