//! The server's catalog in the transform domain, prepared once, and scoring against it.
//!
//! Items are cut in blocks of N. For block b and feature i the catalog holds the polynomial
//! `V_{b,i}(X) = sum_j v_{bN+j, i} X^j`, forward-transformed and normalized under the prime the
//! noise analysis picked. A query's score for block b is `sum_i GLWE(u_i) * V_{b,i}`: coefficient
//! j decrypts to the score of item bN + j. 8 bytes per item-feature.

use rayon::prelude::*;

use crate::bitpack;
use crate::noise::{self, CatalogNoiseStats, NoisePlan};
use crate::ntt::from_signed;
use crate::params::ParameterSet;
use crate::query::{ExpandedQuery, Query};
use crate::response::Response;
use crate::{Error, Result};

/// Most items a catalog may have (the wire format counts them in a u32).
pub const MAX_ITEMS: usize = 1 << 28;

/// A catalog ready to score encrypted queries.
pub struct PreparedCatalog {
    params: ParameterSet,
    dim: usize,
    items: usize,
    plan: NoisePlan,
    /// `blocks * dim * N` values: block-major, then feature, then coefficient.
    ntt: Vec<u64>,
}

impl PreparedCatalog {
    /// Prepares a quantized catalog: `values` holds `items * dim` values, item-major.
    pub fn prepare(params: &ParameterSet, dim: usize, values: &[i8]) -> Result<Self> {
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
        let mut ntt = vec![0u64; blocks * dim * n];
        ntt.par_chunks_mut(n).enumerate().for_each(|(index, poly)| {
            let (b, i) = (index / dim, index % dim);
            for (j, c) in poly.iter_mut().enumerate() {
                *c = from_signed(i64::from(coefficient(b, i, j)), q);
            }
            ntt_plan.fwd(poly);
            ntt_plan.normalize(poly);
        });
        Ok(Self {
            params: *params,
            dim,
            items,
            plan,
            ntt,
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
        self.ntt.len() * std::mem::size_of::<u64>()
    }

    /// Scores an encrypted query against every item: expansion, then [`Self::score_expanded`].
    pub fn score(&self, query: &Query) -> Result<Response> {
        let expanded = query.expand(&self.params, self.dim, self.plan.prime)?;
        self.score_expanded(&expanded)
    }

    /// Scores an expanded query: per block, multiply-accumulate over the features in the
    /// transform domain, transform back, switch to the response width. Blocks run in parallel
    /// on the current rayon pool. The work done depends only on the sizes, never on values.
    pub fn score_expanded(&self, query: &ExpandedQuery) -> Result<Response> {
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
        let n = self.params.polynomial_size;
        let plan = self.plan.prime.plan();
        let q = self.plan.prime.modulus();
        let bits = self.plan.response_bits;
        let to_bits = 2f64.powi(bits as i32) / q as f64;
        let bit_mask = (1u64 << bits) - 1;
        let blocks: Vec<serde_bytes::ByteBuf> = self
            .ntt
            .par_chunks(self.dim * n)
            .enumerate()
            .map(|(b, block)| {
                let mut acc = vec![0u64; 2 * n];
                let (acc_mask, acc_body) = acc.split_at_mut(n);
                for (v, ct) in block.chunks_exact(n).zip(query.polys.chunks_exact(2 * n)) {
                    let (mask, body) = ct.split_at(n);
                    plan.mul_accumulate(acc_mask, mask, v);
                    plan.mul_accumulate(acc_body, body, v);
                }
                plan.inv(acc_mask);
                plan.inv(acc_body);
                let in_block = (self.items - b * n).min(n);
                // q -> 2^bits: round(x * 2^bits / q); f64 is exact to 2^-18 of a unit here
                let switch = |x: u64| ((x as f64 * to_bits).round() as u64) & bit_mask;
                let values: Vec<u64> = acc_mask
                    .iter()
                    .chain(&acc_body[..in_block])
                    .map(|&x| switch(x))
                    .collect();
                serde_bytes::ByteBuf::from(bitpack::pack(&values, bits))
            })
            .collect();
        Ok(Response {
            bits: bits as u8,
            dim: self.dim as u32,
            items: self.items as u32,
            blocks,
        })
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
