//! The prepared catalog's memory, in the layout of the kernel that scores it.
//!
//! Under `ifma50` on a CPU with IFMA and VBMI, values are packed in 7 bytes
//! ([`kernel::PACKED_VALUE_BYTES`]); otherwise (the 62-bit prime, or an older CPU) they are whole
//! words for tfhe-ntt's multiply-accumulate. Either way the order is the kernel's tiled order,
//! per superblock `[tile][block][feature][LANES]`. The kernel travels with its storage, so a
//! superblock is always read by the code that wrote it.

#[cfg(target_arch = "x86_64")]
use aligned_vec::{AVec, ConstAlign};
use tfhe_ntt::prime64::Plan;

#[cfg(target_arch = "x86_64")]
use crate::ifma::{self, Ifma, VecReducer, PACKED_ROW, PACKED_VALUE_BYTES};
use crate::kernel::{self, Shape, Tiles, LANES};
use veilrank_core::ntt::ServerPrime;

/// The transform-domain catalog.
pub(crate) enum Store {
    /// For the IFMA kernel: 7 bytes per value.
    #[cfg(target_arch = "x86_64")]
    Packed {
        simd: Ifma,
        reducer: VecReducer,
        bytes: AVec<u8, ConstAlign<64>>,
    },
    /// For tfhe-ntt's reduced multiply-accumulate: 8 bytes per value.
    Wide { plan: &'static Plan, words: Tiles },
}

impl Store {
    /// Room for `values` values, for the fastest kernel of `prime` on this CPU.
    pub(crate) fn for_prime(prime: ServerPrime, values: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let (Some(simd), Some(reducer)) = (Ifma::try_new(), VecReducer::try_new(prime.modulus()))
        {
            return Store::Packed {
                simd,
                reducer,
                bytes: aligned_vec::avec![[64]| 0u8; values * PACKED_VALUE_BYTES],
            };
        }
        Self::wide(prime, values)
    }

    /// The kernel that scores this store, as the harness and the logs name it.
    pub(crate) fn kernel_name(&self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Store::Packed { .. } => "ifma",
            Store::Wide { .. } => "portable",
        }
    }

    /// Room for `values` whole words, scored by tfhe-ntt whatever the CPU.
    pub(crate) fn wide(prime: ServerPrime, values: usize) -> Self {
        Store::Wide {
            plan: prime.plan(),
            words: kernel::tiles(values),
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Store::Packed { bytes, .. } => bytes.len(),
            Store::Wide { words, .. } => words.len() * 8,
        }
    }

    /// The superblocks, each of `values` values but the last, which may be shorter.
    pub(crate) fn superblocks(&self, values: usize) -> Vec<Superblock<'_>> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Store::Packed {
                simd,
                reducer,
                bytes,
            } => bytes
                .chunks(values * PACKED_VALUE_BYTES)
                .map(|bytes| Superblock::Packed {
                    simd: *simd,
                    reducer: *reducer,
                    bytes,
                })
                .collect(),
            Store::Wide { plan, words } => words
                .chunks(values)
                .map(|words| Superblock::Wide { plan, words })
                .collect(),
        }
    }

    /// [`Self::superblocks`], to write.
    pub(crate) fn superblocks_mut(&mut self, values: usize) -> Vec<SuperblockMut<'_>> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Store::Packed { bytes, .. } => bytes
                .chunks_mut(values * PACKED_VALUE_BYTES)
                .map(SuperblockMut::Packed)
                .collect(),
            Store::Wide { words, .. } => {
                words.chunks_mut(values).map(SuperblockMut::Wide).collect()
            }
        }
    }
}

/// One superblock to score.
#[derive(Clone, Copy)]
pub(crate) enum Superblock<'a> {
    #[cfg(target_arch = "x86_64")]
    Packed {
        simd: Ifma,
        reducer: VecReducer,
        bytes: &'a [u8],
    },
    Wide {
        plan: &'a Plan,
        words: &'a [u64],
    },
}

impl Superblock<'_> {
    /// Values held.
    pub(crate) fn values(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Superblock::Packed { bytes, .. } => bytes.len() / PACKED_VALUE_BYTES,
            Superblock::Wide { words, .. } => words.len(),
        }
    }

    /// Accumulates every slot (two queries, [`kernel::pair`]: `2 dim n` values each) against each
    /// of the superblock's blocks into `acc`, reduced mod q, in the kernel's layout
    /// ([`kernel::acc_row`]); [`kernel::untile`] takes one slot's blocks out of it.
    pub(crate) fn score(self, queries: &[&[u64]], shape: Shape, acc: &mut [u64]) {
        debug_assert_eq!(self.values(), shape.blocks * shape.dim * shape.n);
        match self {
            #[cfg(target_arch = "x86_64")]
            Superblock::Packed {
                simd,
                reducer,
                bytes,
            } => ifma::lazy(simd, reducer, queries, bytes, shape, acc),
            Superblock::Wide { plan, words } => kernel::reduced(plan, queries, words, shape, acc),
        }
    }
}

