//! The prepared catalog's memory, in the layout of the kernel that scores it.
//!
//! Under `ifma50`, values are packed in 7 bytes for the IFMA kernel
//! ([`crate::ifma::PACKED_VALUE_BYTES`]) or split in halves for the AVX2 and NEON kernels
//! ([`crate::split`]); under `crt54` they are words of two residues for the `crt54` kernels
//! ([`crate::crt`]); otherwise (the 62-bit prime, or the portable kernel under a prime) they are
//! whole words for tfhe-ntt's multiply-accumulate. Either way the order is the kernel's tiled
//! order, per superblock `[tile][block][feature][LANES]`. The kernel travels with its storage,
//! so a superblock is always read by the code that wrote it.

#[cfg(target_arch = "x86_64")]
use aligned_vec::{AVec, ConstAlign};
use veilrank_core::ntt::Plan;

#[cfg(target_arch = "x86_64")]
use crate::ifma::{self, Ifma, VecReducer, PACKED_ROW, PACKED_VALUE_BYTES};
use crate::kernel::{self, Kernel, Shape, Tiles, LANES};
use crate::{crt, split};
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
    /// For the split kernels: a word per value, its halves in 32-bit lanes.
    Split { kernel: SplitKernel, words: Tiles },
    /// For the `crt54` kernels: a word per value, its residues in 32-bit lanes.
    Crt { kernel: CrtKernel, words: Tiles },
    /// For tfhe-ntt's reduced multiply-accumulate: 8 bytes per value.
    Wide { plan: &'static Plan, words: Tiles },
}

/// Which split kernel, with the proof that the CPU runs it.
#[derive(Clone, Copy)]
pub(crate) enum SplitKernel {
    #[cfg(target_arch = "x86_64")]
    Avx2(split::avx2::Avx2),
    #[cfg(target_arch = "aarch64")]
    Neon,
}

/// Which `crt54` kernel, with the proof that the CPU runs it.
#[derive(Clone, Copy)]
pub(crate) enum CrtKernel {
    #[cfg(target_arch = "x86_64")]
    Avx2(split::avx2::Avx2),
    #[cfg(target_arch = "aarch64")]
    Neon,
    Portable,
}

impl CrtKernel {
    /// The `crt54` kernel of `kernel`, or the portable one where that does not run here.
    fn of(kernel: Kernel) -> Self {
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                split::avx2::Avx2::try_new().map_or(CrtKernel::Portable, CrtKernel::Avx2)
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => CrtKernel::Neon,
            _ => CrtKernel::Portable,
        }
    }
}

