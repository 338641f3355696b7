//! The baseline's aarch64 path: `sdot` (the dot-product extension of Armv8.2, in every Arm
//! server core since Neoverse N1 and in Apple Silicon).

#![expect(unsafe_code, reason = "NEON loads through pointers")]

use core::arch::aarch64::{int32x4_t, int8x16_t};

use super::by_blocks;

/// Proof that the CPU has the dot-product extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dotprod(());

impl Dotprod {
    pub(crate) fn try_new() -> Option<Self> {
        std::arch::is_aarch64_feature_detected!("dotprod").then_some(Dotprod(()))
    }
}

/// 16 products per `sdot`, four lanes of i32 sums.
pub(crate) fn sdot(_: Dotprod, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    let q: Vec<[i8; 16]> = pulp::as_arrays::<16, _>(query).0.to_vec();
    by_blocks(matrix, dim, |out, rows| {
        // SAFETY: the `Dotprod` token proves the CPU has the extension.
        unsafe { sdot_block(out, rows, dim, &q) }
    })
}

#[target_feature(enable = "neon,dotprod")]
fn sdot_block(out: &mut [i32], rows: &[i8], dim: usize, q: &[[i8; 16]]) {
    use core::arch::aarch64::{vaddvq_s32, vdupq_n_s32, vld1q_s8};
    let load = |bytes: &[i8; 16]| -> int8x16_t {
        // SAFETY: 16 bytes
        unsafe { vld1q_s8(bytes.as_ptr()) }
    };
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
        let mut acc = vdupq_n_s32(0);
        for (c, q) in pulp::as_arrays::<16, _>(row).0.iter().zip(q) {
            acc = sdot4(acc, load(c), load(q));
        }
        *o = vaddvq_s32(acc);
    }
}

/// `acc + ` four-byte dot products of `a` and `b`: the `sdot` instruction, written in assembly
/// because its intrinsic (`vdotq_s32`) is not stable in this toolchain.
#[inline(always)]
fn sdot4(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: register-only arithmetic; callers run only where `Dotprod` proved the extension
    unsafe {
        core::arch::asm!(
            ".arch_extension dotprod",
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}
