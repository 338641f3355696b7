//! The split kernel on NEON (aarch64, where NEON is part of the base instruction set):
//! `umlal` multiplies two 32-bit lanes into two 64-bit lanes and adds, the AVX2 kernel's
//! arithmetic ([`super`]) two lanes at a time.

#![expect(unsafe_code, reason = "NEON loads through pointers")]

use core::arch::aarch64::{
    uint64x2_t, vadd_u32, vdupq_n_u64, vld1q_u64, vmlal_u32, vmovn_u64, vshrn_n_u64, vst1q_u64,
};

use super::{reduce, MAX_DIM, SLOT_ROW};
use crate::kernel::{acc_row, Shape, LANES};

/// What [`super::avx2::lazy`] computes, on NEON.
pub(crate) fn lazy(queries: &[&[u64]], superblock: &[u64], shape: Shape, acc: &mut [u64]) {
    let Shape { blocks, dim, n } = shape;
    assert!(dim <= MAX_DIM, "lazy sums of {dim} features could overflow");
    assert_eq!(superblock.len(), blocks * dim * n);
    for t in 0..n / LANES {
        for k in 0..blocks {
            let catalog = &superblock[(t * blocks + k) * dim * LANES..][..dim * LANES];
            for (j, query) in queries.iter().enumerate() {
                let slot = &query[t * dim * SLOT_ROW..][..dim * SLOT_ROW];
                let out = &mut acc[acc_row(shape, j, t, k)..][..2 * LANES];
                // SAFETY: NEON is part of aarch64's base instruction set
                unsafe { micro(catalog, slot, out) };
            }
        }
    }
}

/// One block's tile against one slot's tile: 24 accumulators (two queries, four lane pairs,
/// three sums) of NEON's 32 registers.
#[target_feature(enable = "neon")]
fn micro(catalog: &[u64], slot: &[u64], out: &mut [u64]) {
    let rows = pulp::as_arrays::<LANES, _>(catalog).0;
    let slot = pulp::as_arrays::<SLOT_ROW, _>(slot).0;
    let zero = vdupq_n_u64(0);
    // [query][lane pair][x0 v0 | x1 v1 | (x0 + x1)(v0 + v1)]
    let mut s: [[[uint64x2_t; 3]; 4]; 2] = [[[zero; 3]; 4]; 2];
    for (row, values) in rows.iter().zip(slot) {
        for pair in 0..4 {
            // SAFETY: `row` holds LANES = 8 words; this reads words 2 pair, 2 pair + 1
            let v = unsafe { vld1q_u64(row.as_ptr().add(2 * pair)) };
            let (v0, v1) = (vmovn_u64(v), vshrn_n_u64::<32>(v));
            let sum = vadd_u32(v0, v1);
            for (query, s) in s.iter_mut().enumerate() {
                let x = |part: usize| {
                    let at = (query * 3 + part) * LANES + 2 * pair;
                    // SAFETY: `at + 2 <= SLOT_ROW`, the length of `values`
                    vmovn_u64(unsafe { vld1q_u64(values.as_ptr().add(at)) })
                };
                let s = &mut s[pair];
                s[0] = vmlal_u32(s[0], v0, x(0));
                s[1] = vmlal_u32(s[1], v1, x(1));
                s[2] = vmlal_u32(s[2], sum, x(2));
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
                out[query * LANES + 2 * pair + l] = reduce(lanes[0][l], lanes[1][l], lanes[2][l]);
            }
        }
    }
}
