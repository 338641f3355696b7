//! The `crt54` kernel on AVX2 (x86-64-v3): `vpmuludq` multiplies the low 32 bits of each 64-bit
//! lane, the first residue of a word, or the second after a shift ([`super`]).

// The target-feature functions here are called only with an `Avx2` token, which exists only
// once the CPU is known to have the features.
#![expect(
    unsafe_code,
    reason = "AVX2 intrinsics behind run-time feature detection"
)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_and_si256, _mm256_cmpgt_epi64, _mm256_loadu_si256,
    _mm256_mul_epu32, _mm256_or_si256, _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_slli_epi64,
    _mm256_srli_epi64, _mm256_storeu_si256, _mm256_sub_epi64, _mm_prefetch, _MM_HINT_T0,
    _MM_HINT_T1,
};

use veilrank_core::ntt::crt::{P1, P2};

use super::{crt_micro_for, Block, Checked};
use crate::kernel::{Prefetch, Shape, LANES};
use crate::split::avx2::Avx2;
use crate::split::PREFETCH_AHEAD;

/// `2^32 mod p` and `2^27 - p`: the folds of [`fold`].
const FOLDS: [(u64, u64); 2] = [
    ((1 << 32) % P1 as u64, (1 << 27) - P1 as u64),
    ((1 << 32) % P2 as u64, (1 << 27) - P2 as u64),
];
// the folds' bounds assume `2^32 mod p < 2^22` and `2^27 - p < 2^17`
const _: () = assert!(FOLDS[0].0 < 1 << 22 && FOLDS[1].0 < 1 << 22);
const _: () = assert!(FOLDS[0].1 < 1 << 17 && FOLDS[1].1 < 1 << 17);

/// Every slot against each block of a superblock into `acc`, reduced ([`super::each_block`]):
/// what [`super::portable`] computes, on CPUs with AVX2.
pub(crate) fn lazy(
    _simd: Avx2,
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
) {
    super::each_block(queries, superblock, shape, acc, |block, prefetch| {
        let (a, b) = (block.slots[0].1, block.slots[1].1);
        // SAFETY: the `Avx2` token proves the CPU has the features.
        unsafe { crt_micro_for!(micro, a, b, prefetch, block) }
    });
}

/// One block's tile of catalog rows against the tiles of two slots, `A` and `B` queries (`B` = 0:
/// one slot), one half of the tile's lanes after the other: `2 (A + B)` accumulators, the
/// catalog word and its shift, a query word and its shift, 12 registers of 16 at four queries.
/// `P`: what the call prefetches ([`Prefetch`]: 0 nothing, 1 ahead, 2 the next tile).
#[target_feature(enable = "avx2")]
fn micro<const A: usize, const B: usize, const P: u8>(block: Block<'_>) {
    let mut block = block.checked::<A, B>();
    let tile = block.catalog.len();
    let zero = _mm256_setzero_si256();
    for half in 0..2 {
        // [query][r1 x1 | r2 x2]
        let mut s = [[zero; 2]; 4];
        for i in 0..block.rows {
            let row = block.catalog.as_ptr().wrapping_add(i * LANES);
            // hints that never fault, whatever the address
            if P == 1 && half == 0 {
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(PREFETCH_AHEAD).cast());
            } else if P == 2 && half == 0 {
                _mm_prefetch::<_MM_HINT_T1>(row.wrapping_add(tile).cast());
            }
            // SAFETY: row i holds LANES = 8 words (asserted above); this reads 4 of them
            let v = unsafe { _mm256_loadu_si256(row.add(4 * half).cast()) };
            let v_high = _mm256_srli_epi64::<32>(v);
            for (q, s) in s.iter_mut().enumerate().take(Checked::<A, B>::QUERIES) {
                // SAFETY: query q's part of row i is PART words within its slot's tile
                // ([`Block::checked`]), and `4 half + 4 <= PART`
                let x = unsafe { _mm256_loadu_si256(block.query(i, q).add(4 * half).cast()) };
                let x_high = _mm256_srli_epi64::<32>(x);
                s[0] = _mm256_add_epi64(s[0], _mm256_mul_epu32(v, x));
                s[1] = _mm256_add_epi64(s[1], _mm256_mul_epu32(v_high, x_high));
            }
        }
        for (q, [s1, s2]) in s.iter().enumerate().take(Checked::<A, B>::QUERIES) {
            let at = &mut block.out(q)[4 * half..][..4];
            // SAFETY: `at` holds four words
            unsafe { _mm256_storeu_si256(at.as_mut_ptr().cast(), reduce(*s1, *s2)) };
        }
    }
    block.finish();
}

