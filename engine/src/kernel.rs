//! The scoring kernel: the multiply-accumulate of a batch of queries against a superblock of
//! the catalog in the transform domain, where it is point-wise.
//!
//! Layout: coefficients are interleaved in tiles of [`LANES`]. A catalog superblock (up to
//! [`superblock_cap`] blocks of N items) is `[tile][block][feature][LANES]`, so scoring reads the
//! catalog strictly sequentially (hardware prefetchers stream it), and a slot of two queries'
//! bodies is `[tile][feature][first LANES | second LANES]` ([`pair`]), so a slot's tile is reused
//! from L1 for every block of the superblock. Each catalog tile is reused from L2 by every slot
//! of a batch: concurrent queries share one pass over the catalog, the part of the work that is
//! bound by memory.
//!
//! The multiply-accumulate is register-blocked: two slots against two blocks per catalog and
//! slot load, 16 accumulators.
//!
//! Four kernels compute on this layout ([`Kernel`]): the portable one (here [`reduced`],
//! tfhe-ntt's reduced multiply-accumulate, on every CPU and under every modulus; under `crt54`
//! the lazy sums of [`crate::crt`]), and the lazy-reduction kernels: under `ifma50` those of
//! [`crate::ifma`] (AVX-512 IFMA) and of [`crate::split`] (AVX2 and NEON, on 25-bit halves),
//! under `crt54` those of [`crate::crt`] (AVX2 and NEON, on residues).

use std::fmt;
use std::str::FromStr;

use aligned_vec::{AVec, ConstAlign};
use veilrank_core::ntt::{Plan, ServerPrime};
use veilrank_core::{Error, Result};

/// A scoring kernel: its arithmetic and the catalog storage that goes with it. The server picks
/// the fastest one this CPU runs for the catalog's modulus ([`Kernel::best`]); a provider may ask
/// for another (to compare them side by side on one machine, or to rule one out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kernel {
    /// AVX-512 IFMA: 52-bit products summed lazily, 7 bytes per value (x86-64).
    Ifma,
    /// AVX2: 32-bit products, summed lazily, 8 bytes per value: of residues under `crt54`, of
    /// 25-bit halves (Karatsuba) under `ifma50`.
    Avx2,
    /// NEON: the AVX2 kernel's arithmetic on aarch64.
    Neon,
    /// Every CPU, every modulus, 8 bytes per value: lazy sums of residues in plain Rust under
    /// `crt54`, tfhe-ntt's reduced multiply-accumulate under the primes.
    Portable,
}

impl Kernel {
    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 4] = [Kernel::Ifma, Kernel::Avx2, Kernel::Neon, Kernel::Portable];

    /// The name flags, logs and the harness use.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Ifma => "ifma",
            Kernel::Avx2 => "avx2",
            Kernel::Neon => "neon",
            Kernel::Portable => "portable",
        }
    }

    /// Whether this CPU has the instructions the kernel needs.
    #[must_use]
    pub fn runs_here(self) -> bool {
        match self {
            Kernel::Ifma => cfg!(target_arch = "x86_64") && ifma_here(),
            Kernel::Avx2 => cfg!(target_arch = "x86_64") && avx2_here(),
            Kernel::Neon => cfg!(target_arch = "aarch64") && neon_here(),
            Kernel::Portable => true,
        }
    }

    /// Whether the kernel computes under `prime`: the IFMA kernel's bounds hold for `ifma50`
    /// (below 2^51) only, the split kernels' for `ifma50` and `crt54`.
    #[must_use]
    pub fn covers(self, prime: ServerPrime) -> bool {
        match self {
            Kernel::Ifma => prime == ServerPrime::Ifma50,
            Kernel::Avx2 | Kernel::Neon => prime != ServerPrime::Wide62,
            Kernel::Portable => true,
        }
    }

    /// The moduli in the order this kernel computes fastest under: `ifma50` first for IFMA's
    /// 52-bit products, `crt54` first for every kernel whose products are 32-bit (measured side
    /// by side, README).
    #[must_use]
    pub fn moduli(self) -> [ServerPrime; 3] {
        match self {
            Kernel::Ifma => veilrank_core::ntt::SERVER_PRIMES,
            _ => [ServerPrime::Crt54, ServerPrime::Ifma50, ServerPrime::Wide62],
        }
    }

    /// The fastest kernel this CPU runs, whatever the modulus.
    #[must_use]
    pub fn fastest_here() -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.runs_here())
            .unwrap_or(Kernel::Portable)
    }

    /// The fastest kernel this CPU runs for the modulus `prime`.
    #[must_use]
    pub fn best(prime: ServerPrime) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.runs_here() && k.covers(prime))
            .unwrap_or(Kernel::Portable)
    }

    /// `Ok` where the kernel runs here and covers `prime`, else an error that says which not.
    pub fn check(self, prime: ServerPrime) -> Result<()> {
        if !self.runs_here() {
            return Err(Error::KernelUnavailable {
                kernel: self.name(),
                reason: "this CPU lacks its instructions".into(),
            });
        }
        if !self.covers(prime) {
            return Err(Error::KernelUnavailable {
                kernel: self.name(),
                reason: format!("it does not compute under the modulus {}", prime.name()),
            });
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
fn ifma_here() -> bool {
    crate::ifma::Ifma::try_new().is_some()
}

#[cfg(target_arch = "x86_64")]
fn avx2_here() -> bool {
    crate::split::avx2::Avx2::try_new().is_some()
}

#[cfg(target_arch = "aarch64")]
fn neon_here() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

#[cfg(not(target_arch = "x86_64"))]
fn ifma_here() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_here() -> bool {
    false
}

#[cfg(not(target_arch = "aarch64"))]
fn neon_here() -> bool {
    false
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown kernel {s:?}: one of ifma, avx2, neon, portable"))
    }
}

/// Coefficients per tile: one AVX-512 vector, so that each load is a whole cache line and the
/// tiles of a register block are contiguous.
pub(crate) const LANES: usize = 8;

/// What a micro-kernel call prefetches of the catalog, the same three cases for every lazy
/// kernel (each kernel picks its distances).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prefetch {
    None,
    /// The first pass over a tile: its own catalog, a little ahead of use, into L1.
    Ahead,
    /// A later pass: the next tile's catalog into L2, so that memory streams it while the
    /// later passes compute from cache, instead of the first pass of each tile waiting on it
    /// (and without evicting the batch's slots from L1).
    NextTile,
}

