//! Plaintext scoring: the oracle every encrypted result is checked against ([`scores`]), and
//! the fast baseline the benchmarks compare with ([`scores_fast`]).

use rayon::prelude::*;

/// Dot products of the quantized `query` with every row of `matrix` (`items * dim`,
/// item-major), exact in i32, on the current rayon pool. Obvious code: the oracle.
pub fn scores(matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    assert_eq!(query.len(), dim, "query dimension");
    matrix
        .par_chunks_exact(dim)
        .with_min_len(1024)
        .map(|row| dot(row, query))
        .collect()
}

/// One exact dot product.
#[inline]
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// [`scores`] as fast as plaintext scoring goes here, so that the encrypted path is compared
/// with a worthy baseline: AVX-512 (widen to i16, `vpmaddwd`, one reduction per item) when the
/// CPU has it and `dim` is a multiple of 32, else [`scores`]. Same results.
pub fn scores_fast(matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    assert_eq!(query.len(), dim, "query dimension");
    #[cfg(target_arch = "x86_64")]
    if dim.is_multiple_of(32) {
        if let Some(simd) = pulp::x86::V4::try_new() {
            return avx512(simd, matrix, dim, query);
        }
    }
    scores(matrix, dim, query)
}

#[cfg(target_arch = "x86_64")]
fn avx512(simd: pulp::x86::V4, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    use core::arch::x86_64::__m512i;
    const ROWS: usize = 4096;
    let widened: Vec<__m512i> = pulp::as_arrays::<32, _>(query)
        .0
        .iter()
        .map(|c| pulp::cast(c.map(i16::from)))
        .collect();
    let mut out = vec![0i32; matrix.len() / dim];
    out.par_chunks_mut(ROWS)
        .zip(matrix.par_chunks(ROWS * dim))
        .for_each(|(out, rows)| {
            simd.vectorize(
                #[inline(always)]
                || {
                    let (f, bw) = (simd.avx512f, simd.avx512bw);
                    for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                        let mut acc = f._mm512_setzero_si512();
                        for (c, q) in pulp::as_arrays::<32, _>(row).0.iter().zip(&widened) {
                            let wide = bw._mm512_cvtepi8_epi16(pulp::cast(*c));
                            acc = f._mm512_add_epi32(acc, bw._mm512_madd_epi16(wide, *q));
                        }
                        *o = pulp::cast::<_, [i32; 16]>(acc).iter().sum();
                    }
                },
            )
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_fast_baseline_equals_the_oracle(
            dim_chunks in 1usize..4,
            items in 1usize..300,
            seed in any::<u64>(),
        ) {
            for dim in [dim_chunks * 32, dim_chunks * 32 - 1] {
                let value = |i: usize| {
                    ((i as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 as i8
                };
                let matrix: Vec<i8> = (0..items * dim).map(value).collect();
                let query: Vec<i8> = (0..dim).map(|i| value(i + 1_000_000)).collect();
                prop_assert_eq!(scores_fast(&matrix, dim, &query), scores(&matrix, dim, &query));
            }
        }
    }
}
