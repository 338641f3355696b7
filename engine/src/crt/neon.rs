//! The `crt54` kernel on NEON (aarch64, where NEON is part of the base instruction set): a word
//! is two 32-bit lanes, its residues, and `umlal` multiplies both with the query word's and adds
//! them into two 64-bit lanes, the word's two lazy sums, in one instruction ([`super`]).

#![expect(unsafe_code, reason = "NEON loads through pointers")]

use core::arch::aarch64::{
    uint64x2_t, vdupq_n_u64, vget_low_u32, vgetq_lane_u64, vld1q_u32, vmlal_high_u32, vmlal_u32,
};

use super::{crt_micro_for, reduce, Block, Checked};
use crate::kernel::{Prefetch, Shape, LANES};
use crate::split::neon::{prefetch_l1, prefetch_l2};
use crate::split::PREFETCH_AHEAD;

/// What [`super::portable`] computes, on NEON.
pub(crate) fn lazy(queries: &[&[u64]], superblock: &[u64], shape: Shape, acc: &mut [u64]) {
    super::each_block(queries, superblock, shape, acc, |block, prefetch| {
        let (a, b) = (block.slots[0].1, block.slots[1].1);
        // SAFETY: NEON is part of aarch64's base instruction set
        unsafe { crt_micro_for!(micro, a, b, prefetch, block) }
    });
}

/// One block's tile against two slots' tiles of `A` and `B` queries (`B` = 0: one slot), one
/// half of the tile's lanes after the other: `4 (A + B)` accumulators (each the two sums of one
/// word), two catalog and two query registers, 20 of 32 at four queries. `P`: what the call
/// prefetches, as on AVX2 (neither distance nor cache level measured on an ARM CPU).
#[target_feature(enable = "neon")]
fn micro<const A: usize, const B: usize, const P: u8>(block: Block<'_>) {
    let mut block = block.checked::<A, B>();
    let tile = block.catalog.len();
    let zero = vdupq_n_u64(0);
    for half in 0..2 {
        // [query][word of the half]: (r1 x1, r2 x2)
        let mut s: [[uint64x2_t; 4]; 4] = [[zero; 4]; 4];
        for i in 0..block.rows {
            let row = block.catalog.as_ptr().wrapping_add(i * LANES);
            if P == 1 && half == 0 {
                prefetch_l1(row.wrapping_add(PREFETCH_AHEAD));
            } else if P == 2 && half == 0 {
                prefetch_l2(row.wrapping_add(tile));
            }
            // SAFETY: row i holds LANES = 8 words (asserted above); these read 4 of them
            let (v0, v1) = unsafe {
                let at = row.add(4 * half).cast::<u32>();
                (vld1q_u32(at), vld1q_u32(at.add(4)))
            };
            for (q, s) in s.iter_mut().enumerate().take(Checked::<A, B>::QUERIES) {
                // SAFETY: query q's part of row i is PART words within its slot's tile
                // ([`Block::checked`]), and `4 half + 4 <= PART`
                let (x0, x1) = unsafe {
                    let at = block.query(i, q).add(4 * half).cast::<u32>();
                    (vld1q_u32(at), vld1q_u32(at.add(4)))
                };
                s[0] = vmlal_u32(s[0], vget_low_u32(v0), vget_low_u32(x0));
                s[1] = vmlal_high_u32(s[1], v0, x0);
                s[2] = vmlal_u32(s[2], vget_low_u32(v1), vget_low_u32(x1));
                s[3] = vmlal_high_u32(s[3], v1, x1);
            }
        }
        for (q, words) in s.iter().enumerate().take(Checked::<A, B>::QUERIES) {
            let at = &mut block.out(q)[4 * half..][..4];
            for (out, &sums) in at.iter_mut().zip(words) {
                *out = reduce(vgetq_lane_u64::<0>(sums), vgetq_lane_u64::<1>(sums));
            }
        }
    }
    block.finish();
}
