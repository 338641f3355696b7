//! The split kernel on AVX2 (x86-64-v3): `vpmuludq` multiplies the low 32 bits of each 64-bit
//! lane, which is exactly the half a split word or its shift holds ([`super`]).

// The target-feature functions here are called only with an `Avx2` token, which exists only
// once the CPU is known to have the features.
#![expect(
    unsafe_code,
    reason = "AVX2 intrinsics behind run-time feature detection"
)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_and_si256, _mm256_cmpgt_epi64, _mm256_loadu_si256,
    _mm256_mul_epu32, _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_slli_epi64,
    _mm256_srli_epi64, _mm256_storeu_si256, _mm256_sub_epi64, _mm_prefetch, _MM_HINT_T0,
    _MM_HINT_T1,
};

use super::{C, PART, PREFETCH_AHEAD, Q as PRIME};
use crate::kernel::{Prefetch, Shape, LANES};

pulp::simd_type! {
    /// AVX2 (the part of x86-64-v3 the kernel uses).
    pub(crate) struct Avx2 {
        pub sse: "sse",
        pub sse2: "sse2",
        pub avx: "avx",
        pub avx2: "avx2",
    }
}

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
        |count, prefetch, catalog, slot, out| {
            // SAFETY: the `Avx2` token proves the CPU has the features.
            unsafe { micro_for!(micro, count, prefetch, catalog, slot, out) }
        },
    );
}