impl Store {
    /// Room for `values` values for `kernel`, or for the portable kernel where `kernel` does not
    /// run here or does not cover `prime` ([`Kernel::check`] says which beforehand).
    pub(crate) fn new(kernel: Kernel, prime: ServerPrime, values: usize) -> Self {
        if prime == ServerPrime::Crt54 {
            return Store::Crt {
                kernel: CrtKernel::of(kernel),
                words: kernel::tiles(values),
            };
        }
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Ifma => {
                if let (Some(simd), Some(reducer)) =
                    (Ifma::try_new(), VecReducer::try_new(prime.modulus()))
                {
                    return Store::Packed {
                        simd,
                        reducer,
                        bytes: aligned_vec::avec![[64]| 0u8; values * PACKED_VALUE_BYTES],
                    };
                }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if kernel.covers(prime) => {
                if let Some(simd) = split::avx2::Avx2::try_new() {
                    return Self::split(SplitKernel::Avx2(simd), values);
                }
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon if kernel.covers(prime) => return Self::split(SplitKernel::Neon, values),
            _ => {}
        }
        Self::wide(prime, values)
    }

    /// Room for `values` values for a split kernel.
    fn split(kernel: SplitKernel, values: usize) -> Self {
        Store::Split {
            kernel,
            words: kernel::tiles(values),
        }
    }

    /// The kernel that scores this store.
    pub(crate) fn kernel(&self) -> Kernel {
        match self {
            #[cfg(target_arch = "x86_64")]
            Store::Packed { .. } => Kernel::Ifma,
            Store::Split { kernel, .. } => match *kernel {
                #[cfg(target_arch = "x86_64")]
                SplitKernel::Avx2(_) => Kernel::Avx2,
                #[cfg(target_arch = "aarch64")]
                SplitKernel::Neon => Kernel::Neon,
            },
            Store::Crt { kernel, .. } => match *kernel {
                #[cfg(target_arch = "x86_64")]
                CrtKernel::Avx2(_) => Kernel::Avx2,
                #[cfg(target_arch = "aarch64")]
                CrtKernel::Neon => Kernel::Neon,
                CrtKernel::Portable => Kernel::Portable,
            },
            Store::Wide { .. } => Kernel::Portable,
        }
    }

    /// The kernel that scores this store, as the harness and the logs name it.
    pub(crate) fn kernel_name(&self) -> &'static str {
        self.kernel().name()
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
            Store::Split { words, .. } | Store::Crt { words, .. } | Store::Wide { words, .. } => {
                words.len() * 8
            }
        }
    }

    /// One kernel slot of two queries' bodies (`dim` transform-domain polynomials of `n` values
    /// each, feature-major), in the layout this store's kernel reads.
    pub(crate) fn slot(
        &self,
        first: &[u64],
        second: Option<&[u64]>,
        dim: usize,
        n: usize,
    ) -> Tiles {
        match self {
            Store::Split { .. } => split::pair(first, second, dim, n),
            Store::Crt { .. } => crt::pair(first, second, dim, n),
            _ => kernel::pair(first, second, dim, n),
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
            Store::Split { kernel, words } => words
                .chunks(values)
                .map(|words| Superblock::Split {
                    kernel: *kernel,
                    words,
                })
                .collect(),
            Store::Crt { kernel, words } => words
                .chunks(values)
                .map(|words| Superblock::Crt {
                    kernel: *kernel,
                    words,
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
            Store::Split { words, .. } => {
                words.chunks_mut(values).map(SuperblockMut::Split).collect()
            }
            Store::Crt { words, .. } | Store::Wide { words, .. } => {
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
    Split {
        kernel: SplitKernel,
        words: &'a [u64],
    },
    Crt {
        kernel: CrtKernel,
        words: &'a [u64],
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
            Superblock::Split { words, .. }
            | Superblock::Crt { words, .. }
            | Superblock::Wide { words, .. } => words.len(),
        }
    }

    /// Accumulates every slot ([`Store::slot`]) against each of the superblock's blocks into
    /// `acc`, reduced mod q, in the kernel's layout ([`kernel::acc_row`]); [`kernel::untile`]
    /// takes one slot's blocks out of it. The slots hold `outputs` queries: where that is odd,
    /// the last slot's second half is absent, and its outputs zero.
    pub(crate) fn score(self, queries: &[&[u64]], outputs: usize, shape: Shape, acc: &mut [u64]) {
        debug_assert_eq!(self.values(), shape.blocks * shape.dim * shape.n);
        debug_assert!(outputs <= 2 * queries.len() && outputs + 1 >= 2 * queries.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            Superblock::Packed {
                simd,
                reducer,
                bytes,
            } => ifma::lazy(simd, reducer, queries, outputs, bytes, shape, acc),
            Superblock::Split { kernel, words } => match kernel {
                #[cfg(target_arch = "x86_64")]
                SplitKernel::Avx2(simd) => split::avx2::lazy(simd, queries, words, shape, acc),
                #[cfg(target_arch = "aarch64")]
                SplitKernel::Neon => split::neon::lazy(queries, words, shape, acc),
            },
            Superblock::Crt { kernel, words } => match kernel {
                #[cfg(target_arch = "x86_64")]
                CrtKernel::Avx2(simd) => crt::avx2::lazy(simd, queries, words, shape, acc),
                #[cfg(target_arch = "aarch64")]
                CrtKernel::Neon => crt::neon::lazy(queries, words, shape, acc),
                CrtKernel::Portable => crt::portable(queries, words, shape, acc),
            },
            Superblock::Wide { plan, words } => kernel::reduced(plan, queries, words, shape, acc),
        }
    }
}

/// One superblock to fill.
pub(crate) enum SuperblockMut<'a> {
    #[cfg(target_arch = "x86_64")]
    Packed(&'a mut [u8]),
    Split(&'a mut [u64]),
    /// Words as they are: tfhe-ntt's, and `crt54`'s.
    Wide(&'a mut [u64]),
}

impl SuperblockMut<'_> {
    /// Values held.
    pub(crate) fn values(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            SuperblockMut::Packed(bytes) => bytes.len() / PACKED_VALUE_BYTES,
            SuperblockMut::Split(words) | SuperblockMut::Wide(words) => words.len(),
        }
    }

    /// Puts block `k`'s `dim` polynomials (feature-major, reduced transform-domain values)
    /// into their tiles.
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
                    SuperblockMut::Split(words) => {
                        let row = &mut words[(first_row + i) * LANES..][..LANES];
                        for (out, &v) in row.iter_mut().zip(lanes) {
                            *out = split::encode(v);
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
mod tests;
