//! The baseline's x86-64 paths.

#![expect(
    unsafe_code,
    reason = "AVX-512 VNNI intrinsics behind run-time feature detection"
)]

use core::arch::x86_64::{__m256i, __m512i};

use super::by_blocks;

pulp::simd_type! {
    /// AVX-512 with the vector neural-network instructions (`vpdpbusd`).
    pub(crate) struct Vnni {
        pub sse: "sse",
        pub sse2: "sse2",
        pub avx: "avx",
        pub avx2: "avx2",
        pub avx512f: "avx512f",
        pub avx512bw: "avx512bw",
        pub avx512vnni: "avx512vnni",
    }
}

/// `vpdpbusd` multiplies unsigned by signed bytes: the catalog's bytes are flipped to
/// `x + 128` (one XOR), and `128 * sum(query)` comes off each score. 64 products per instruction.
pub(crate) fn vnni(simd: Vnni, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let q: Vec<__m512i> = pulp::as_arrays::<64, _>(query)
        .0
        .iter()
        .map(|c| pulp::cast(*c))
        .collect();
    let offset = 128 * query.iter().map(|&v| i32::from(v)).sum::<i32>();
    by_blocks(matrix, dim, |out, rows| {
        // SAFETY: the `Vnni` token proves the CPU has the features.
        unsafe { vnni_block(simd, out, rows, dim, &q, offset) }
    })
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vnni_block(_: Vnni, out: &mut [i32], rows: &[i8], dim: usize, q: &[__m512i], offset: i32) {
    use core::arch::x86_64::{
        _mm512_dpbusd_epi32, _mm512_reduce_add_epi32, _mm512_set1_epi8, _mm512_setzero_si512,
        _mm512_xor_si512,
    };
    let flip = _mm512_set1_epi8(i8::MIN);
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
        let mut acc = _mm512_setzero_si512();
        for (c, q) in pulp::as_arrays::<64, _>(row).0.iter().zip(q) {
            let unsigned = _mm512_xor_si512(pulp::cast(*c), flip);
            acc = _mm512_dpbusd_epi32(acc, unsigned, *q);
        }
        *o = _mm512_reduce_add_epi32(acc) - offset;
    }
}

/// Widened to i16 and `vpmaddwd`: 32 products per instruction.
pub(crate) fn avx512(simd: pulp::x86::V4, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let widened: Vec<__m512i> = pulp::as_arrays::<32, _>(query)
        .0
        .iter()
        .map(|c| pulp::cast(c.map(i16::from)))
        .collect();
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

/// `vpmaddubsw` multiplies unsigned by signed bytes and adds pairs into i16: `|x|` times the
/// query's byte with `x`'s sign (`vpsignb`) is `x q`, and a pair of them stays within i16
/// (`2 * 127 * 127 < 2^15`) for values in -127..=127. `vpmaddwd` by ones sums pairs into i32.
pub(crate) fn avx2(simd: pulp::x86::V3, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let q: Vec<__m256i> = pulp::as_arrays::<32, _>(query)
        .0
        .iter()
        .map(|c| pulp::cast(*c))
        .collect();
    by_blocks(matrix, dim, |out, rows| {
        simd.vectorize(
            #[inline(always)]
            || {
                let (avx, avx2) = (simd.avx, simd.avx2);
                let ones = avx._mm256_set1_epi16(1);
                for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
                    let mut acc = avx._mm256_setzero_si256();
                    for (c, q) in pulp::as_arrays::<32, _>(row).0.iter().zip(&q) {
                        let x: __m256i = pulp::cast(*c);
                        let pairs = avx2._mm256_maddubs_epi16(
                            avx2._mm256_abs_epi8(x),
                            avx2._mm256_sign_epi8(*q, x),
                        );
                        acc = avx2._mm256_add_epi32(acc, avx2._mm256_madd_epi16(pairs, ones));
                    }
                    *o = pulp::cast::<_, [i32; 8]>(acc).iter().sum();
                }
            },
        )
    })
}