/// One block's tile of `dim` catalog rows against one slot's tile of `Q` queries, one half of
/// the tile's lanes after the other: `3 Q` accumulators per half, so that both halves' words of
/// catalog and slot stay in registers (all at once, 6 Q accumulators and the six words spilled).
/// A word `w` gives its three multiplicands by one shift and one add: `w` (`x0`), `w >> 32`
/// (`x1`) and their sum (`x0 + x1`), since `vpmuludq` reads only the low 32 bits of each lane.
/// `P`: what the call prefetches, fixed at compile time (0: nothing, 1: [`Prefetch::Ahead`],
/// 2: [`Prefetch::NextTile`]).
#[target_feature(enable = "avx2")]
fn micro<const Q: usize, const P: u8>(catalog: &[u64], slot: &[u64], out: &mut [u64]) {
    let rows = pulp::as_arrays::<LANES, _>(catalog).0;
    let slot = pulp::as_arrays::<PART, _>(slot).0;
    assert_eq!(slot.len(), Q * rows.len());
    assert_eq!(out.len(), 2 * LANES);
    let tile = rows.len() * LANES;
    let zero = _mm256_setzero_si256();
    let split = |word| {
        let high = _mm256_srli_epi64::<32>(word);
        [word, high, _mm256_add_epi64(word, high)]
    };
    for half in 0..2 {
        // [query][x0 v0 | x1 v1 | (x0 + x1)(v0 + v1)]
        let mut s = [[zero; 3]; Q];
        for (i, row) in rows.iter().enumerate() {
            // hints that never fault, whatever the address
            if P == 1 && half == 0 {
                _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().wrapping_add(PREFETCH_AHEAD).cast());
            } else if P == 2 && half == 0 {
                _mm_prefetch::<_MM_HINT_T1>(row.as_ptr().wrapping_add(tile).cast());
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
        for (query, [low, high, sum]) in s.iter().enumerate() {
            let at = &mut out[query * LANES + half * 4..][..4];
            // SAFETY: `at` holds four words
            unsafe { _mm256_storeu_si256(at.as_mut_ptr().cast(), reduce(*low, *high, *sum)) };
        }
    }
    if Q == 1 {
        out[LANES..].fill(0);
    }
}

/// [`super::reduce`] on four lanes: the value mod q of lazy sums of at most
/// [`super::MAX_DIM`] features, `low < 2^60.1`, `high < 2^60.9`, `sum < 2^62.6`.
///
/// Every fold uses `2^52 = c (mod q)` on pieces narrow enough for `vpmuludq` (32 bits) and
/// for 64-bit lanes, with `x = low + middle 2^25 + high 2^50`:
/// - `low = l1 2^52 + l0`: `l0 + c l1`;
/// - `middle 2^25 = m1 2^52 + m0 2^25` (`m1 < 2^34.5`, multiplied by `c` in its two 32-bit
///   halves): `m0 2^25 + c m1`;
/// - `high 2^50 = h2 2^78 + h1 2^52 + h0 2^50` with `2^78 = c 2^26`: `h0 2^50 + c h1 + c h2 2^26`,
///   where `k = c h2 < 2^48.6` folds once more, `k 2^26 = c (k >> 26) + (k mod 2^26) 2^26`.
///
/// The terms add up below `2^54.2`; one more fold leaves less than `2^52 + 2^18.1 < 4q`, and two
/// conditional subtractions (of `2q`, then of `q`) end it.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce(low: __m256i, high: __m256i, sum: __m256i) -> __m256i {
    const MASK26: i64 = (1 << 26) - 1;
    const MASK52: i64 = (1 << 52) - 1;
    let c = _mm256_set1_epi64x(C as i64);
    let times_c = |x: __m256i| {
        // `x < 2^35`: c times its low 32 bits, plus c times the rest shifted back up
        let high = _mm256_mul_epu32(_mm256_srli_epi64::<32>(x), c);
        _mm256_add_epi64(_mm256_mul_epu32(x, c), _mm256_slli_epi64::<32>(high))
    };
    let mask = |bits: i64| _mm256_set1_epi64x(bits);
    let middle = _mm256_sub_epi64(_mm256_sub_epi64(sum, low), high);

    let from_low = _mm256_add_epi64(
        _mm256_and_si256(low, mask(MASK52)),
        _mm256_mul_epu32(_mm256_srli_epi64::<52>(low), c),
    );
    let from_middle = _mm256_add_epi64(
        _mm256_srli_epi64::<12>(_mm256_slli_epi64::<37>(middle)),
        times_c(_mm256_srli_epi64::<27>(middle)),
    );
    let k = times_c(_mm256_srli_epi64::<28>(high));
    let from_high = _mm256_add_epi64(
        _mm256_add_epi64(
            _mm256_srli_epi64::<12>(_mm256_slli_epi64::<62>(high)),
            _mm256_mul_epu32(
                _mm256_and_si256(_mm256_srli_epi64::<2>(high), mask(MASK26)),
                c,
            ),
        ),
        _mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64::<26>(k), c),
            _mm256_slli_epi64::<26>(_mm256_and_si256(k, mask(MASK26))),
        ),
    );
    let y = _mm256_add_epi64(_mm256_add_epi64(from_low, from_middle), from_high);
    let mut z = _mm256_add_epi64(
        _mm256_and_si256(y, mask(MASK52)),
        _mm256_mul_epu32(_mm256_srli_epi64::<52>(y), c),
    );
    for m in [2 * PRIME, PRIME] {
        // `z < 2^53`: the signed comparison is the unsigned one
        let at_least = _mm256_cmpgt_epi64(z, mask(m as i64 - 1));
        z = _mm256_sub_epi64(z, _mm256_and_si256(at_least, mask(m as i64)));
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{reduce as scalar, tests::sums, HALF, LOW, MAX_DIM};
    use proptest::prelude::*;

    /// Four lanes of lazy sums through the vector reduction, or `None` without AVX2.
    fn reduced(lanes: [(u64, u64, u64); 4]) -> Option<[u64; 4]> {
        Avx2::try_new()?;
        let words = |f: fn(&(u64, u64, u64)) -> u64| pulp::cast(lanes.map(|l| f(&l)));
        let (low, high, sum) = (words(|l| l.0), words(|l| l.1), words(|l| l.2));
        // SAFETY: the `Avx2` token above proves the CPU has the features
        Some(pulp::cast(unsafe { reduce(low, high, sum) }))
    }

    fn check(lanes: [(u64, u64, u64); 4]) -> Result<(), TestCaseError> {
        match reduced(lanes) {
            Some(got) => {
                let want = lanes.map(|(l, h, s)| scalar(l, h, s));
                prop_assert_eq!(got, want, "{:?}", lanes);
            }
            None => crate::kernel::skipped("the AVX2 reduction", "avx2"),
        }
        Ok(())
    }

    /// The widest sums the kernel can make (every feature at q - 1, at the largest halves, at
    /// the largest sum of halves), beside zero and single products.
    #[test]
    fn the_vector_reduction_is_exact_on_the_widest_sums() {
        let largest_sum = ((((PRIME - 1) >> HALF) - 1) << HALF) | LOW;
        let mut lanes = vec![(0, 0, 0)];
        for top in [PRIME - 1, (PRIME - 1) & !LOW, LOW, largest_sum, 1] {
            for dim in [1, 2, 64, 1000, MAX_DIM] {
                lanes.push(sums(&vec![(top, top); dim]));
            }
        }
        for chunk in lanes.chunks(4) {
            let mut four = [(0, 0, 0); 4];
            four[..chunk.len()].copy_from_slice(chunk);
            check(four).unwrap();
        }
    }

    proptest! {
        #[test]
        fn the_vector_reduction_is_exact(
            lanes in prop::array::uniform4(
                prop::collection::vec((0..PRIME, 0..PRIME), 1..=MAX_DIM),
            ),
        ) {
            check(lanes.map(|pairs| sums(&pairs)))?;
        }
    }
}
