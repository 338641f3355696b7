//! The AVX-512 IFMA kernel (x86-64 only): lazy reduction on a catalog packed in 7 bytes per
//! value, and the vector response switch.
//!
//! `vpmadd52luq` and `vpmadd52huq` add the low and the high 52 bits of each 104-bit product into
//! 64-bit lanes; for d <= 1024 products the sums cannot overflow, so each coefficient is reduced
//! once, at the end, with vector code ([`VecReducer`]): four IFMA instructions per 8
//! item-features for the two queries of a slot together. It computes what
//! [`crate::kernel::reduced`] computes, on the same tiled layout, for the prime `ifma50` on CPUs
//! with AVX-512 IFMA and VBMI ([`Ifma::try_new`] says at run time).

// The target-feature functions here are called only with an `Ifma` token, which exists only
// once the CPU is known to have the features; pulp's `simd_type!` expands to the same check.
#![expect(
    unsafe_code,
    reason = "AVX-512 intrinsics behind run-time feature detection"
)]

use pulp::cast;

use crate::kernel::{acc_row, Prefetch, Shape, LANES};

mod reducer;
pub(crate) use reducer::VecReducer;

pulp::simd_type! {
    /// AVX-512 with the 52-bit integer fused multiply-add (IFMA) and byte permute (VBMI)
    /// extensions.
    pub(crate) struct Ifma {
        pub sse: "sse",
        pub sse2: "sse2",
        pub fxsr: "fxsr",
        pub sse3: "sse3",
        pub ssse3: "ssse3",
        pub sse4_1: "sse4.1",
        pub sse4_2: "sse4.2",
        pub popcnt: "popcnt",
        pub avx: "avx",
        pub avx2: "avx2",
        pub bmi1: "bmi1",
        pub bmi2: "bmi2",
        pub fma: "fma",
        pub lzcnt: "lzcnt",
        pub avx512f: "avx512f",
        pub avx512bw: "avx512bw",
        pub avx512cd: "avx512cd",
        pub avx512dq: "avx512dq",
        pub avx512vl: "avx512vl",
        pub avx512ifma: "avx512ifma",
        pub avx512vbmi: "avx512vbmi",
    }
}

/// Bytes of one catalog value as the IFMA kernel stores it. Values below q < 2^51 fit 7 bytes,
/// and IFMA reads only the low 52 bits of each lane, so one byte permute after the load restores
/// the lanes whatever lands in their eighth byte: 7/8 of the memory traffic of whole words,
/// the part of a single query's pass that bounds it.
pub(crate) const PACKED_VALUE_BYTES: usize = 7;

/// Bytes of one packed row: one tile of one feature.
pub(crate) const PACKED_ROW: usize = LANES * PACKED_VALUE_BYTES;

/// The IFMA kernel with lazy reduction on packed tiles ([`PACKED_VALUE_BYTES`]): what
/// [`reduced`] computes, for `ifma50` on CPUs with AVX-512 IFMA and VBMI.
pub(crate) fn lazy(
    simd: Ifma,
    reducer: VecReducer,
    queries: &[&[u64]],
    outputs: usize,
    superblock: &[u8],
    shape: Shape,
    acc: &mut [u64],
) {
    let Shape { blocks, dim, n } = shape;
    debug_assert_eq!(superblock.len(), blocks * dim * n * PACKED_VALUE_BYTES);
    debug_assert_eq!(acc.len(), queries.len() * blocks * 2 * n);
    simd.vectorize(
        #[inline(always)]
        || {
            for t in 0..n / LANES {
                let tile = blocks * dim * PACKED_ROW;
                let catalog = &superblock[t * tile..][..tile];
                let next = superblock
                    .get((t + 1) * tile..(t + 2) * tile)
                    .unwrap_or(&[]);
                let ctx = Tile {
                    simd,
                    reducer,
                    queries,
                    catalog,
                    next,
                    shape,
                };
                // a pair of slots' tiles stays in L1 across the superblock's blocks; the
                // catalog tile is re-read from L2 by each pair
                let mut j = 0;
                while j < queries.len() {
                    let pair = (queries.len() - j).min(2);
                    // the last slot of an odd batch: no second query to multiply, and room in
                    // the registers for four blocks at a time (faster than two for a single
                    // query's pass, README)
                    let lone = outputs % 2 == 1 && j + pair == queries.len();
                    let mut k = 0;
                    while k < blocks {
                        let prefetch = match j {
                            0 => Prefetch::Ahead,
                            2 if !next.is_empty() => Prefetch::NextTile,
                            _ => Prefetch::None,
                        };
                        let at = Micro { t, j, k, prefetch };
                        // SAFETY: the `Ifma` token proves the CPU has the features.
                        k += unsafe {
                            match (pair, blocks - k, lone) {
                                (2, 2.., false) => micro::<2, 2, false>(ctx, at, acc),
                                (2, _, false) => micro::<2, 1, false>(ctx, at, acc),
                                (_, 2.., false) => micro::<1, 2, false>(ctx, at, acc),
                                (_, _, false) => micro::<1, 1, false>(ctx, at, acc),
                                (2, 2.., true) => micro::<2, 2, true>(ctx, at, acc),
                                (2, _, true) => micro::<2, 1, true>(ctx, at, acc),
                                (_, 4.., true) => micro::<1, 4, true>(ctx, at, acc),
                                (_, 2.., true) => micro::<1, 2, true>(ctx, at, acc),
                                (_, _, true) => micro::<1, 1, true>(ctx, at, acc),
                            }
                        };
                    }
                    j += pair;
                }
            }
        },
    )
}

