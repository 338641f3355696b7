//! The server's catalog in the transform domain, prepared once, and scoring against it.
//!
//! Items are cut in blocks of N. For block b and feature i the catalog holds the polynomial
//! `V_{b,i}(X) = sum_j v_{bN+j, i} X^j`, forward-transformed and normalized under the prime the
//! noise analysis picked. A query's result for block b is `R_b = sum_i B_i * V_{b,i}` over its
//! ciphertexts' bodies; with the catalog's hint `H_b` (the same sum over the public masks,
//! [`crate::hint`]), coefficient j of `R_b - H_b S` decrypts to the score of item bN + j.
//! 7 bytes per item-feature under the IFMA kernel (8 otherwise, [`crate::store`]), laid out in
//! superblocks of a few blocks (see [`kernel`]) so that scoring streams it in order.

use rayon::prelude::*;

use crate::bitpack;
use crate::hint::{self, Hint};
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
    /// One slot's blocks out of them.
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
    /// The public masks' part of every score, for clients to download.
    hint: Hint,
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
        let mut catalog = Self {
            params: *params,
            dim,
            items,
            plan,
            superblock,
            switch: ResponseSwitch::new(plan.prime, plan.response_bits),
            store,
            hint: Hint::pending(plan.prime, dim, items),
        };
        catalog.hint = catalog.compute_hint()?;
        Ok(catalog)
    }

    /// `H_b` for every block: one pass of the public masks over the catalog, kept in the
    /// transform domain.
    fn compute_hint(&self) -> Result<Hint> {
        let n = self.params.polynomial_size;
        let masks = hint::public_masks(&self.params, self.dim, self.plan.prime);
        let slot = kernel::pair(&masks, None, self.dim, n);
        let blocks = self.pass(&[slot.as_slice()], 1, &|_, values: &mut [u64]| {
            values.to_vec()
        });
        let values = blocks.into_iter().flatten().flatten().collect();
        Hint::try_new(&self.params, self.plan.prime, self.dim, self.items, values)
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

    /// The catalog's hint, which clients need to decrypt.
    pub fn hint(&self) -> &Hint {
        &self.hint
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
    /// superblock, multiply-accumulate the queries' bodies over the features in the transform
    /// domain ([`kernel`], two queries per slot), transform back, switch to the response width.
    /// Superblocks run in parallel on the current rayon pool. Each response depends only on its
    /// own query: batching changes the memory traffic, not the arithmetic. The work done depends
    /// only on the sizes, never on values.
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
        let n = self.params.polynomial_size;
        let slots: Vec<kernel::Tiles> = queries
            .chunks(2)
            .map(|pair| {
                let second = pair.get(1).map(|q| q.bodies.as_slice());
                kernel::pair(&pair[0].bodies, second, self.dim, n)
            })
            .collect();
        let slots: Vec<&[u64]> = slots.iter().map(|s| s.as_slice()).collect();
        let finish = |block: usize, values: &mut [u64]| self.finish_block(block, values);
        let per_query = self.pass(&slots, queries.len(), &finish);
        Ok(per_query
            .into_iter()
            .zip(queries)
            .map(|(blocks, query)| Response {
                bits: self.plan.response_bits as u8,
                dim: self.dim as u32,
                items: self.items as u32,
                nonce: query.nonce,
                hint: self.hint.id(),
                blocks,
            })
            .collect())
    }

    /// One pass of `slots` over the catalog: for each of the first `outputs` queries of the
    /// slots (two per slot, in order), `finish(block, values)` of each block's N transform-domain
    /// values, in block order.
    fn pass<T: Send>(
        &self,
        slots: &[&[u64]],
        outputs: usize,
        finish: &(dyn Fn(usize, &mut [u64]) -> T + Sync),
    ) -> Vec<Vec<T>> {
        debug_assert!(outputs <= 2 * slots.len());
        if outputs == 0 {
            return Vec::new();
        }
        let n = self.params.polynomial_size;
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

    /// One superblock of [`Self::pass`]: the kernel, then per slot its blocks out of the
    /// kernel's accumulators, each query's finished.
    fn score_superblock<T>(
        &self,
        s: usize,
        data: Superblock<'_>,
        slots: &[&[u64]],
        outputs: usize,
        scratch: &mut Scratch,
        finish: &(dyn Fn(usize, &mut [u64]) -> T + Sync),
    ) -> Vec<T> {
        let (n, dim) = (self.params.polynomial_size, self.dim);
        let blocks = data.values() / (dim * n);
        scratch.acc.resize(slots.len() * blocks * 2 * n, 0);
        scratch.untiled.resize(blocks * 2 * n, 0);
        let shape = kernel::Shape { blocks, dim, n };
        data.score(slots, shape, &mut scratch.acc);
        let mut finished = Vec::with_capacity(outputs * blocks);
        for j in 0..slots.len() {
            kernel::untile(&scratch.acc, shape, j, &mut scratch.untiled);
            for half in 0..2.min(outputs - 2 * j) {
                for (x, block) in scratch.untiled.chunks_exact_mut(2 * n).enumerate() {
                    finished.push(finish(s * self.superblock + x, &mut block[half * n..][..n]));
                }
            }
        }
        finished
    }

    /// Back from the transform domain, switched to the response width and packed: one
    /// coefficient per item of the block.
    fn finish_block(&self, block: usize, acc: &mut [u64]) -> serde_bytes::ByteBuf {
        let n = self.params.polynomial_size;
        let bits = self.plan.response_bits;
        let in_block = (self.items - block * n).min(n);
        self.plan.prime.plan().inv(acc);
        let acc = &mut acc[..in_block];
        self.switch.apply(acc);
        // room for the wire's length prefix of the next block (`wire::encode_response_parts`)
        let len = bitpack::packed_len(in_block, bits);
        let mut packed = Vec::with_capacity(len + 8);
        bitpack::pack_extend(acc, bits, &mut packed);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntt::switch_from_native;
    use crate::params::V1_128;
    use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
    use tfhe::core_crypto::prelude::{
        CiphertextModulus, GlweSize, PolynomialSize, SeededGlweCiphertextList,
    };

    /// The hint against a direct computation: per block, `sum_i A_i V_{b,i}` negacyclically in
    /// the coefficient domain, with each mask `A_i` as tfhe itself regenerates it from the
    /// public seed (so the client's encryption and the server's hint agree on the masks).
    #[test]
    fn the_hint_is_the_public_masks_times_the_catalog() {
        let n = V1_128.polynomial_size;
        let (dim, items) = (2, n + 52);
        let values: Vec<i8> = (0..dim * items)
            .map(|x| ((x * 37 + 11) % 255) as i8)
            .collect();
        let catalog = PreparedCatalog::prepare(&V1_128, dim, &values).unwrap();
        let prime = catalog.noise_plan().prime;
        let q = prime.modulus();
        let masks: Vec<Vec<u64>> = (0..dim)
            .map(|i| {
                let seeded = SeededGlweCiphertextList::from_container(
                    vec![0u64; n],
                    GlweSize(2),
                    PolynomialSize(n),
                    CompressionSeed::from(Seed(hint::public_seed(&V1_128, i))),
                    CiphertextModulus::new_native(),
                );
                seeded.decompress_into_glwe_ciphertext_list().as_ref()[..n]
                    .iter()
                    .map(|&a| switch_from_native(a, q))
                    .collect()
            })
            .collect();
        for b in 0..catalog.blocks() {
            // |A v| < 2^58 and 2 N of them fit an i128 without reduction
            let mut expected = vec![0i128; n];
            for (i, mask) in masks.iter().enumerate() {
                for j in 0..n {
                    let item = b * n + j;
                    if item >= items {
                        continue;
                    }
                    let v = i128::from(values[item * dim + i]);
                    for (k, &a) in mask.iter().enumerate() {
                        let term = i128::from(a) * v;
                        if j + k < n {
                            expected[j + k] += term;
                        } else {
                            expected[j + k - n] -= term;
                        }
                    }
                }
            }
            let expected: Vec<u64> = expected
                .iter()
                .map(|&x| x.rem_euclid(i128::from(q)) as u64)
                .collect();
            let mut got = catalog.hint().block(b).to_vec();
            prime.plan().inv(&mut got);
            assert_eq!(got, expected, "block {b}");
        }
    }
}