/// A buffer the kernel loads whole vectors from: aligned to a cache line, so that no load of a
/// tile straddles two lines. Unaligned (as the allocator hands out large blocks, 16 bytes past a
/// page) every load is split: in a throwaway probe with its data in L1/L2 the multiply-accumulate
/// ran 1.7x slower.
pub(crate) type Tiles = AVec<u64, ConstAlign<64>>;

/// `len` zeros in a [`Tiles`] buffer.
pub(crate) fn tiles(len: usize) -> Tiles {
    aligned_vec::avec![[64]| 0u64; len]
}

/// Bytes of one tile of a superblock (all its blocks, all features) that L2 holds beside the
/// tiles of a batch of queries and the next tile, prefetched. Measured on the 1M x 64 pass with
/// batches of 8 (`--example batch`, side by side): 64 KB (16 blocks at d = 64) beat 128 KB by
/// 15% and 256 KB by 50%; 32 KB was level with 64 KB. Counted at 8 bytes per value, so both
/// stores cut the same superblocks; a packed tile is 7/8 of it (re-measured after packing:
/// 128 KB was still 25% slower, 32 KB level).
const SUPERBLOCK_TILE_BYTES: usize = 64 << 10;

/// Most blocks of N items in one superblock of `dim` features. A slot's tile is loaded once per
/// superblock and reused for each of its blocks, so the larger the superblock the less slot
/// traffic (at d = 64 a batch of 8 queries, 4 slots, reads 8 MB of slots per superblock),
/// until the superblock's tiles crowd L2.
pub(crate) fn superblock_cap(dim: usize) -> usize {
    (SUPERBLOCK_TILE_BYTES / (dim * LANES * 8)).max(1)
}

/// One kernel slot: the bodies of two queries (`first`, and `second` or zeros), each `dim`
/// polynomials of `n` transform-domain coefficients (feature-major), interleaved into the
/// kernel's layout `[tile][feature][first LANES | second LANES]`, tiles in parallel. The kernel
/// computes both halves alike, so two queries of a batch share every catalog load and every
/// accumulator row.
pub(crate) fn pair(first: &[u64], second: Option<&[u64]>, dim: usize, n: usize) -> Tiles {
    use rayon::prelude::*;
    debug_assert_eq!(first.len(), dim * n);
    debug_assert!(second.is_none_or(|s| s.len() == dim * n));
    let mut out = tiles(dim * 2 * n);
    out.par_chunks_exact_mut(dim * 2 * LANES)
        .enumerate()
        .for_each(|(t, tile)| {
            for (i, row) in tile.chunks_exact_mut(2 * LANES).enumerate() {
                let (a, b) = row.split_at_mut(LANES);
                let at = i * n + t * LANES;
                a.copy_from_slice(&first[at..][..LANES]);
                if let Some(second) = second {
                    b.copy_from_slice(&second[at..][..LANES]);
                }
            }
        });
    out
}

