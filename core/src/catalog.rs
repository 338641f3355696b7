//! The server's catalog in the transform domain, prepared once, and scoring against it.
//!
//! Items are cut in blocks of N. For block b and feature i the catalog holds the polynomial
//! `V_{b,i}(X) = sum_j v_{bN+j, i} X^j`, forward-transformed and normalized under the prime the
//! noise analysis picked. A query's score for block b is `sum_i GLWE(u_i) * V_{b,i}`: coefficient
//! j decrypts to the score of item bN + j. 7 bytes per item-feature under the IFMA kernel (8
//! otherwise, [`crate::store`]), laid out in superblocks of a few blocks (see [`kernel`]) so
//! that scoring streams it in order.

use rayon::prelude::*;

use crate::bitpack;
use crate::kernel;
use crate::noise::{self, CatalogNoiseStats, NoisePlan};
use crate::ntt::from_signed;
use crate::params::ParameterSet;
use crate::query::{ExpandedQuery, Query};
use crate::response::Response;
use crate::store::{Store, Superblock};
use crate::switch::ResponseSwitch;
use crate::{Error, Result};

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
    /// One query's blocks out of them.
    untiled: Vec<u64>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            acc: kernel::tiles(0),
            untiled: Vec::new(),
        }
    }
}

/// Most items a catalog may have (the wire format counts them in a u32).
pub const MAX_ITEMS: usize = 1 << 28;

/// A catalog ready to score encrypted queries.
pub struct PreparedCatalog {
    params: ParameterSet,
    dim: usize,
    items: usize,
    plan: NoisePlan,
    /// Blocks per superblock (the last one may have fewer).
    superblock: usize,
    /// The response switch q -> 2^w for the plan's prime and width.
    switch: ResponseSwitch,
    /// `blocks * dim * N` values: per superblock, the tiled layout of [`kernel`], stored for
    /// the kernel that scores them on this CPU.
    store: Store,
}

impl PreparedCatalog {
    /// Prepares a quantized catalog: `values` holds `items * dim` values, item-major.
    pub fn prepare(params: &ParameterSet, dim: usize, values: &[i8]) -> Result<Self> {
        Self::prepare_with_progress(params, dim, values, &|_, _| {})
    }

