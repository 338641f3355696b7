//! The server's catalog in the transform domain, prepared once, and scoring against it.
//!
//! Items are cut in blocks of N. For block b and feature i the catalog holds the polynomial
//! `V_{b,i}(X) = sum_j v_{bN+j, i} X^j`, forward-transformed and normalized under the modulus the
//! noise analysis picked. A query's result for block b is `R_b = sum_i B_i * V_{b,i}` over its
//! ciphertexts' bodies; with the catalog's hint `H_b` (the same sum over the public masks,
//! `veilrank_core::hint`), coefficient j of `R_b - H_b S` decrypts to the score of item bN + j.
//! 7 bytes per item-feature under the IFMA kernel (8 under the others, [`crate::store`]), laid out in
//! superblocks of a few blocks (see [`crate::kernel`]) so that scoring streams it in order.

use veilrank_core::hint::{public_masks, Hint};
use veilrank_core::noise::{self, CatalogNoiseStats, NoisePlan};
use veilrank_core::reference::check_catalog;
use veilrank_core::{Error, ParameterSet, Query, Response, Result};

use crate::expand::ExpandedQuery;
use crate::kernel::{self, Kernel};
use crate::pass::Passes;
use crate::pins::Pins;
use crate::shard::{Shard, Whole};

/// A catalog ready to score encrypted queries.
pub struct PreparedCatalog {
    params: ParameterSet,
    plan: NoisePlan,
    passes: Passes,
    /// The public masks' part of every score of its items, for clients to download.
    hint: Hint,
    shard: Shard,
    first_item: usize,
    catalog_items: usize,
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
        Self::prepare_on(params, dim, values, Pins::NONE, progress)
    }

    /// [`Self::prepare_with_progress`] on the kernel and modulus `pins` names ([`Pins`]:
    /// what it leaves open is chosen for this CPU and the catalog's noise), or an error where
    /// that kernel does not run here or does not cover that modulus, or the modulus cannot hold
    /// the catalog's noise.
    pub fn prepare_on(
        params: &ParameterSet,
        dim: usize,
        values: &[i8],
        pins: impl Into<Pins>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        Self::prepare_shard(params, dim, values, Shard::whole(), pins, progress)
    }

    /// [`Self::prepare_on`] for one shard's blocks of the catalog `values`: the noise analysis
    /// runs over the whole catalog, so that every shard picks the same modulus and response width,
    /// and only the shard's blocks are transformed, scored and hinted.
    pub fn prepare_shard(
        params: &ParameterSet,
        dim: usize,
        values: &[i8],
        shard: Shard,
        pins: impl Into<Pins>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        let items = check_catalog(params, dim, values)?;
        let whole = Whole {
            items,
            stats: CatalogNoiseStats::of_catalog(params, dim, values),
        };
        let part = shard.items(items, params.polynomial_size)?;
        let values = &values[part.start * dim..part.end * dim];
        Self::prepare_part(params, dim, values, shard, &whole, pins, progress)
    }

    /// [`Self::prepare_shard`] from the shard's part alone (a catalog split beforehand), with
    /// the whole catalog's size and noise statistics: what a shard needs to pick the same plan
    /// as every other shard without reading the whole catalog.
    pub fn prepare_part(
        params: &ParameterSet,
        dim: usize,
        values: &[i8],
        shard: Shard,
        whole: &Whole,
        pins: impl Into<Pins>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        let pins = pins.into();
        let part_items = check_catalog(params, dim, values)?;
        let n = params.polynomial_size;
        let part = shard.items(whole.items, n)?;
        if part.len() != part_items {
            return Err(Error::Malformed(format!(
                "shard {shard} of a catalog of {} items holds {} items, not {part_items}",
                whole.items,
                part.len()
            )));
        }
        let items = whole.items;
        let plan = noise::choose_among(params, dim, &whole.stats, &pins.moduli())?;
        let kernel = pins.kernel_for(plan.prime)?;
        let passes = Passes::prepare(
            kernel,
            plan.prime,
            plan.response_bits,
            n,
            dim,
            values,
            progress,
        );
        // the hint: one pass of the public masks over the catalog, kept in the transform domain
        let masks = public_masks(params, dim, plan.prime);
        let slot = passes.slot(&masks, None);
        let blocks = passes.pass(&[slot.as_slice()], 1, &|_, values| values.to_vec());
        let values = blocks.into_iter().flatten().flatten().collect();
        let hint = Hint::try_new(params, plan.prime, dim, part.len(), values)?;
        Ok(Self {
            params: *params,
            plan,
            passes,
            hint,
            shard,
            first_item: part.start,
            catalog_items: items,
        })
    }

    /// The shard of the catalog this holds ([`Shard::whole`] unless prepared by
    /// [`Self::prepare_shard`]).
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// The shard's first item in the whole catalog.
    pub fn first_item(&self) -> usize {
        self.first_item
    }

    /// Items in the whole catalog, of every shard.
    pub fn catalog_items(&self) -> usize {
        self.catalog_items
    }

    /// The parameter set.
    pub fn params(&self) -> &ParameterSet {
        &self.params
    }

    /// The items' dimension.
    pub fn dim(&self) -> usize {
        self.passes.dim
    }

    /// The number of items it scores (its shard's).
    pub fn items(&self) -> usize {
        self.passes.items
    }

    /// The number of blocks of N items it scores.
    pub fn blocks(&self) -> usize {
        self.passes.blocks()
    }

    /// The modulus and response width picked for this catalog, with their failure bound.
    pub fn noise_plan(&self) -> &NoisePlan {
        &self.plan
    }

    /// The catalog's hint, which clients need to decrypt.
    pub fn hint(&self) -> &Hint {
        &self.hint
    }

    /// Bytes held in the transform domain.
    pub fn prepared_bytes(&self) -> usize {
        self.passes.store.bytes()
    }

    /// The kernel that scores this catalog.
    pub fn kernel(&self) -> Kernel {
        self.passes.store.kernel()
    }

    /// Its name, as logs and the harness show it.
    pub fn kernel_name(&self) -> &'static str {
        self.passes.store.kernel_name()
    }

    /// Scores an encrypted query against every item: expansion, then [`Self::score_expanded`].
    pub fn score(&self, query: &Query) -> Result<Response> {
        let expanded = ExpandedQuery::expand(query, &self.params, self.dim(), self.plan.prime)?;
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
    /// domain ([`crate::kernel`], two queries per slot), transform back, switch to the response
    /// width. Superblocks run in parallel on the current rayon pool. Each response depends only
    /// on its own query: batching changes the memory traffic, not the arithmetic. The work done
    /// depends only on the sizes, never on values.
    pub fn score_batch(&self, queries: &[&ExpandedQuery]) -> Result<Vec<Response>> {
        let dim = self.dim();
        for query in queries {
            if query.dim != dim {
                return Err(Error::DimensionMismatch {
                    expected: dim,
                    found: query.dim,
                });
            }
            if query.prime != self.plan.prime {
                return Err(Error::Malformed(
                    "query expanded under another prime".into(),
                ));
            }
        }
        let slots: Vec<kernel::Tiles> = queries
            .chunks(2)
            .map(|pair| {
                let second = pair.get(1).map(|q| q.bodies.as_slice());
                self.passes.slot(&pair[0].bodies, second)
            })
            .collect();
        let slots: Vec<&[u64]> = slots.iter().map(|s| s.as_slice()).collect();
        let finish = |block, values: kernel::Tiled<'_>| self.passes.finish_block(block, values);
        let per_query = self.passes.pass(&slots, queries.len(), &finish);
        Ok(per_query
            .into_iter()
            .zip(queries)
            .map(|(blocks, query)| Response {
                bits: self.plan.response_bits as u8,
                dim: dim as u32,
                items: self.items() as u32,
                nonce: query.nonce,
                hint: self.hint.id(),
                blocks,
            })
            .collect())
    }
}

