//! The split kernels: `ifma50` arithmetic for CPUs whose widest multiply is 32 x 32 -> 64 bits
//! (AVX2's `vpmuludq`, NEON's `umlal`).
//!
//! Every value below q < 2^50.41 is cut in halves `v = v1 2^25 + v0` (`v0 < 2^25`,
//! `v1 < 2^25.41`). A product `v x = v1 x1 2^50 + (v0 x1 + v1 x0) 2^25 + v0 x0` takes three
//! 32-bit multiplies (Karatsuba: the middle term is `(v0 + v1)(x0 + x1) - v0 x0 - v1 x1`), and
//! over d <= 1024 features the three sums stay below 2^63 in 64-bit lanes, so each coefficient is
//! reduced once, at the end, as the IFMA kernel does (in vector lanes on AVX2). Three multiplies
//! and three adds per four item-features and query, where tfhe-ntt's reduced multiply-accumulate
//! needs a full 64 x 64-bit product and its reduction per value.
//!
//! The catalog is stored one word per value, `v0 | v1 << 32` ([`encode`]): a 32-bit multiply of
//! the word reads `v0`, of the word shifted right by 32 `v1`, and of their sum `v0 + v1`. 8 bytes
//! per value, in the tiled layout of [`crate::kernel`]. A slot holds its queries' values in the
//! same one-word form ([`pair`]): a slot is re-read for every block of a superblock, and a batch's
//! slots must stay in L1 beside the block's catalog tile, where a slot of three words per value
//! (`x0`, `x1`, `x0 + x1`) spilled to L2 and cost more than the shift and the add it saved.

use rayon::prelude::*;
use veilrank_core::ntt::ServerPrime;

use crate::kernel::{self, acc_row, Prefetch, Shape, Tiles, LANES};

