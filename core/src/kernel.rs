//! The scoring kernel: the multiply-accumulate of a query against a block of the catalog in
//! the transform domain, where it is point-wise.
//!
//! Layout: coefficients are interleaved in tiles of [`LANES`]. A catalog block is
//! `[tile][feature][LANES]` and an expanded query `[tile][feature][mask LANES | body LANES]`, so
//! the loop over features reads memory sequentially, and a query tile is reused from L1 by every
//! block of a group.
//!
//! Fast path (prime `ifma50` on CPUs with AVX-512 IFMA): lazy reduction. `vpmadd52luq` and
//! `vpmadd52huq` add the low and the high 52 bits of each 104-bit product into 64-bit lanes; for
//! d <= 1024 < 2^12 products the sums cannot overflow, so each coefficient is reduced once, at
//! the end, instead of once per feature: four IFMA instructions per 8 item-features for mask and
//! body together. Fallback: tfhe-ntt's reduced multiply-accumulate on the same layout.

// pulp's `simd_type!` expands to the `unsafe` that enables target features after runtime
// detection; this module uses it for the IFMA token and nothing else.
#![allow(unsafe_code)]

use pulp::cast;
use tfhe_ntt::prime64::Plan;

use crate::ntt::ServerPrime;

/// Coefficients per tile: two AVX-512 vectors.
pub(crate) const LANES: usize = 16;

pulp::simd_type! {
    /// AVX-512 with the 52-bit integer fused multiply-add (IFMA) extension.
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
    }
}

/// Puts `dim` polynomials of `n` coefficients (feature-major) into the tiled layout, tiles in
/// parallel.
pub(crate) fn interleave(polys: &[u64], dim: usize, n: usize, out: &mut [u64]) {
    use rayon::prelude::*;
    out.par_chunks_exact_mut(dim * LANES)
        .enumerate()
        .for_each(|(t, tile)| {
            for (i, lanes) in tile.chunks_exact_mut(LANES).enumerate() {
                lanes.copy_from_slice(&polys[i * n + t * LANES..i * n + (t + 1) * LANES]);
            }
        });
}

/// Which implementation scores under `prime` on this CPU.
#[derive(Clone, Copy)]
pub(crate) enum Kernel {
    Lazy(Ifma, Reducer),
    Reduced(&'static Plan),
}

impl Kernel {
    pub(crate) fn for_prime(prime: ServerPrime) -> Self {
        match (prime, Ifma::try_new()) {
            (ServerPrime::Ifma50, Some(simd)) => Kernel::Lazy(simd, Reducer::new(prime.modulus())),
            _ => Kernel::Reduced(prime.plan()),
        }
    }