impl std::fmt::Debug for PreparedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCatalog")
            .field("dim", &self.dim())
            .field("items", &self.items())
            .field("shard", &self.shard)
            .field("plan", &self.plan)
            .field("kernel", &self.kernel_name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
    use tfhe::core_crypto::prelude::{
        CiphertextModulus, GlweSize, PolynomialSize, SeededGlweCiphertextList,
    };
    use veilrank_core::hint;
    use veilrank_core::ntt::switch_from_native;
    use veilrank_core::V1_128;

    /// The hint against a direct computation: per block, `sum_i A_i V_{b,i}` negacyclically in
    /// the coefficient domain, with each mask `A_i` as tfhe itself regenerates it from the
    /// public seed (so the client's encryption and the server's hint agree on the masks).
    #[test]
    fn the_hint_is_the_public_masks_times_the_catalog() {
        let n = V1_128.polynomial_size;
        let (dim, items) = (2, n + 52);
        let values: Vec<i8> = (0..dim * items)
            .map(|x| (((x * 37 + 11) % 255) as i32 - 127) as i8)
            .collect();
        for prime in veilrank_core::ntt::SERVER_PRIMES {
            let catalog =
                PreparedCatalog::prepare_on(&V1_128, dim, &values, prime, &|_, _| {}).unwrap();
            assert_eq!(catalog.noise_plan().prime, prime);
            check_hint(&catalog, &values, dim, items);
        }
    }

    fn check_hint(catalog: &PreparedCatalog, values: &[i8], dim: usize, items: usize) {
        let n = V1_128.polynomial_size;
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
            // |A v| < 2^70 and 2 N of them fit an i128 without reduction
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
