//! The `crt54` kernels: residues modulo two primes below 2^27 ([`veilrank_core::ntt::crt`]), one
//! 32 x 32 -> 64-bit multiply per residue product, summed lazily in 64-bit lanes.
//!
//! A transform-domain value is one word `r1 | r2 << 32`, in the catalog and in a slot alike (the
//! tiled layouts of [`crate::split`]): a 32-bit multiply of two words (AVX2's `vpmuludq`) gives
//! `r1 x1`, of the words shifted right by 32 `r2 x2`; NEON's `umlal` multiplies the two 32-bit
//! halves of a word at once. Over d <= 1024 features a sum stays below `1024 (2^27)^2 = 2^64`,
//! so each coefficient is reduced once, at the end. Two multiplies and two adds per item-feature
//! and query, where the 50-bit prime takes three of each and the splitting of every word.
//!
//! A register block takes two slots (four queries) against one block: each catalog load serves
//! four queries, where one slot at a time (the split kernels' order) measured 1.3-1.5x slower
//! per query at a batch of 8 (a throwaway probe, README).

use veilrank_core::ntt::crt::{word, P1, P2};

use crate::kernel::{acc_row, Prefetch, Shape, LANES};
use crate::split::{queries_in, MAX_DIM, PART};

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;

/// The call of a kernel's `micro::<A, B, P>` for a register block of two slots of `a` and `b`
/// queries (`b` = 0: one slot) and what it prefetches, all fixed at compile time.
macro_rules! crt_micro_for {
    ($micro:ident, $a:expr, $b:expr, $prefetch:expr, $($arg:expr),+) => {
        match ($a, $b, $prefetch) {
            (2, 2, Prefetch::None) => $micro::<2, 2, 0>($($arg),+),
            (2, 2, Prefetch::Ahead) => $micro::<2, 2, 1>($($arg),+),
            (2, 2, Prefetch::NextTile) => $micro::<2, 2, 2>($($arg),+),
            (2, 1, Prefetch::None) => $micro::<2, 1, 0>($($arg),+),
            (2, 1, Prefetch::Ahead) => $micro::<2, 1, 1>($($arg),+),
            (2, 1, Prefetch::NextTile) => $micro::<2, 1, 2>($($arg),+),
            (2, _, Prefetch::None) => $micro::<2, 0, 0>($($arg),+),
            (2, _, Prefetch::Ahead) => $micro::<2, 0, 1>($($arg),+),
            (2, _, Prefetch::NextTile) => $micro::<2, 0, 2>($($arg),+),
            (_, _, Prefetch::None) => $micro::<1, 0, 0>($($arg),+),
            (_, _, Prefetch::Ahead) => $micro::<1, 0, 1>($($arg),+),
            (_, _, Prefetch::NextTile) => $micro::<1, 0, 2>($($arg),+),
        }
    };
}
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) use crt_micro_for;

/// One slot as the `crt54` kernels read it: the split kernels' layout
/// (`[tile][feature][query][LANES]`), words as they are.
pub(crate) fn pair(
    first: &[u64],
    second: Option<&[u64]>,
    dim: usize,
    n: usize,
) -> crate::kernel::Tiles {
    crate::split::pair_with(first, second, dim, n, |w| w)
}

/// One register block's part of a superblock tile: the catalog tile of one block, one or two
/// slots' tiles with their query counts, and their output rows.
pub(crate) struct Block<'a> {
    pub(crate) catalog: &'a [u64],
    pub(crate) slots: [(&'a [u64], usize); 2],
    pub(crate) out: [&'a mut [u64]; 2],
}

impl<'a> Block<'a> {
    /// The block for a kernel instance of `A` and `B` queries, its shape checked: what the
    /// instance's unchecked loads rest on.
    pub(crate) fn checked<const A: usize, const B: usize>(self) -> Checked<'a, A, B> {
        let Block {
            catalog,
            slots: [(first, a), (second, b)],
            out,
        } = self;
        let rows = catalog.len() / LANES;
        assert!(a == A && b == B && (1..=2).contains(&A) && B <= 2);
        assert_eq!(catalog.len(), rows * LANES);
        assert_eq!(first.len(), A * rows * PART);
        assert_eq!(second.len(), B * rows * PART);
        assert_eq!(out[0].len(), 2 * LANES);
        assert!(B == 0 || out[1].len() == 2 * LANES);
        Checked {
            rows,
            catalog,
            first,
            second,
            out,
        }
    }
}

/// A [`Block`] whose shape fits a kernel instance of `A` and `B` queries.
pub(crate) struct Checked<'a, const A: usize, const B: usize> {
    /// Catalog rows (features), each [`LANES`] words.
    pub(crate) rows: usize,
    pub(crate) catalog: &'a [u64],
    first: &'a [u64],
    second: &'a [u64],
    out: [&'a mut [u64]; 2],
}

impl<const A: usize, const B: usize> Checked<'_, A, B> {
    /// Queries in the block.
    pub(crate) const QUERIES: usize = A + B;

    /// Where query `q`'s part of row `i` starts: [`PART`] words within its slot's tile for
    /// `q < A + B` and `i < rows`.
    #[inline(always)]
    pub(crate) fn query(&self, i: usize, q: usize) -> *const u64 {
        if q < A {
            self.first.as_ptr().wrapping_add((A * i + q) * PART)
        } else {
            self.second.as_ptr().wrapping_add((B * i + q - A) * PART)
        }
    }

    /// Query `q`'s output row: [`LANES`] words.
    #[inline(always)]
    pub(crate) fn out(&mut self, q: usize) -> &mut [u64] {
        let (slot, at) = if q < A { (0, q) } else { (1, q - A) };
        &mut self.out[slot][at * LANES..][..LANES]
    }

    /// Zeros the outputs of absent second queries, as a pass expects of a lone query's slot.
    #[inline(always)]
    pub(crate) fn finish(self) {
        let [first, second] = self.out;
        if A == 1 {
            first[LANES..].fill(0);
        }
        if B == 1 {
            second[LANES..].fill(0);
        }
    }
}