/// What the micro-kernel calls of one tile share.
#[derive(Clone, Copy)]
struct Tile<'a> {
    simd: Ifma,
    reducer: VecReducer,
    queries: &'a [&'a [u64]],
    /// This tile of the superblock's catalog, packed.
    catalog: &'a [u8],
    /// The next tile's (empty for the last tile).
    next: &'a [u8],
    shape: Shape,
}

/// Where a micro-kernel call works: tile `t`, the first slot `j` and block `k`.
#[derive(Clone, Copy)]
struct Micro {
    t: usize,
    j: usize,
    k: usize,
    prefetch: Prefetch,
}

/// The byte permute from a packed row to eight lanes: byte `b` of lane `l` is byte
/// `7 l + min(b, 6)` of the row. The copied seventh byte in bits 56..63 is past what IFMA reads.
const SPREAD: [u8; 64] = {
    let mut idx = [0u8; 64];
    let mut x = 0;
    while x < 64 {
        let (lane, byte) = (x / 8, x % 8);
        let byte = if byte < PACKED_VALUE_BYTES {
            byte
        } else {
            PACKED_VALUE_BYTES - 1
        };
        idx[x] = (lane * PACKED_VALUE_BYTES + byte) as u8;
        x += 1;
    }
    idx
};

/// The load mask of one packed row: its 56 bytes and not the 8 after it.
const ROW_BYTES: u64 = (1 << PACKED_ROW) - 1;

/// How far ahead of the multiply-accumulate the catalog is prefetched, in bytes: measured
/// against 1, 2, 4, 16 and 32 KB (README, per CPU family), 8 KB was the fastest or level.
const PREFETCH_AHEAD: usize = 8192;

/// Register-blocked multiply-accumulate of `J` slots against `K` blocks over every feature
/// of one tile: each catalog vector loaded serves `J` slots and each slot vector `K`
/// blocks (`4 J K` accumulators: first and second query, low and high IFMA halves). The lazy
/// sums are reduced and stored into `acc`. `LONE`: the last of the `J` slots holds one query,
/// so half of its products are not computed (a lone query's pass took 4 IFMAs per row where 2
/// do) and its second outputs are zero. Returns `K`. A function of its own with the target
/// features enabled, so that the intrinsics inline into it however large the caller grows.
#[target_feature(enable = "avx512f,avx512bw,avx512ifma,avx512vbmi")]
fn micro<const J: usize, const K: usize, const LONE: bool>(
    ctx: Tile<'_>,
    at: Micro,
    acc: &mut [u64],
) -> usize {
    use core::arch::x86_64::__m512i;
    let (simd, catalog) = (ctx.simd, ctx.catalog);
    let dim = ctx.shape.dim;
    let zero = simd.avx512f._mm512_setzero_si512();
    let spread: __m512i = cast(SPREAD);
    // exactly `dim` rows each, which `features` relies on to index without bounds checks
    let v: [&[[u8; PACKED_ROW]]; K] = core::array::from_fn(|kk| {
        let rows = &catalog[(at.k + kk) * dim * PACKED_ROW..][..dim * PACKED_ROW];
        &pulp::as_arrays::<PACKED_ROW, _>(rows).0[..dim]
    });
    let q: [&[[u64; 16]]; J] = core::array::from_fn(|jj| {
        let tile = &ctx.queries[at.j + jj][at.t * 2 * dim * LANES..][..2 * dim * LANES];
        &pulp::as_arrays::<16, _>(tile).0[..dim]
    });
    let mut s = [[[zero; 4]; K]; J];
    // one loop per prefetch kind, so that the loop body is only loads and arithmetic
    match at.prefetch {
        Prefetch::Ahead => features::<J, K, 1, LONE>(ctx, at, v, q, spread, &mut s),
        Prefetch::NextTile => features::<J, K, 2, LONE>(ctx, at, v, q, spread, &mut s),
        Prefetch::None => features::<J, K, 0, LONE>(ctx, at, v, q, spread, &mut s),
    }
    for (jj, s) in s.iter().enumerate() {
        let second = !(LONE && jj + 1 == J);
        for (kk, s) in s.iter().enumerate() {
            let row = acc_row(ctx.shape, at.j + jj, at.t, at.k + kk);
            let out: &mut [u64; 2 * LANES] =
                &mut pulp::as_arrays_mut::<{ 2 * LANES }, _>(&mut acc[row..][..2 * LANES]).0[0];
            *out = cast([
                ctx.reducer.reduce(simd, s[0], s[1]),
                if second {
                    ctx.reducer.reduce(simd, s[2], s[3])
                } else {
                    zero
                },
            ]);
        }
    }
    K
}