/// [`super::reduce`] on four lanes: the words of lazy sums below 2^64.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce(s1: __m256i, s2: __m256i) -> __m256i {
    let r1 = fold(s1, P1, FOLDS[0]);
    let r2 = fold(s2, P2, FOLDS[1]);
    _mm256_or_si256(r1, _mm256_slli_epi64::<32>(r2))
}

/// `s mod p` in each lane, for `p = 2^27 - k` with `c = 2^32 mod p < 2^22` and `k < 2^17`
/// ([`FOLDS`]): two folds by `2^32 = c` (below `2^53.8`, then `2^43.5`), two by `2^27 = k`
/// (below `2^33.2`, then `2^27 + 2^22.9 < 2p`), and one conditional subtraction. Every
/// multiplicand fits the 32 bits `vpmuludq` reads.
#[target_feature(enable = "avx2")]
#[inline]
fn fold(s: __m256i, p: u32, (c, k): (u64, u64)) -> __m256i {
    let low32 = _mm256_set1_epi64x(0xffff_ffff);
    let low27 = _mm256_set1_epi64x((1 << 27) - 1);
    let (c, k) = (_mm256_set1_epi64x(c as i64), _mm256_set1_epi64x(k as i64));
    let mut t = _mm256_add_epi64(
        _mm256_and_si256(s, low32),
        _mm256_mul_epu32(_mm256_srli_epi64::<32>(s), c),
    );
    t = _mm256_add_epi64(
        _mm256_and_si256(t, low32),
        _mm256_mul_epu32(_mm256_srli_epi64::<32>(t), c),
    );
    for _ in 0..2 {
        t = _mm256_add_epi64(
            _mm256_and_si256(t, low27),
            _mm256_mul_epu32(_mm256_srli_epi64::<27>(t), k),
        );
    }
    // `t < 2^28`: the signed comparison is the unsigned one
    let at_least = _mm256_cmpgt_epi64(t, _mm256_set1_epi64x(i64::from(p) - 1));
    _mm256_sub_epi64(
        t,
        _mm256_and_si256(at_least, _mm256_set1_epi64x(i64::from(p))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crt::reduce as scalar;
    use proptest::prelude::*;

    /// Four lanes of lazy sums through the vector reduction, or `None` without AVX2.
    fn reduced(lanes: [(u64, u64); 4]) -> Option<[u64; 4]> {
        Avx2::try_new()?;
        let s1 = pulp::cast(lanes.map(|l| l.0));
        let s2 = pulp::cast(lanes.map(|l| l.1));
        // SAFETY: the `Avx2` token above proves the CPU has the features
        Some(pulp::cast(unsafe { reduce(s1, s2) }))
    }

    fn check(lanes: [(u64, u64); 4]) -> Result<(), TestCaseError> {
        match reduced(lanes) {
            Some(got) => prop_assert_eq!(got, lanes.map(|(a, b)| scalar(a, b)), "{:?}", lanes),
            None => crate::kernel::skipped("the AVX2 crt54 reduction", "avx2"),
        }
        Ok(())
    }

    /// The widest sums (1024 products of the largest residues, and `u64::MAX`), zero, and the
    /// values next to each prime.
    #[test]
    fn the_vector_reduction_is_exact_at_the_edges() {
        let widest = |p: u32| u64::from(p - 1).pow(2) * 1024;
        let edges = [
            (0, 0),
            (u64::MAX, u64::MAX),
            (widest(P1), widest(P2)),
            (u64::from(P1), u64::from(P2)),
            (u64::from(P1) - 1, u64::from(P2) - 1),
            (u64::from(P1) * 2 - 1, u64::from(P2) * 2 - 1),
            (1 << 32, 1 << 32),
            ((1 << 32) - 1, (1 << 27) - 1),
        ];
        for chunk in edges.chunks(4) {
            check(chunk.try_into().unwrap()).unwrap();
        }
    }

    proptest! {
        #[test]
        fn the_vector_reduction_is_exact(lanes in prop::array::uniform4((any::<u64>(), any::<u64>()))) {
            check(lanes)?;
        }
    }
}
