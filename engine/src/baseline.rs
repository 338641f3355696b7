//! The plaintext baseline: the same quantized scores as `veilrank_core::plain::scores`, as
//! fast as this CPU computes them, so that the encrypted path is compared with a worthy
//! baseline.

use veilrank_core::plain;

/// The exact i8 dot products of `query` with every row of `matrix` (`items * dim`, item-major),
/// on the current rayon pool: AVX-512 (widen to i16, `vpmaddwd`, one reduction per item) when
/// the CPU has it and `dim` is a multiple of 32, the same on AVX2 (x86-64-v3) for multiples of
/// 16, else the portable oracle. Same results.
pub fn scores(matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    #[cfg(target_arch = "x86_64")]
    if query.len() == dim {
        if dim.is_multiple_of(32) {
            if let Some(simd) = pulp::x86::V4::try_new() {
                return avx512(simd, matrix, dim, query);
            }
        }
        if dim.is_multiple_of(16) {
            if let Some(simd) = pulp::x86::V3::try_new() {
                return avx2(simd, matrix, dim, query);
            }
        }
    }
    plain::scores(matrix, dim, query)
}

/// The kernel [`scores`] uses for `dim` on this CPU.
#[must_use]
pub fn kernel_name(dim: usize) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if dim.is_multiple_of(32) && pulp::x86::V4::try_new().is_some() {
            return "avx512-vpmaddwd";
        }
        if dim.is_multiple_of(16) && pulp::x86::V3::try_new().is_some() {
            return "avx2-vpmaddwd";
        }
    }
    let _ = dim;
    "portable"
}

/// One output per row of `matrix`, in parallel blocks of rows: `block` scores a block (its
/// outputs, its rows) with the SIMD path's own loop.
#[cfg(target_arch = "x86_64")]
fn by_blocks(matrix: &[i8], dim: usize, block: impl Fn(&mut [i32], &[i8]) + Sync) -> Vec<i32> {
    use rayon::prelude::*;
    const ROWS: usize = 4096;
    let mut out = vec![0i32; matrix.len() / dim];
    out.par_chunks_mut(ROWS)
        .zip(matrix.par_chunks(ROWS * dim))
        .for_each(|(out, rows)| block(out, rows));
    out
}

/// The query's values widened to i16, `L` at a time, as the vectors `V` of a SIMD path.
#[cfg(target_arch = "x86_64")]
fn widened<const L: usize, V: pulp::bytemuck::Pod>(query: &[i8]) -> Vec<V>
where
    [i16; L]: pulp::bytemuck::Pod,
{
    pulp::as_arrays::<L, _>(query)
        .0
        .iter()
        .map(|c| pulp::cast(c.map(i16::from)))
        .collect()
}

#[cfg(target_arch = "x86_64")]
fn avx2(simd: pulp::x86::V3, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let widened = widened::<16, core::arch::x86_64::__m256i>(query);
    by_blocks(matrix, dim, |out, rows| {
        simd.vectorize(
            #[inline(always)]
            || {
                let (avx, avx2) = (simd.avx, simd.avx2);
                for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                    let mut acc = avx._mm256_setzero_si256();
                    for (c, q) in pulp::as_arrays::<16, _>(row).0.iter().zip(&widened) {
                        let wide = avx2._mm256_cvtepi8_epi16(pulp::cast(*c));
                        acc = avx2._mm256_add_epi32(acc, avx2._mm256_madd_epi16(wide, *q));
                    }
                    *o = pulp::cast::<_, [i32; 8]>(acc).iter().sum();
                }
            },
        )
    })
}

#[cfg(target_arch = "x86_64")]
fn avx512(simd: pulp::x86::V4, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let widened = widened::<32, core::arch::x86_64::__m512i>(query);
    by_blocks(matrix, dim, |out, rows| {
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
    })
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
                let expected = plain::scores(&matrix, dim, &query);
                prop_assert_eq!(scores(&matrix, dim, &query), expected.clone());
                // the AVX2 path on its own, where the CPU has it (an AVX-512 CPU takes the
                // other path in `scores`)
                #[cfg(target_arch = "x86_64")]
                if let (true, Some(simd)) = (dim.is_multiple_of(16), pulp::x86::V3::try_new()) {
                    prop_assert_eq!(avx2(simd, &matrix, dim, &query), expected);
                }
            }
        }
    }

    #[test]
    fn the_simd_paths_this_cpu_lacks_say_so() {
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V3::try_new().is_none() {
                crate::kernel::skipped("baseline avx2", "avx2");
            }
            if pulp::x86::V4::try_new().is_none() {
                crate::kernel::skipped("baseline avx512", "avx512f+avx512bw");
            }
        }
        // the name says which path `scores` takes on this CPU
        #[cfg(target_arch = "x86_64")]
        let expected = if pulp::x86::V4::try_new().is_some() {
            "avx512-vpmaddwd"
        } else if pulp::x86::V3::try_new().is_some() {
            "avx2-vpmaddwd"
        } else {
            "portable"
        };
        #[cfg(not(target_arch = "x86_64"))]
        let expected = "portable";
        assert_eq!(kernel_name(64), expected);
        // no SIMD path takes a dimension that is not a multiple of 16
        assert_eq!(kernel_name(24), "portable");
    }
}
