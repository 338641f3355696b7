//! The catalog in the transform domain, in the kernel's layout, and one pass of a batch over it.
//!
//! A pass takes slots of two queries' bodies each ([`Passes::slot`]) through every superblock in
//! parallel (rayon), runs the kernel of the store, takes each slot's blocks out of the
//! accumulators and finishes each block: the inverse transform, the response switch and the
//! packing of a response ([`Passes::finish_block`]), or nothing at all for the hint.

use rayon::prelude::*;
use serde_bytes::ByteBuf;
use veilrank_core::bitpack;
use veilrank_core::ntt::{from_signed, Plan, ServerPrime};

use crate::kernel::{self, Kernel};
use crate::store::{Store, Superblock};
use crate::switch::ResponseSwitch;

/// The working memory of a run of superblocks on one thread (rayon's `map_init`: one per
/// split, about 10 per pass over a million items).
///
/// Kept per thread for good instead (a `thread_local!`), the pass of 8 queries over 1M x 64 was
/// 7% slower, side by side: the kernel's stores then miss into lines evicted long ago and
/// wait for them, where a fresh buffer's lines were just zeroed by the page fault.
struct Scratch {
    /// The kernel's accumulators for one superblock and batch, aligned so that each store of
    /// the kernel fills one cache line.
    acc: kernel::Tiles,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            acc: kernel::tiles(0),
        }
    }
}

/// A quantized catalog forward-transformed and normalized under one modulus, stored for the
/// fastest kernel of this CPU, with the response switch of its width.
pub(crate) struct Passes {
    pub(crate) prime: ServerPrime,
    pub(crate) dim: usize,
    pub(crate) items: usize,
    /// The polynomial size N: items per block.
    pub(crate) n: usize,
    /// Blocks per superblock (the last one may have fewer).
    superblock: usize,
    /// The response switch q -> 2^w.
    switch: ResponseSwitch,
    /// `blocks * dim * N` values: per superblock, the tiled layout of [`kernel`], stored for
    /// the kernel that scores them on this CPU.
    pub(crate) store: Store,
}