    /// Accumulates the query against each block of `blocks` (tiled layout, `dim * n` values
    /// each) into `acc` (per block: mask then body, `2 n` values, natural transform order,
    /// reduced mod q).
    pub(crate) fn run(self, query: &[u64], blocks: &[u64], dim: usize, n: usize, acc: &mut [u64]) {
        match self {
            Kernel::Lazy(simd, reducer) => lazy(simd, reducer, query, blocks, dim, n, acc),
            Kernel::Reduced(plan) => reduced(plan, query, blocks, dim, n, acc),
        }
    }
}

fn reduced(plan: &Plan, query: &[u64], blocks: &[u64], dim: usize, n: usize, acc: &mut [u64]) {
    acc.fill(0);
    for (block, acc) in blocks
        .chunks_exact(dim * n)
        .zip(acc.chunks_exact_mut(2 * n))
    {
        let (acc_mask, acc_body) = acc.split_at_mut(n);
        for (t, (v_tile, q_tile)) in block
            .chunks_exact(dim * LANES)
            .zip(query.chunks_exact(2 * dim * LANES))
            .enumerate()
        {
            let range = t * LANES..(t + 1) * LANES;
            for (v, q) in v_tile
                .chunks_exact(LANES)
                .zip(q_tile.chunks_exact(2 * LANES))
            {
                plan.mul_accumulate(&mut acc_mask[range.clone()], &q[..LANES], v);
                plan.mul_accumulate(&mut acc_body[range.clone()], &q[LANES..], v);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn lazy(
    simd: Ifma,
    reducer: Reducer,
    query: &[u64],
    blocks: &[u64],
    dim: usize,
    n: usize,
    acc: &mut [u64],
) {
    simd.vectorize(
        #[inline(always)]
        || {
            let tiles = n / LANES;
            let zero = simd.avx512f._mm512_setzero_si512();
            let mut sums = [[0u64; 8]; 8];
            for t in 0..tiles {
                let q_tile =
                    pulp::as_arrays::<8, _>(&query[t * 2 * dim * LANES..(t + 1) * 2 * dim * LANES])
                        .0;
                for (b, acc) in acc.chunks_exact_mut(2 * n).enumerate() {
                    let block = &blocks[b * dim * n..(b + 1) * dim * n];
                    let v_tile =
                        pulp::as_arrays::<8, _>(&block[t * dim * LANES..(t + 1) * dim * LANES]).0;
                    // mask lo/hi and body lo/hi, for each of the two vectors of the tile
                    let mut s = [zero; 8];
                    for (v, q) in v_tile.chunks_exact(2).zip(q_tile.chunks_exact(4)) {
                        let (v0, v1) = (cast(v[0]), cast(v[1]));
                        let (m0, m1, b0, b1) = (cast(q[0]), cast(q[1]), cast(q[2]), cast(q[3]));
                        let f = simd.avx512ifma;
                        s[0] = f._mm512_madd52lo_epu64(s[0], m0, v0);
                        s[1] = f._mm512_madd52hi_epu64(s[1], m0, v0);
                        s[2] = f._mm512_madd52lo_epu64(s[2], m1, v1);
                        s[3] = f._mm512_madd52hi_epu64(s[3], m1, v1);
                        s[4] = f._mm512_madd52lo_epu64(s[4], b0, v0);
                        s[5] = f._mm512_madd52hi_epu64(s[5], b0, v0);
                        s[6] = f._mm512_madd52lo_epu64(s[6], b1, v1);
                        s[7] = f._mm512_madd52hi_epu64(s[7], b1, v1);
                    }
                    for (out, v) in sums.iter_mut().zip(s) {
                        *out = cast::<_, [u64; 8]>(v);
                    }
                    let (acc_mask, acc_body) = acc.split_at_mut(n);
                    let base = t * LANES;
                    for k in 0..8 {
                        acc_mask[base + k] = reducer.reduce(sums[1][k], sums[0][k]);
                        acc_mask[base + 8 + k] = reducer.reduce(sums[3][k], sums[2][k]);
                        acc_body[base + k] = reducer.reduce(sums[5][k], sums[4][k]);
                        acc_body[base + 8 + k] = reducer.reduce(sums[7][k], sums[6][k]);
                    }
                }
            }
        },
    )
}

/// Exact reduction of `hi * 2^52 + lo` modulo q, for `hi, lo < 2^63`.
#[derive(Clone, Copy)]
pub(crate) struct Reducer {
    q: u64,
    /// floor(2^64 / q), for Barrett reduction of a u64.
    barrett: u64,
    /// 2^52 mod q, and its Shoup companion floor(c * 2^64 / q).
    c52: u64,
    c52_shoup: u64,
}

impl Reducer {
    pub(crate) fn new(q: u64) -> Self {
        let c52 = ((1u128 << 52) % q as u128) as u64;
        Self {
            q,
            barrett: ((1u128 << 64) / q as u128) as u64,
            c52,
            c52_shoup: (((c52 as u128) << 64) / q as u128) as u64,
        }
    }

    /// `x mod q` for any u64 `x`.
    #[inline(always)]
    fn reduce_u64(&self, x: u64) -> u64 {
        let quotient = ((x as u128 * self.barrett as u128) >> 64) as u64;
        let mut r = x.wrapping_sub(quotient.wrapping_mul(self.q));
        while r >= self.q {
            r -= self.q;
        }
        r
    }

    /// `(hi * 2^52 + lo) mod q`.
    #[inline(always)]
    pub(crate) fn reduce(&self, hi: u64, lo: u64) -> u64 {
        let h = self.reduce_u64(hi);
        // Shoup: h * c52 mod q, in [0, 2q)
        let estimate = ((h as u128 * self.c52_shoup as u128) >> 64) as u64;
        let mut t = h
            .wrapping_mul(self.c52)
            .wrapping_sub(estimate.wrapping_mul(self.q));
        if t >= self.q {
            t -= self.q;
        }
        let sum = t + self.reduce_u64(lo);
        if sum >= self.q {
            sum - self.q
        } else {
            sum
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn reduction_is_exact(hi in 0u64..(1 << 63), lo in 0u64..(1 << 63)) {
            for prime in crate::ntt::SERVER_PRIMES {
                let q = prime.modulus();
                let expected = (((hi as u128) << 52) + lo as u128) % q as u128;
                prop_assert_eq!(Reducer::new(q).reduce(hi, lo) as u128, expected);
            }
        }
    }

    #[test]
    fn both_kernels_agree_with_a_direct_computation() {
        let (dim, n, blocks) = (5usize, 64usize, 3usize);
        for prime in crate::ntt::SERVER_PRIMES {
            let q = prime.modulus();
            let value = |i: usize| ((i as u128 * 0x9E37_79B9_7F4A_7C15u128) % q as u128) as u64;
            let catalog: Vec<u64> = (0..blocks * dim * n).map(|i| value(i + 1)).collect();
            let query: Vec<u64> = (0..2 * dim * n).map(|i| value(i + 7_777)).collect();
            let mut expected = vec![0u64; blocks * 2 * n];
            for b in 0..blocks {
                for t in 0..n / LANES {
                    for i in 0..dim {
                        for l in 0..LANES {
                            let v = catalog[b * dim * n + (t * dim + i) * LANES + l] as u128;
                            let m = query[(t * dim + i) * 2 * LANES + l] as u128;
                            let body = query[(t * dim + i) * 2 * LANES + LANES + l] as u128;
                            let k = t * LANES + l;
                            let e = &mut expected[b * 2 * n..];
                            e[k] = ((e[k] as u128 + m * v % q as u128) % q as u128) as u64;
                            e[n + k] =
                                ((e[n + k] as u128 + body * v % q as u128) % q as u128) as u64;
                        }
                    }
                }
            }
            let mut acc = vec![0u64; blocks * 2 * n];
            Kernel::for_prime(prime).run(&query, &catalog, dim, n, &mut acc);
            assert_eq!(acc, expected, "{prime:?}");
            let mut acc = vec![0u64; blocks * 2 * n];
            Kernel::Reduced(prime.plan()).run(&query, &catalog, dim, n, &mut acc);
            assert_eq!(acc, expected, "{prime:?} reduced");
        }
    }
}
