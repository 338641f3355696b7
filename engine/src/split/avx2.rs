//! The split kernel on AVX2 (x86-64-v3): `vpmuludq` multiplies the low 32 bits of each 64-bit
//! lane, which is exactly the half a split word or its shift holds ([`super`]).

// The target-feature functions here are called only with an `Avx2` token, which exists only
// once the CPU is known to have the features.
#![expect(
    unsafe_code,
    reason = "AVX2 intrinsics behind run-time feature detection"
)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_setzero_si256,
    _mm256_srli_epi64,
};

use super::{reduce, MAX_DIM, SLOT_ROW};
use crate::kernel::{acc_row, Shape, LANES};

pulp::simd_type! {
    /// AVX2 (the part of x86-64-v3 the kernel uses).
    pub(crate) struct Avx2 {
        pub sse: "sse",
        pub sse2: "sse2",
        pub avx: "avx",
        pub avx2: "avx2",
    }
}

/// Every slot against each block of a superblock (split words, `[tile][block][feature][LANES]`)
/// into `acc`, reduced mod q, in the layout of [`acc_row`]: what [`crate::kernel::reduced`]
/// computes, for `ifma50` on CPUs with AVX2.
pub(crate) fn lazy(
    _simd: Avx2,
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
) {
    let Shape { blocks, dim, n } = shape;
    assert!(dim <= MAX_DIM, "lazy sums of {dim} features could overflow");
    assert_eq!(superblock.len(), blocks * dim * n);
    for t in 0..n / LANES {
        for k in 0..blocks {
            let catalog = &superblock[(t * blocks + k) * dim * LANES..][..dim * LANES];
            for (j, query) in queries.iter().enumerate() {
                let slot = &query[t * dim * SLOT_ROW..][..dim * SLOT_ROW];
                let out = &mut acc[acc_row(shape, j, t, k)..][..2 * LANES];
                // SAFETY: the `Avx2` token proves the CPU has the features.
                unsafe { micro(catalog, slot, out) };
            }
        }
    }
}

/// One block's tile of `dim` catalog rows against one slot's tile (two queries): 12
/// accumulators (two queries, two halves of the tile's lanes, three sums), the catalog row loaded
/// once for both queries, the slot's values read from L1 as memory operands.
#[target_feature(enable = "avx2")]
fn micro(catalog: &[u64], slot: &[u64], out: &mut [u64]) {
    let rows = pulp::as_arrays::<LANES, _>(catalog).0;
    let slot = pulp::as_arrays::<SLOT_ROW, _>(slot).0;
    let zero = _mm256_setzero_si256();
    // [query][half][x0 v0 | x1 v1 | (x0 + x1)(v0 + v1)]
    let mut s = [[[zero; 3]; 2]; 2];
    for (row, values) in rows.iter().zip(slot) {
        for half in 0..2 {
            // SAFETY: `row` holds LANES = 8 words; this reads words 4 half .. 4 half + 4
            let v = unsafe { _mm256_loadu_si256(row.as_ptr().add(4 * half).cast()) };
            let v1 = _mm256_srli_epi64::<32>(v);
            let sum = _mm256_add_epi64(v, v1);
            for (query, s) in s.iter_mut().enumerate() {
                let x = |part: usize| {
                    let at = (query * 3 + part) * LANES + 4 * half;
                    // SAFETY: `at + 4 <= SLOT_ROW`, the length of `values`
                    unsafe { _mm256_loadu_si256(values.as_ptr().add(at).cast::<__m256i>()) }
                };
                let s = &mut s[half];
                s[0] = _mm256_add_epi64(s[0], _mm256_mul_epu32(v, x(0)));
                s[1] = _mm256_add_epi64(s[1], _mm256_mul_epu32(v1, x(1)));
                s[2] = _mm256_add_epi64(s[2], _mm256_mul_epu32(sum, x(2)));
            }
        }
    }
    let sums: [[[[u64; 4]; 3]; 2]; 2] = pulp::cast(s);
    for (query, halves) in sums.iter().enumerate() {
        for (half, [low, high, sum]) in halves.iter().enumerate() {
            for l in 0..4 {
                out[query * LANES + half * 4 + l] = reduce(low[l], high[l], sum[l]);
            }
        }
    }
}