impl Passes {
    /// Transforms `values` (`items * dim`, item-major, a checked catalog) block by block,
    /// calling `progress(blocks_done, blocks)` from rayon's threads as blocks are done.
    pub(crate) fn prepare(
        kernel: Kernel,
        prime: ServerPrime,
        response_bits: u32,
        n: usize,
        dim: usize,
        values: &[i8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Self {
        let items = values.len() / dim;
        let blocks = items.div_ceil(n);
        // coefficient j of V_{b,i}; zero past the last item
        let coefficient = |b: usize, i: usize, j: usize| -> i8 {
            let item = b * n + j;
            if item < items {
                values[item * dim + i]
            } else {
                0
            }
        };
        let (q, ntt_plan) = (prime.modulus(), prime.plan());
        // enough superblocks for every thread, each as large as L2 holds a tile of
        let superblock = (blocks / 8).clamp(1, kernel::superblock_cap(dim));
        let mut store = Store::new(kernel, prime, blocks * dim * n);
        let done = std::sync::atomic::AtomicUsize::new(0);
        store
            .superblocks_mut(superblock * dim * n)
            .into_par_iter()
            .enumerate()
            .for_each(|(s, mut data)| {
                let in_superblock = data.values() / (dim * n);
                let mut polys = vec![0u64; dim * n];
                for k in 0..in_superblock {
                    let b = s * superblock + k;
                    for (i, poly) in polys.chunks_exact_mut(n).enumerate() {
                        for (j, c) in poly.iter_mut().enumerate() {
                            *c = from_signed(i64::from(coefficient(b, i, j)), q);
                        }
                        ntt_plan.fwd(poly);
                        ntt_plan.normalize(poly);
                    }
                    data.put_block(&polys, dim, n, k);
                    let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(done, blocks);
                }
            });
        Self {
            prime,
            dim,
            items,
            n,
            superblock,
            switch: ResponseSwitch::new(prime, response_bits, kernel),
            store,
        }
    }

    /// One kernel slot of two queries' bodies (`second` or zeros), in the layout of this
    /// catalog's kernel.
    pub(crate) fn slot(&self, first: &[u64], second: Option<&[u64]>) -> kernel::Tiles {
        self.store.slot(first, second, self.dim, self.n)
    }

    /// The number of blocks of N items.
    pub(crate) fn blocks(&self) -> usize {
        self.items.div_ceil(self.n)
    }

    /// One pass of `slots` over the catalog: for each of the first `outputs` queries of the
    /// slots (two per slot, in order), `finish(block, values)` of each block's N transform-domain
    /// values (where the kernel left them, [`kernel::Tiled`]), in block order.
    pub(crate) fn pass<T: Send>(
        &self,
        slots: &[&[u64]],
        outputs: usize,
        finish: &(dyn Fn(usize, kernel::Tiled<'_>) -> T + Sync),
    ) -> Vec<Vec<T>> {
        debug_assert!(outputs <= 2 * slots.len());
        if outputs == 0 {
            return Vec::new();
        }
        let n = self.n;
        // per superblock: per output, per block of the superblock
        let per_superblock: Vec<Vec<T>> = self
            .store
            .superblocks(self.superblock * self.dim * n)
            .into_par_iter()
            .enumerate()
            .map_init(Scratch::default, |scratch, (s, data)| {
                self.score_superblock(s, data, slots, outputs, scratch, finish)
            })
            .collect();
        let mut out: Vec<Vec<T>> = (0..outputs)
            .map(|_| Vec::with_capacity(self.blocks()))
            .collect();
        for finished in per_superblock {
            let in_superblock = finished.len() / outputs;
            for (x, block) in finished.into_iter().enumerate() {
                out[x / in_superblock].push(block);
            }
        }
        out
    }

    /// One superblock of [`Self::pass`]: the kernel, then each query's blocks finished from the
    /// kernel's accumulators.
    fn score_superblock<T>(
        &self,
        s: usize,
        data: Superblock<'_>,
        slots: &[&[u64]],
        outputs: usize,
        scratch: &mut Scratch,
        finish: &(dyn Fn(usize, kernel::Tiled<'_>) -> T + Sync),
    ) -> Vec<T> {
        let (n, dim) = (self.n, self.dim);
        let blocks = data.values() / (dim * n);
        scratch.acc.resize(slots.len() * blocks * 2 * n, 0);
        let shape = kernel::Shape { blocks, dim, n };
        data.score(slots, outputs, shape, &mut scratch.acc);
        let mut finished = Vec::with_capacity(outputs * blocks);
        for slot in 0..slots.len() {
            for half in 0..2.min(outputs - 2 * slot) {
                for block in 0..blocks {
                    let tiled = kernel::Tiled {
                        acc: &scratch.acc,
                        shape,
                        slot,
                        block,
                        half,
                    };
                    finished.push(finish(s * self.superblock + block, tiled));
                }
            }
        }
        finished
    }

    /// Back from the transform domain, switched to the response width and packed: one
    /// coefficient per item of the block.
    pub(crate) fn finish_block(&self, block: usize, tiled: kernel::Tiled<'_>) -> ByteBuf {
        let n = self.n;
        let bits = self.switch.bits();
        let in_block = (self.items - block * n).min(n);
        FINISH.with_borrow_mut(|(residues, acc)| {
            acc.clear();
            match self.prime.plan() {
                // the residues straight from the kernel's accumulators into the inverse
                // transforms, and switched from them ([`crate::switch`])
                Plan::Crt(plan) => {
                    residues.resize(2 * n, 0);
                    let (r1, r2) = residues.split_at_mut(n);
                    for (t, tile) in tiled.tiles().enumerate() {
                        let at = t * kernel::LANES..(t + 1) * kernel::LANES;
                        for ((a, b), &w) in r1[at.clone()].iter_mut().zip(&mut r2[at]).zip(tile) {
                            (*a, *b) = veilrank_core::ntt::crt::residues(w);
                        }
                    }
                    plan.inv_residues(residues);
                    let (r1, r2) = residues.split_at(n);
                    acc.resize(in_block, 0);
                    self.switch
                        .apply_residues(&r1[..in_block], &r2[..in_block], acc);
                }
                plan => {
                    tiled.tiles().for_each(|tile| acc.extend_from_slice(tile));
                    plan.inv(acc);
                    acc.truncate(in_block);
                    self.switch.apply(acc);
                }
            }
            // room for the wire's length prefix of the next block (`wire::encode_response_parts`)
            let len = bitpack::packed_len(in_block, bits);
            let mut packed = Vec::with_capacity(len + 8);
            bitpack::pack_extend(acc, bits, &mut packed);
            debug_assert_eq!(packed.len(), len);
            ByteBuf::from(packed)
        })
    }
}

thread_local! {
    /// [`Passes::finish_block`]'s working memory, one block's worth, reused for every block a
    /// thread finishes (residues for `crt54`, then the switched values).
    static FINISH: std::cell::RefCell<(Vec<u32>, Vec<u64>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}