/// The call of a kernel's `micro::<Q, P>` for a slot of `count` queries and what it prefetches
/// ([`Prefetch`]; `P`: 0 nothing, 1 ahead, 2 the next tile), both fixed at compile time.
macro_rules! micro_for {
    ($micro:ident, $count:expr, $prefetch:expr, $($arg:expr),+) => {
        match ($count, $prefetch) {
            (2, Prefetch::None) => $micro::<2, 0>($($arg),+),
            (2, Prefetch::Ahead) => $micro::<2, 1>($($arg),+),
            (2, Prefetch::NextTile) => $micro::<2, 2>($($arg),+),
            (_, Prefetch::None) => $micro::<1, 0>($($arg),+),
            (_, Prefetch::Ahead) => $micro::<1, 1>($($arg),+),
            (_, Prefetch::NextTile) => $micro::<1, 2>($($arg),+),
        }
    };
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;

/// How far ahead of the multiply-accumulate a lone slot prefetches the catalog, in words.
/// Measured on the 1M x 64 pass (README, per CPU family): 1 KB to 16 KB ahead were level within
/// the noise, and faster than none.
pub(crate) const PREFETCH_AHEAD: usize = 256;

/// Bits of the low half.
const HALF: u32 = 25;
const LOW: u64 = (1 << HALF) - 1;
/// The one prime the split kernels compute under.
const Q: u64 = ServerPrime::Ifma50.modulus();
#[cfg(any(test, target_arch = "aarch64"))]
const LOW52: u128 = (1 << 52) - 1;
/// `2^52 mod q`, small for `ifma50` (53245): the reduction folds with it.
const C: u64 = (1u64 << 52) % Q;

/// Most features a lazy sum may hold: `1024 (2^26.3)^2 < 2^63`, the largest middle sum.
pub(crate) const MAX_DIM: usize = 1024;

/// Words of one query's part of a slot row: one tile of one feature, [`encode`]d.
pub(crate) const PART: usize = LANES;

/// How many queries a slot holds (1 or 2), from its length: a slot of one query is half as
/// long, so that the kernels compute nothing for a second query that is not there.
pub(crate) fn queries_in(slot: &[u64], dim: usize, n: usize) -> usize {
    let queries = slot.len() / (n / LANES * dim * PART);
    debug_assert!(
        queries == 1 || queries == 2,
        "a slot of {} words",
        slot.len()
    );
    queries
}

/// A value below q as the catalog stores it.
#[inline]
pub(crate) fn encode(v: u64) -> u64 {
    debug_assert!(v < Q);
    (v & LOW) | ((v >> HALF) << 32)
}

/// One slot (one or two queries' bodies, each `dim` polynomials of `n` transform-domain values
/// below q, feature-major) in the split kernels' layout
/// `[tile][feature][query][LANES]`, each value [`encode`]d, tiles in parallel.
pub(crate) fn pair(first: &[u64], second: Option<&[u64]>, dim: usize, n: usize) -> Tiles {
    pair_with(first, second, dim, n, encode)
}

/// [`pair`] with each value `encode`d as given (the `crt54` kernels keep words as they are).
pub(crate) fn pair_with(
    first: &[u64],
    second: Option<&[u64]>,
    dim: usize,
    n: usize,
    encode: impl Fn(u64) -> u64 + Sync,
) -> Tiles {
    debug_assert_eq!(first.len(), dim * n);
    debug_assert!(second.is_none_or(|s| s.len() == dim * n));
    let queries: Vec<&[u64]> = std::iter::once(first).chain(second).collect();
    let row_words = queries.len() * PART;
    let mut out = kernel::tiles(n / LANES * dim * row_words);
    out.par_chunks_exact_mut(dim * row_words)
        .enumerate()
        .for_each(|(t, tile)| {
            for (i, row) in tile.chunks_exact_mut(row_words).enumerate() {
                let at = i * n + t * LANES;
                for (query, part) in queries.iter().zip(row.chunks_exact_mut(PART)) {
                    for (word, &x) in part.iter_mut().zip(&query[at..][..LANES]) {
                        *word = encode(x);
                    }
                }
            }
        });
    out
}

/// The loop both split kernels share: every slot against each block of a superblock (split
/// words, `[tile][block][feature][LANES]`), `micro(queries in the slot, what it prefetches,
/// catalog tile, slot tile, output row)` per block and slot, into `acc` in the layout of
/// [`acc_row`].
///
/// A block's catalog tile is read from memory once and from L1 by the other slots; each slot's
/// tile is reused from L1 or L2 across the superblock's blocks. One slot prefetches
/// ([`Prefetch`]): a lone slot its own tile; in a batch of several, the second slot the next
/// block's whole tile (tiles follow each other in memory), so that the stream from memory
/// overlaps the later slots' arithmetic instead of stalling the first (measured, README). The
/// IFMA kernel's order (each slot against every block) measured worse on AVX2 in a throwaway
/// variant: it loads the catalog once per slot.
pub(crate) fn each_block(
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
    mut micro: impl FnMut(usize, Prefetch, &[u64], &[u64], &mut [u64]),
) {
    let Shape { blocks, dim, n } = shape;
    assert!(dim <= MAX_DIM, "lazy sums of {dim} features could overflow");
    assert_eq!(superblock.len(), blocks * dim * n);
    let counts: Vec<usize> = queries.iter().map(|q| queries_in(q, dim, n)).collect();
    let prefetch = |j: usize| match (queries.len(), j) {
        (1, 0) => Prefetch::Ahead,
        (2.., 1) => Prefetch::NextTile,
        _ => Prefetch::None,
    };
    for t in 0..n / LANES {
        for k in 0..blocks {
            let catalog = &superblock[(t * blocks + k) * dim * LANES..][..dim * LANES];
            for (j, (query, &count)) in queries.iter().zip(&counts).enumerate() {
                let slot = &query[t * dim * count * PART..][..dim * count * PART];
                let out = &mut acc[acc_row(shape, j, t, k)..][..2 * LANES];
                micro(count, prefetch(j), catalog, slot, out);
            }
        }
    }
}

/// The value mod q of the lazy sums of one coefficient: `low = sum v0 x0`, `high = sum v1 x1`
/// and `sum = sum (v0 + v1)(x0 + x1)` over at most [`MAX_DIM`] features.
///
/// `x = low + (sum - low - high) 2^25 + high 2^50 < 2^112` folds twice with `2^52 = c (mod q)`:
/// below `2^52 + 2^76`, then below `2^52 + 2^41`, and one remainder by the constant q (a multiply,
/// not a division) ends it.
///
/// The NEON kernel's reduction, and the reference the AVX2 kernel's vector reduction is tested
/// against.
#[cfg(any(test, target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn reduce(low: u64, high: u64, sum: u64) -> u64 {
    let middle = sum - low - high;
    let x = u128::from(low) + (u128::from(middle) << HALF) + (u128::from(high) << (2 * HALF));
    let y = (x & LOW52) + (x >> 52) * u128::from(C);
    let z = (y & LOW52) as u64 + (y >> 52) as u64 * C;
    z % Q
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The halves of every value and the lazy sums of the widest catalogs.
    #[test]
    fn the_bounds_hold_for_the_largest_values() {
        let top = Q - 1;
        let (v0, v1) = (top & LOW, top >> HALF);
        assert_eq!(encode(top), v0 | v1 << 32);
        assert!(v0 + v1 < 1 << 32, "the sum of halves fits a 32-bit lane");
        let largest = |a: u64, b: u64| u128::from(a) * u128::from(b) * MAX_DIM as u128;
        let worst_half = LOW.max(v1);
        assert!(largest(worst_half, worst_half) < 1 << 64);
        assert!(largest(LOW + v1, LOW + v1) < 1 << 63);
        assert_eq!(C, 53245);
    }

    /// The lazy sums of `dim` products of `(v, x)` pairs, as a kernel accumulates them.
    pub(super) fn sums(pairs: &[(u64, u64)]) -> (u64, u64, u64) {
        pairs.iter().fold((0, 0, 0), |(l, h, s), &(v, x)| {
            let (v0, v1, x0, x1) = (v & LOW, v >> HALF, x & LOW, x >> HALF);
            (l + v0 * x0, h + v1 * x1, s + (v0 + v1) * (x0 + x1))
        })
    }

    fn expected(pairs: &[(u64, u64)]) -> u64 {
        let q = u128::from(Q);
        (pairs
            .iter()
            .map(|&(v, x)| u128::from(v) * u128::from(x) % q)
            .sum::<u128>()
            % q) as u64
    }

    #[test]
    fn worst_case_sums_reduce_exactly() {
        // q - 1, the largest high half alone, the largest low half alone, the largest sum of halves
        let largest_sum = ((((Q - 1) >> HALF) - 1) << HALF) | LOW;
        for top in [Q - 1, (Q - 1) & !LOW, LOW, largest_sum] {
            for dim in [1, 2, 64, MAX_DIM] {
                let pairs = vec![(top, top); dim];
                let (l, h, s) = sums(&pairs);
                assert_eq!(reduce(l, h, s), expected(&pairs), "{top:#x}, d = {dim}");
            }
        }
    }

    proptest! {
        #[test]
        fn the_split_product_is_exact(
            pairs in prop::collection::vec((0..Q, 0..Q), 1..=MAX_DIM),
        ) {
            let (l, h, s) = sums(&pairs);
            prop_assert_eq!(reduce(l, h, s), expected(&pairs));
        }
    }

    #[test]
    fn a_slot_holds_each_value_split_in_one_word() {
        let (dim, n) = (3usize, 16usize);
        let first: Vec<u64> = (0..(dim * n) as u64).map(|i| Q - 1 - i * 977).collect();
        let second: Vec<u64> = (0..(dim * n) as u64).map(|i| i * 1_000_003).collect();
        let both: [&[u64]; 2] = [&first, &second];
        for queries in [1, 2] {
            let slot = pair(&first, (queries == 2).then_some(&second[..]), dim, n);
            assert_eq!(queries_in(&slot, dim, n), queries);
            for (query, values) in both[..queries].iter().enumerate() {
                for i in 0..dim {
                    for x in 0..n {
                        let (t, l) = (x / LANES, x % LANES);
                        let row = (t * dim + i) * queries * PART + query * PART + l;
                        let v = values[i * n + x];
                        assert_eq!(slot[row] & u64::from(u32::MAX), v & LOW);
                        assert_eq!(slot[row] >> 32, v >> HALF);
                    }
                }
            }
        }
    }
}