/// One superblock to fill.
pub(crate) enum SuperblockMut<'a> {
    #[cfg(target_arch = "x86_64")]
    Packed(&'a mut [u8]),
    Wide(&'a mut [u64]),
}

impl SuperblockMut<'_> {
    /// Values held.
    pub(crate) fn values(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            SuperblockMut::Packed(bytes) => bytes.len() / PACKED_VALUE_BYTES,
            SuperblockMut::Wide(words) => words.len(),
        }
    }

    /// Puts block `k`'s `dim` polynomials (feature-major, values below q) into their tiles.
    pub(crate) fn put_block(&mut self, polys: &[u64], dim: usize, n: usize, k: usize) {
        let blocks = self.values() / (dim * n);
        for t in 0..n / LANES {
            let first_row = (t * blocks + k) * dim;
            for i in 0..dim {
                let lanes = &polys[i * n + t * LANES..][..LANES];
                match self {
                    #[cfg(target_arch = "x86_64")]
                    SuperblockMut::Packed(bytes) => {
                        let row = &mut bytes[(first_row + i) * PACKED_ROW..][..PACKED_ROW];
                        for (out, &v) in row.chunks_exact_mut(PACKED_VALUE_BYTES).zip(lanes) {
                            debug_assert!(v < 1 << (8 * PACKED_VALUE_BYTES));
                            out.copy_from_slice(&v.to_le_bytes()[..PACKED_VALUE_BYTES]);
                        }
                    }
                    SuperblockMut::Wide(words) => {
                        words[(first_row + i) * LANES..][..LANES].copy_from_slice(lanes);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stores, every register-blocking shape (odd remainders of queries and blocks
    /// included), against a direct computation mod q.
    #[test]
    fn both_stores_score_exactly() {
        let (dim, n) = (5usize, 64usize);
        if Store::for_prime(ServerPrime::Ifma50, 0).kernel_name() == "portable" {
            kernel::skipped("both_stores_score_exactly (packed store)", "AVX-512 IFMA");
        }
        for prime in veilrank_core::ntt::SERVER_PRIMES {
            let q = prime.modulus();
            // the largest values first: a packing that dropped a high bit would show
            let value = |i: usize| match i % 7 {
                0 => q - 1,
                _ => ((i as u128 * 0x9E37_79B9_7F4A_7C15u128) % q as u128) as u64,
            };
            for (blocks, batch) in [(1, 1), (3, 1), (3, 4), (2, 3), (4, 2), (7, 5)] {
                // per block, feature-major polynomials
                let polys: Vec<Vec<u64>> = (0..blocks)
                    .map(|k| (0..dim * n).map(|i| value(i + k * dim * n + 1)).collect())
                    .collect();
                let queries: Vec<Vec<u64>> = (0..batch)
                    .map(|j| {
                        (0..2 * dim * n)
                            .map(|i| value(i + 7_777 * (j + 1)))
                            .collect()
                    })
                    .collect();
                let mut expected = vec![0u64; batch * blocks * 2 * n];
                for (j, query) in queries.iter().enumerate() {
                    for (k, block) in polys.iter().enumerate() {
                        let e = &mut expected[(j * blocks + k) * 2 * n..];
                        for i in 0..dim {
                            for x in 0..n {
                                let (t, l) = (x / LANES, x % LANES);
                                let v = block[i * n + x] as u128;
                                let m = query[(t * dim + i) * 2 * LANES + l] as u128;
                                let b = query[(t * dim + i) * 2 * LANES + LANES + l] as u128;
                                let qq = q as u128;
                                e[x] = ((e[x] as u128 + m * v % qq) % qq) as u64;
                                e[n + x] = ((e[n + x] as u128 + b * v % qq) % qq) as u64;
                            }
                        }
                    }
                }
                let refs: Vec<&[u64]> = queries.iter().map(Vec::as_slice).collect();
                let values = blocks * dim * n;
                for mut store in [Store::for_prime(prime, values), Store::wide(prime, values)] {
                    for mut superblock in store.superblocks_mut(values) {
                        for (k, block) in polys.iter().enumerate() {
                            superblock.put_block(block, dim, n, k);
                        }
                    }
                    let packed = store.kernel_name() == "ifma";
                    let mut tiled = vec![1u64; batch * blocks * 2 * n];
                    let shape = Shape { blocks, dim, n };
                    for superblock in store.superblocks(values) {
                        superblock.score(&refs, shape, &mut tiled);
                    }
                    let mut acc = vec![0u64; batch * blocks * 2 * n];
                    for (j, out) in acc.chunks_exact_mut(blocks * 2 * n).enumerate() {
                        kernel::untile(&tiled, shape, j, out);
                    }
                    assert_eq!(
                        acc, expected,
                        "{prime:?}, packed {packed}, {blocks} blocks, {batch} queries"
                    );
                }
            }
        }
    }

    #[test]
    fn only_ifma50_packs() {
        let wide = Store::for_prime(ServerPrime::Wide62, 64);
        assert!(matches!(wide, Store::Wide { .. }));
        assert_eq!(wide.bytes(), 64 * 8);
        let fast = Store::for_prime(ServerPrime::Ifma50, 64);
        let expected = if fast.kernel_name() == "ifma" {
            64 * 7
        } else {
            kernel::skipped("only_ifma50_packs", "AVX-512 IFMA");
            64 * 8
        };
        assert_eq!(fast.bytes(), expected);
    }
}