/// Where the accumulators of slot `j`, tile `t` and block `k` start. The kernel's output is
/// `[slot][tile][block][first LANES | second LANES]`: each slot's results of a tile are one
/// sequential run, a store stream per slot. Stored per query and block instead, every tile
/// wrote one line into each of `2 * batch * blocks` rows 16 KB apart, more streams than the
/// hardware tracks, and the stores missed: in a throwaway single-thread probe of the kernel alone,
/// batches of 8 over 16-block superblocks ran 9% faster this way (32 blocks: 23%).
#[inline(always)]
pub(crate) fn acc_row(shape: Shape, j: usize, t: usize, k: usize) -> usize {
    ((j * (shape.n / LANES) + t) * shape.blocks + k) * 2 * LANES
}

/// One query's result for one block where the kernel left it ([`acc_row`]): its `n` values a
/// tile at a time, for the pass to finish without copying every slot's blocks out first (a
/// copy of the whole batch's results: 6% of a batched `crt54` pass in a profile).
#[derive(Clone, Copy)]
pub(crate) struct Tiled<'a> {
    pub(crate) acc: &'a [u64],
    pub(crate) shape: Shape,
    /// The slot, the block within the superblock, and the query within the slot (0 or 1).
    pub(crate) slot: usize,
    pub(crate) block: usize,
    pub(crate) half: usize,
}

impl<'a> Tiled<'a> {
    /// Its tiles in natural transform order, [`LANES`] values each.
    pub(crate) fn tiles(self) -> impl Iterator<Item = &'a [u64]> {
        (0..self.shape.n / LANES).map(move |t| {
            &self.acc[acc_row(self.shape, self.slot, t, self.block) + self.half * LANES..][..LANES]
        })
    }

    /// Its `n` values in natural transform order.
    pub(crate) fn to_vec(self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.shape.n);
        self.tiles().for_each(|tile| out.extend_from_slice(tile));
        out
    }
}

/// Slot `j`'s results out of the kernel's accumulators ([`acc_row`]) into `out`: per block,
/// the `n` values of its first query then the `n` of its second, in natural transform order.
/// `acc` is read in order.
#[cfg(test)]
pub(crate) fn untile(acc: &[u64], shape: Shape, j: usize, out: &mut [u64]) {
    let Shape { blocks, n, .. } = shape;
    debug_assert_eq!(out.len(), blocks * 2 * n);
    for t in 0..n / LANES {
        let rows = &acc[acc_row(shape, j, t, 0)..][..blocks * 2 * LANES];
        for (row, block) in rows
            .chunks_exact(2 * LANES)
            .zip(out.chunks_exact_mut(2 * n))
        {
            let (first, second) = block.split_at_mut(n);
            first[t * LANES..][..LANES].copy_from_slice(&row[..LANES]);
            second[t * LANES..][..LANES].copy_from_slice(&row[LANES..]);
        }
    }
}

/// Sizes of one kernel call.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) blocks: usize,
    pub(crate) dim: usize,
    pub(crate) n: usize,
}

/// tfhe-ntt's reduced multiply-accumulate on whole-word tiles, for primes and CPUs the IFMA
/// kernel does not cover: every slot against each block of a superblock into `acc`, in the
/// layout of [`acc_row`] ([`untile`] takes a slot's blocks out of it).
pub(crate) fn reduced(
    plan: &Plan,
    queries: &[&[u64]],
    superblock: &[u64],
    shape: Shape,
    acc: &mut [u64],
) {
    let Shape { blocks, dim, n } = shape;
    acc.fill(0);
    for t in 0..n / LANES {
        for k in 0..blocks {
            let v_tile = &superblock[(t * blocks + k) * dim * LANES..][..dim * LANES];
            for (j, query) in queries.iter().enumerate() {
                let q_tile = &query[t * 2 * dim * LANES..][..2 * dim * LANES];
                let row = &mut acc[acc_row(shape, j, t, k)..][..2 * LANES];
                let (acc_first, acc_second) = row.split_at_mut(LANES);
                for (v, q) in v_tile
                    .chunks_exact(LANES)
                    .zip(q_tile.chunks_exact(2 * LANES))
                {
                    plan.mul_accumulate(acc_first, &q[..LANES], v);
                    plan.mul_accumulate(acc_second, &q[LANES..], v);
                }
            }
        }
    }
    // the hint must be canonical, and [`crate::switch`] expects values below `4q`
    plan.reduce_fully(acc);
}

/// Says, where a reader of `cargo test`'s output sees it (not captured like `println!`), that a
/// test of a SIMD path did not run because this CPU lacks `feature`: once per test and feature,
/// however many cases a property test runs.
#[cfg(test)]
pub(crate) fn skipped(test: &str, feature: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let line = format!("SKIPPED {test}: this CPU lacks {feature}; that path was not run here");
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.contains(&line) {
        let _ = writeln!(std::io::stderr(), "{line}");
        said.push(line);
    }
}
