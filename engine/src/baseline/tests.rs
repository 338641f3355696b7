//! Every baseline path this CPU has against the portable oracle.

use super::*;
use proptest::prelude::*;

/// Each SIMD path this CPU runs, by name; the ones it lacks say so.
fn paths_here() -> Vec<Path> {
    let mut paths = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let mut have = |name: &str, path: Option<Path>| match path {
            Some(path) => paths.push(path),
            None => crate::kernel::skipped(&format!("baseline {name}"), name),
        };
        have("avx512-vnni", x86::Vnni::try_new().map(Path::Vnni));
        have(
            "avx512-vpmaddwd",
            pulp::x86::V4::try_new().map(Path::Avx512),
        );
        have("avx2-vpmaddubsw", pulp::x86::V3::try_new().map(Path::Avx2));
    }
    #[cfg(target_arch = "aarch64")]
    match neon::Dotprod::try_new() {
        Some(simd) => paths.push(Path::Sdot(simd)),
        None => crate::kernel::skipped("baseline neon-sdot", "dotprod"),
    }
    paths
}

fn check(matrix: &[i8], dim: usize, query: &[i8]) {
    let expected = plain::scores(matrix, dim, query);
    assert_eq!(scores(matrix, dim, query), expected, "d = {dim}");
    // every path directly, on the dimensions it takes
    for path in paths_here() {
        if dim.is_multiple_of(path.width()) {
            assert_eq!(path.scores(matrix, dim, query), expected, "{}", path.name());
        }
    }
}

#[test]
fn every_path_is_exact_on_the_extreme_values() {
    for dim in [16, 64, 128, 63] {
        for (c, q) in [(127, 127), (-127, -127), (127, -127), (-127, 127)] {
            let matrix = vec![c; 3 * dim];
            check(&matrix, dim, &vec![q; dim]);
        }
        // alternating signs: the widest pairs a vpmaddubsw sums
        let alternating: Vec<i8> = (0..3 * dim)
            .map(|i| if i % 2 == 0 { 127 } else { -127 })
            .collect();
        check(&alternating, dim, &alternating[..dim]);
    }
}

proptest! {
    #[test]
    fn every_path_equals_the_oracle(
        chunks in 1usize..4,
        items in 1usize..300,
        seed in any::<u64>(),
    ) {
        for dim in [chunks * 64, chunks * 32, chunks * 16, chunks * 64 - 1] {
            let value = |i: usize| {
                let byte = ((i as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
                // quantized values are -127..=127
                (byte as i8).max(-127)
            };
            let matrix: Vec<i8> = (0..items * dim).map(value).collect();
            let query: Vec<i8> = (0..dim).map(|i| value(i + 1_000_000)).collect();
            check(&matrix, dim, &query);
        }
    }
}

#[test]
fn the_name_says_which_path_scores_takes() {
    let paths = paths_here();
    let best = paths.first().map_or("portable", |p| p.name());
    assert_eq!(kernel_name(128), best);
    println!("plaintext baseline on this CPU: {best}");
    // no SIMD path takes a dimension that is not a multiple of 16
    assert_eq!(kernel_name(24), "portable");
}
