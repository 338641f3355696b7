//! The split kernel on NEON (aarch64, where NEON is part of the base instruction set):
//! `umlal` multiplies two 32-bit lanes into two 64-bit lanes and adds, the AVX2 kernel's
//! arithmetic ([`super`]) two lanes at a time.

#![expect(unsafe_code, reason = "NEON loads through pointers")]

use core::arch::aarch64::{
    uint64x2_t, vadd_u32, vdupq_n_u64, vld1q_u64, vmlal_u32, vmovn_u64, vshrn_n_u64, vst1q_u64,
};

use super::{reduce, PART, PREFETCH_AHEAD};
use crate::kernel::{Prefetch, Shape, LANES};

/// What [`super::avx2::lazy`] computes, on NEON.
pub(crate) fn lazy(queries: &[&[u64]], superblock: &[u64], shape: Shape, acc: &mut [u64]) {
    super::each_block(
        queries,
        superblock,
        shape,
        acc,
        |count, prefetch, catalog, slot, out| {
            // SAFETY: NEON is part of aarch64's base instruction set
            unsafe { micro_for!(micro, count, prefetch, catalog, slot, out) }
        },
    );
}

/// One block's tile against one slot's tile of `Q` queries, one half of the tile's lanes after
/// the other (as on AVX2): `6 Q` accumulators per half (queries, two lane pairs, three sums).
/// A word gives its multiplicands by a narrowing move (`x0`), a narrowing shift (`x1`) and an
/// add (`x0 + x1`). `P`: what the call prefetches, as on AVX2 (neither distance nor cache level
/// measured on an ARM CPU).
#[target_feature(enable = "neon")]
fn micro<const Q: usize, const P: u8>(catalog: &[u64], slot: &[u64], out: &mut [u64]) {
    let rows = pulp::as_arrays::<LANES, _>(catalog).0;
    let slot = pulp::as_arrays::<PART, _>(slot).0;
    assert_eq!(slot.len(), Q * rows.len());
    assert_eq!(out.len(), 2 * LANES);
    let tile = rows.len() * LANES;
    let zero = vdupq_n_u64(0);
    let split = |word| {
        let (low, high) = (vmovn_u64(word), vshrn_n_u64::<32>(word));
        [low, high, vadd_u32(low, high)]
    };
    for half in 0..2 {
        // [query][lane pair][x0 v0 | x1 v1 | (x0 + x1)(v0 + v1)]
        let mut s: [[[uint64x2_t; 3]; 2]; Q] = [[[zero; 3]; 2]; Q];
        for (i, row) in rows.iter().enumerate() {
            if P == 1 && half == 0 {
                prefetch_l1(row.as_ptr().wrapping_add(PREFETCH_AHEAD));
            } else if P == 2 && half == 0 {
                prefetch_l2(row.as_ptr().wrapping_add(tile));
            }
            for pair in 0..2 {
                let at = 4 * half + 2 * pair;
                // SAFETY: `row` holds LANES = 8 words; this reads words `at`, `at + 1`
                let v = split(unsafe { vld1q_u64(row.as_ptr().add(at)) });
                for (query, s) in s.iter_mut().enumerate() {
                    // SAFETY: `Q i + query < Q rows.len()`, the length of `slot` (asserted
                    // above), and `at + 2 <= PART`, the length of each of its parts
                    let x = split(unsafe {
                        vld1q_u64(slot.get_unchecked(Q * i + query).as_ptr().add(at))
                    });
                    for k in 0..3 {
                        s[pair][k] = vmlal_u32(s[pair][k], v[k], x[k]);
                    }
                }
            }
        }
        for (query, pairs) in s.iter().enumerate() {
            for (pair, sums) in pairs.iter().enumerate() {
                let mut lanes = [[0u64; 2]; 3];
                for (lane, &sum) in lanes.iter_mut().zip(sums) {
                    // SAFETY: `lane` holds two words
                    unsafe { vst1q_u64(lane.as_mut_ptr(), sum) };
                }
                for l in 0..2 {
                    out[query * LANES + 4 * half + 2 * pair + l] =
                        reduce(lanes[0][l], lanes[1][l], lanes[2][l]);
                }
            }
        }
    }
    if Q == 1 {
        out[LANES..].fill(0);
    }
}

/// A prefetch hint for the cache line at `at` into L1 (`prfm pldl1keep`), which never faults.
#[inline(always)]
pub(crate) fn prefetch_l1(at: *const u64) {
    // SAFETY: a prefetch hint neither reads nor writes memory the program sees, nor faults
    unsafe {
        core::arch::asm!("prfm pldl1keep, [{0}]", in(reg) at, options(nostack, readonly, preserves_flags));
    }
}

/// The same into L2 (`prfm pldl2keep`).
#[inline(always)]
pub(crate) fn prefetch_l2(at: *const u64) {
    // SAFETY: as for `prefetch_l1`
    unsafe {
        core::arch::asm!("prfm pldl2keep, [{0}]", in(reg) at, options(nostack, readonly, preserves_flags));
    }
}