/// The loop every `crt54` kernel shares: per tile, per block of the superblock, per pair of
/// slots, `micro(block, what it prefetches)`, into `acc` in the layout of [`acc_row`].
///
/// The prefetches follow the split kernels' ([`crate::split::each_block`]), per pair of slots:
/// a lone pair its own tile a little ahead, in a batch the second pair the next block's tile.
pub(crate) fn each_block(
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
    mut micro: impl FnMut(Block<'_>, Prefetch),
) {
    let Shape { blocks, dim, n } = shape;
    assert!(dim <= MAX_DIM, "lazy sums of {dim} features could overflow");
    assert_eq!(superblock.len(), blocks * dim * n);
    assert_eq!(acc.len(), queries.len() * blocks * 2 * n);
    let counts: Vec<usize> = queries.iter().map(|q| queries_in(q, dim, n)).collect();
    let pairs = queries.len().div_ceil(2);
    let prefetch = |g: usize| match (pairs, g) {
        (1, 0) => Prefetch::Ahead,
        (2.., 1) => Prefetch::NextTile,
        _ => Prefetch::None,
    };
    let tile_of = |j: usize, t: usize| -> (&[u64], usize) {
        let count = counts[j];
        (
            &queries[j][t * dim * count * PART..][..dim * count * PART],
            count,
        )
    };
    for t in 0..n / LANES {
        for k in 0..blocks {
            let catalog = &superblock[(t * blocks + k) * dim * LANES..][..dim * LANES];
            for g in 0..pairs {
                let j = 2 * g;
                let first = tile_of(j, t);
                let (out, rest) = acc[acc_row(shape, j, t, k)..].split_at_mut(2 * LANES);
                let block = if j + 1 < queries.len() {
                    let at = acc_row(shape, j + 1, t, k) - acc_row(shape, j, t, k) - 2 * LANES;
                    Block {
                        catalog,
                        slots: [first, tile_of(j + 1, t)],
                        out: [out, &mut rest[at..][..2 * LANES]],
                    }
                } else {
                    Block {
                        catalog,
                        slots: [first, (&[], 0)],
                        out: [out, &mut []],
                    }
                };
                micro(block, prefetch(g));
            }
        }
    }
}

/// The portable `crt54` kernel: [`each_block`] in plain Rust, for CPUs without a vector
/// kernel, and the reference the vector kernels are tested against.
pub(crate) fn portable(queries: &[&[u64]], superblock: &[u64], shape: Shape, acc: &mut [u64]) {
    each_block(queries, superblock, shape, acc, |block, _| {
        let rows = block.catalog.len() / LANES;
        for ((slot, count), out) in block.slots.into_iter().zip(block.out) {
            if count == 0 {
                continue;
            }
            out.fill(0);
            for query in 0..count {
                let mut sums = [(0u64, 0u64); LANES];
                for i in 0..rows {
                    let row = &block.catalog[i * LANES..][..LANES];
                    let x = &slot[(count * i + query) * PART..][..PART];
                    for ((s, &v), &x) in sums.iter_mut().zip(row).zip(x) {
                        s.0 += (v & 0xffff_ffff) * (x & 0xffff_ffff);
                        s.1 += (v >> 32) * (x >> 32);
                    }
                }
                for (o, (s1, s2)) in out[query * LANES..][..LANES].iter_mut().zip(sums) {
                    *o = reduce(s1, s2);
                }
            }
        }
    });
}

/// The word of two lazy sums, each reduced by its prime.
#[inline]
pub(crate) fn reduce(s1: u64, s2: u64) -> u64 {
    word((s1 % u64::from(P1)) as u32, (s2 % u64::from(P2)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use veilrank_core::ntt::crt::{combine, split, MODULUS};

    #[test]
    fn the_widest_lazy_sums_fit_and_reduce() {
        for p in [P1, P2] {
            let top = u128::from(p - 1);
            assert!(top * top * MAX_DIM as u128 <= u128::from(u64::MAX));
        }
        let top = word(P1 - 1, P2 - 1);
        let sum = |v: u64| v * MAX_DIM as u64;
        let (r1, r2) = ((P1 as u64 - 1).pow(2), (P2 as u64 - 1).pow(2));
        let got = reduce(sum(r1), sum(r2));
        // the sum of 1024 products (q - 1)^2 = 1024 mod Q, as a word
        assert_eq!(combine(got), (MAX_DIM as u128 % u128::from(MODULUS)) as u64);
        assert_eq!(split(combine(top)), top);
    }
}