/// The multiply-accumulate of [`micro`] over every feature, with prefetch kind `P` (0: none,
/// 1: [`Prefetch::Ahead`], 2: [`Prefetch::NextTile`]) and `LONE` fixed at compile time.
#[target_feature(enable = "avx512f,avx512bw,avx512ifma,avx512vbmi")]
#[inline]
fn features<const J: usize, const K: usize, const P: u8, const LONE: bool>(
    ctx: Tile<'_>,
    at: Micro,
    v: [&[[u8; PACKED_ROW]]; K],
    q: [&[[u64; 16]]; J],
    spread: core::arch::x86_64::__m512i,
    s: &mut [[[core::arch::x86_64::__m512i; 4]; K]; J],
) {
    use core::arch::x86_64::{
        __m512i, _mm512_maskz_loadu_epi8, _mm512_permutexvar_epi8, _mm_prefetch, _MM_HINT_T0,
        _MM_HINT_T1,
    };
    let f = ctx.simd.avx512ifma;
    let dim = ctx.shape.dim;
    assert!(v.iter().all(|v| v.len() == dim) && q.iter().all(|q| q.len() == dim));
    let next = ctx.next.as_ptr().cast::<i8>();
    for i in 0..dim {
        if P == 1 {
            for v in v {
                // a hint that never faults, whatever the address
                // SAFETY: `i < dim`, the length of every row slice (asserted above)
                let row = unsafe { v.get_unchecked(i) };
                _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().cast::<i8>().wrapping_add(PREFETCH_AHEAD));
            }
        } else if P == 2 {
            for kk in 0..K {
                let row = ((at.k + kk) * dim + i) * PACKED_ROW;
                _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(row));
            }
        }
        let vi: [__m512i; K] = core::array::from_fn(|kk| {
            // SAFETY: `i < dim` (asserted above); the mask reads exactly the row's 56 bytes
            let row = unsafe { v[kk].get_unchecked(i) };
            let row = unsafe { _mm512_maskz_loadu_epi8(ROW_BYTES, row.as_ptr().cast()) };
            _mm512_permutexvar_epi8(spread, row)
        });
        for jj in 0..J {
            let second = !(LONE && jj + 1 == J);
            // SAFETY: `i < dim` (asserted above)
            let [x, y]: [__m512i; 2] = cast(*unsafe { q[jj].get_unchecked(i) });
            for kk in 0..K {
                let s = &mut s[jj][kk];
                s[0] = f._mm512_madd52lo_epu64(s[0], x, vi[kk]);
                s[1] = f._mm512_madd52hi_epu64(s[1], x, vi[kk]);
                if second {
                    s[2] = f._mm512_madd52lo_epu64(s[2], y, vi[kk]);
                    s[3] = f._mm512_madd52hi_epu64(s[3], y, vi[kk]);
                }
            }
        }
    }
}

/// The response switch on eight lanes at a time ([`crate::switch`]): `r = floor(x m / 2^52)`,
/// rounded to `bits` bits after `s` guard bits.
pub(crate) fn switch(_simd: Ifma, q: u64, bits: u32, m: u64, s: u32, values: &mut [[u64; 8]]) {
    // SAFETY: the `Ifma` token proves the CPU has the features.
    unsafe { switch_lanes(q, bits, m, s, values) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn switch_lanes(q_: u64, bits: u32, m: u64, s: u32, values: &mut [[u64; 8]]) {
    use core::arch::x86_64::*;
    let splat = |x: u64| _mm512_set1_epi64(x as i64);
    let (q, two_q, m) = (splat(q_), splat(2 * q_), splat(m));
    let half = splat(1 << (s - 1));
    let mask = splat((1u64 << bits) - 1);
    let zero = _mm512_setzero_si512();
    for lanes in values {
        let x: __m512i = cast(*lanes);
        // below q, then below 2^52 as IFMA requires
        let x = _mm512_min_epu64(x, _mm512_sub_epi64(x, two_q));
        let x = _mm512_min_epu64(x, _mm512_sub_epi64(x, q));
        let r = _mm512_madd52hi_epu64(zero, x, m);
        let r = _mm512_srlv_epi64(_mm512_add_epi64(r, half), splat(u64::from(s)));
        *lanes = cast(_mm512_and_si512(r, mask));
    }
}