    /// [`Self::prepare`], calling `progress(blocks_done, blocks)` as blocks are transformed (from
    /// rayon's threads, in no particular order), so that a large catalog can report how far along
    /// it is.
    pub fn prepare_with_progress(
        params: &ParameterSet,
        dim: usize,
        values: &[i8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        params.check_dim(dim)?;
        if values.is_empty() {
            return Err(Error::EmptyCatalog);
        }
        if !values.len().is_multiple_of(dim) {
            return Err(Error::Malformed(format!(
                "{} values is not a whole number of {dim}-dimensional items",
                values.len()
            )));
        }
        let items = values.len() / dim;
        if items > MAX_ITEMS {
            return Err(Error::CatalogTooLarge {
                found: items,
                max: MAX_ITEMS,
            });
        }
        let n = params.polynomial_size;
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

        let stats = (0..blocks)
            .into_par_iter()
            .map(|b| {
                (0..dim)
                    .map(|i| {
                        CatalogNoiseStats::of_polynomial((0..n).map(move |j| coefficient(b, i, j)))
                    })
                    .fold(CatalogNoiseStats::ZERO, CatalogNoiseStats::plus)
            })
            .reduce(|| CatalogNoiseStats::ZERO, CatalogNoiseStats::max);
        let plan = noise::choose(params, dim, &stats)?;

        let q = plan.prime.modulus();
        let ntt_plan = plan.prime.plan();
        // enough superblocks for every thread, each as large as L2 holds a tile of
        let superblock = (blocks / 8).clamp(1, kernel::superblock_cap(dim));
        let mut store = Store::for_prime(plan.prime, blocks * dim * n);
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
        Ok(Self {
            params: *params,
            dim,
            items,
            plan,
            superblock,
            switch: ResponseSwitch::new(plan.prime, plan.response_bits),
            store,
        })
    }

    /// The parameter set.
    pub fn params(&self) -> &ParameterSet {
        &self.params
    }

    /// The items' dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of items.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The number of blocks of N items.
    pub fn blocks(&self) -> usize {
        self.items.div_ceil(self.params.polynomial_size)
    }

    /// The prime and response width picked for this catalog, with their failure bound.
    pub fn noise_plan(&self) -> &NoisePlan {
        &self.plan
    }

    /// Bytes held in the transform domain.
    pub fn prepared_bytes(&self) -> usize {
        self.store.bytes()
    }

    /// Scores an encrypted query against every item: expansion, then [`Self::score_expanded`].
    pub fn score(&self, query: &Query) -> Result<Response> {
        let expanded = query.expand(&self.params, self.dim, self.plan.prime)?;
        self.score_expanded(&expanded)
    }

    /// Scores an expanded query: [`Self::score_batch`] with a batch of one.
    pub fn score_expanded(&self, query: &ExpandedQuery) -> Result<Response> {
        let mut responses = self.score_batch(&[query])?;
        responses
            .pop()
            .ok_or_else(|| Error::Malformed("empty batch".into()))
    }

    /// Scores a batch of expanded queries (of any users) in one pass over the catalog: per
    /// superblock, multiply-accumulate every query over the features in the transform domain
    /// ([`kernel`]), transform back, switch to the response width. Superblocks run in parallel on
    /// the current rayon pool. Each response depends only on its own query: batching changes
    /// the memory traffic, not the arithmetic. The work done depends only on the sizes, never
    /// on values.
    pub fn score_batch(&self, queries: &[&ExpandedQuery]) -> Result<Vec<Response>> {
        for query in queries {
            if query.dim != self.dim {
                return Err(Error::DimensionMismatch {
                    expected: self.dim,
                    found: query.dim,
                });
            }
            if query.prime != self.plan.prime {
                return Err(Error::Malformed(
                    "query expanded under another prime".into(),
                ));
            }
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.params.polynomial_size;
        let dim = self.dim;
        let batch = queries.len();
        let polys: Vec<&[u64]> = queries.iter().map(|q| q.polys.as_slice()).collect();

        // per superblock: per query, per block of the superblock, the packed block
        let per_superblock: Vec<Vec<serde_bytes::ByteBuf>> = self
            .store
            .superblocks(self.superblock * dim * n)
            .into_par_iter()
            .enumerate()
            .map_init(Scratch::default, |scratch, (s, data)| {
                self.score_superblock(s, data, &polys, scratch)
            })
            .collect();

        let mut blocks = vec![Vec::with_capacity(self.blocks()); batch];
        for packed in per_superblock {
            let in_superblock = packed.len() / batch;
            for (x, block) in packed.into_iter().enumerate() {
                blocks[x / in_superblock].push(block);
            }
        }
        Ok(blocks
            .into_iter()
            .map(|blocks| Response {
                bits: self.plan.response_bits as u8,
                dim: self.dim as u32,
                items: self.items as u32,
                blocks,
            })
            .collect())
    }

    /// One superblock of [`Self::score_batch`]: the kernel, then per query its blocks out of
    /// the kernel's accumulators, each finished.
    fn score_superblock(
        &self,
        s: usize,
        data: Superblock<'_>,
        polys: &[&[u64]],
        scratch: &mut Scratch,
    ) -> Vec<serde_bytes::ByteBuf> {
        let (n, dim, batch) = (self.params.polynomial_size, self.dim, polys.len());
        let blocks = data.values() / (dim * n);
        scratch.acc.resize(batch * blocks * 2 * n, 0);
        scratch.untiled.resize(blocks * 2 * n, 0);
        let shape = kernel::Shape { blocks, dim, n };
        data.score(polys, shape, &mut scratch.acc);
        let mut packed = Vec::with_capacity(batch * blocks);
        for j in 0..batch {
            kernel::untile(&scratch.acc, shape, j, &mut scratch.untiled);
            for (x, block) in scratch.untiled.chunks_exact_mut(2 * n).enumerate() {
                packed.push(self.finish_block(s * self.superblock + x, block));
            }
        }
        packed
    }

    /// Back from the transform domain, switched to the response width and packed: the block's
    /// N mask coefficients, then one body coefficient per item of the block.
    fn finish_block(&self, block: usize, acc: &mut [u64]) -> serde_bytes::ByteBuf {
        let n = self.params.polynomial_size;
        let plan = self.plan.prime.plan();
        let bits = self.plan.response_bits;
        let in_block = (self.items - block * n).min(n);
        let (acc_mask, acc_body) = acc.split_at_mut(n);
        plan.inv(acc_mask);
        plan.inv(acc_body);
        let acc_body = &mut acc_body[..in_block];
        self.switch.apply(acc_mask);
        self.switch.apply(acc_body);
        // N is a multiple of 8, so the body starts on a byte boundary
        // room for the wire's length prefix of the next block (`wire::encode_response_parts`)
        let len = bitpack::packed_len(n + in_block, bits);
        let mut packed = Vec::with_capacity(len + 8);
        bitpack::pack_extend(acc_mask, bits, &mut packed);
        bitpack::pack_extend(acc_body, bits, &mut packed);
        debug_assert_eq!(packed.len(), len);
        serde_bytes::ByteBuf::from(packed)
    }
}

impl std::fmt::Debug for PreparedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCatalog")
            .field("dim", &self.dim)
            .field("items", &self.items)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}
