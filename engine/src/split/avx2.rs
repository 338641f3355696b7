//! The split kernel on AVX2 (x86-64-v3): `vpmuludq` multiplies the low 32 bits of each 64-bit
//! lane, which is exactly the half a split word or its shift holds ([`super`]).

// The target-feature functions here are called only with an `Avx2` token, which exists only
// once the CPU is known to have the features.
#![expect(
    unsafe_code,
    reason = "AVX2 intrinsics behind run-time feature detection"
)]

use core::arch::x86_64::{
    _mm256_add_epi64, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_setzero_si256,
    _mm256_srli_epi64, _mm_prefetch, _MM_HINT_T0,
};

use super::{reduce, PART};
use crate::kernel::{Shape, LANES};

pulp::simd_type! {
    /// AVX2 (the part of x86-64-v3 the kernel uses).
    pub(crate) struct Avx2 {
        pub sse: "sse",
        pub sse2: "sse2",
        pub avx: "avx",
        pub avx2: "avx2",
    }
}

/// How far ahead of the multiply-accumulate the first slot prefetches the catalog, in words.
/// Measured on the 1M x 64 pass (README, per CPU family): 1 KB to 16 KB ahead were level within
/// the noise, and faster than none.
const PREFETCH_AHEAD: usize = 256;

/// Every slot against each block of a superblock into `acc`, reduced mod q
/// ([`super::each_block`]): what [`crate::kernel::reduced`] computes, for `ifma50` on CPUs with
/// AVX2.
pub(crate) fn lazy(
    _simd: Avx2,
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
) {
    super::each_block(
        queries,
        superblock,
        shape,
        acc,
        |count, first, catalog, slot, out| {
            // SAFETY: the `Avx2` token proves the CPU has the features.
            unsafe {
                match (count, first) {
                    (2, true) => micro::<2, true>(catalog, slot, out),
                    (2, false) => micro::<2, false>(catalog, slot, out),
                    (_, true) => micro::<1, true>(catalog, slot, out),
                    (_, false) => micro::<1, false>(catalog, slot, out),
                }
            }
        },
    );
}

/// One block's tile of `dim` catalog rows against one slot's tile of `Q` queries, one half of
/// the tile's lanes after the other: `3 Q` accumulators per half, so that both halves' words of
/// catalog and slot stay in registers (all at once, 6 Q accumulators and the six words spilled).
/// A word `w` gives its three multiplicands by one shift and one add: `w` (`x0`), `w >> 32`
/// (`x1`) and their sum (`x0 + x1`), since `vpmuludq` reads only the low 32 bits of each lane.
/// `PREFETCH`: the first slot's call brings the catalog in ahead of use.
#[target_feature(enable = "avx2")]
fn micro<const Q: usize, const PREFETCH: bool>(catalog: &[u64], slot: &[u64], out: &mut [u64]) {
    let rows = pulp::as_arrays::<LANES, _>(catalog).0;
    let slot = pulp::as_arrays::<PART, _>(slot).0;
    assert_eq!(slot.len(), Q * rows.len());
    assert_eq!(out.len(), 2 * LANES);
    let zero = _mm256_setzero_si256();
    let split = |word| {
        let high = _mm256_srli_epi64::<32>(word);
        [word, high, _mm256_add_epi64(word, high)]
    };
    for half in 0..2 {
        // [query][x0 v0 | x1 v1 | (x0 + x1)(v0 + v1)]
        let mut s = [[zero; 3]; Q];
        for (i, row) in rows.iter().enumerate() {
            if PREFETCH && half == 0 {
                // a hint that never faults, whatever the address
                _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().wrapping_add(PREFETCH_AHEAD).cast());
            }
            // SAFETY: `row` holds LANES = 8 words; this reads words 4 half .. 4 half + 4
            let v = split(unsafe { _mm256_loadu_si256(row.as_ptr().add(4 * half).cast()) });
            for (query, s) in s.iter_mut().enumerate() {
                // SAFETY: `Q i + query < Q rows.len()`, the length of `slot` (asserted above), and
                // `4 half + 4 <= PART`, the length of each of its parts
                let x = split(unsafe {
                    let part = slot.get_unchecked(Q * i + query);
                    _mm256_loadu_si256(part.as_ptr().add(4 * half).cast())
                });
                for k in 0..3 {
                    s[k] = _mm256_add_epi64(s[k], _mm256_mul_epu32(v[k], x[k]));
                }
            }
        }
        for (query, sums) in s.iter().enumerate() {
            let [low, high, sum]: [[u64; 4]; 3] = pulp::cast(*sums);
            for l in 0..4 {
                out[query * LANES + half * 4 + l] = reduce(low[l], high[l], sum[l]);
            }
        }
    }
    if Q == 1 {
        out[LANES..].fill(0);
    }
}
