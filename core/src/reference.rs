//! The server's computation, the slow obvious way: one polynomial product after another, every
//! value reduced, exact rounding of the response.
//!
//! It is the scheme's definition of what a server returns, portable and short: the client's
//! exactness tests run against it on every platform (aarch64, wasm) without the server's engine,
//! and the engine's fast kernels are checked against the same results. It is not built for
//! speed (a catalog of 100,000 items x 64 takes seconds).

use serde_bytes::ByteBuf;

use crate::bitpack;
use crate::hint::{public_masks, Hint};
use crate::noise::{self, CatalogNoiseStats, NoisePlan};
use crate::ntt::{from_signed, switch_from_native, ServerPrime, SERVER_PRIMES};
use crate::params::ParameterSet;
use crate::query::Query;
use crate::response::Response;
use crate::{Error, Result};

/// Most items a catalog may have (the wire format counts them in a u32).
pub const MAX_ITEMS: usize = 1 << 28;

/// A catalog prepared the obvious way: per block and feature, `V_{b,i}` forward-transformed and
/// normalized under the prime the noise analysis picks, and the hint computed from them.
pub struct ReferenceCatalog {
    params: ParameterSet,
    dim: usize,
    items: usize,
    plan: NoisePlan,
    /// `blocks * dim * N` values, block-major then feature-major.
    polys: Vec<u64>,
    hint: Hint,
}

impl ReferenceCatalog {
    /// Prepares a quantized catalog: `values` holds `items * dim` values, item-major.
    pub fn prepare(params: &ParameterSet, dim: usize, values: &[i8]) -> Result<Self> {
        Self::prepare_among(params, dim, values, &SERVER_PRIMES)
    }

    /// [`Self::prepare`] under the first of `primes` (fastest first) that the noise analysis
    /// allows ([`noise::choose_among`]): what a server whose CPU orders them so computes.
    pub fn prepare_among(
        params: &ParameterSet,
        dim: usize,
        values: &[i8],
        primes: &[ServerPrime],
    ) -> Result<Self> {
        let items = check_catalog(params, dim, values)?;
        let plan = noise::choose_among(
            params,
            dim,
            &CatalogNoiseStats::of_catalog(params, dim, values),
            primes,
        )?;
        let n = params.polynomial_size;
        let (q, ntt) = (plan.prime.modulus(), plan.prime.plan());
        let blocks = items.div_ceil(n);
        let mut polys = vec![0u64; blocks * dim * n];
        for (x, poly) in polys.chunks_exact_mut(n).enumerate() {
            let (b, i) = (x / dim, x % dim);
            for (j, c) in poly.iter_mut().enumerate() {
                let item = b * n + j;
                let v = if item < items {
                    values[item * dim + i]
                } else {
                    0
                };
                *c = from_signed(i64::from(v), q);
            }
            ntt.fwd(poly);
            ntt.normalize(poly);
        }
        let masks = public_masks(params, dim, plan.prime);
        let mut hint = vec![0u64; blocks * n];
        for (b, h) in hint.chunks_exact_mut(n).enumerate() {
            for i in 0..dim {
                ntt.mul_accumulate(h, &masks[i * n..][..n], &polys[(b * dim + i) * n..][..n]);
            }
            // tfhe-ntt's multiply-accumulate on IFMA leaves a rare value in [q, 2q)
            ntt.reduce_fully(h);
        }
        let hint = Hint::try_new(params, plan.prime, dim, items, hint)?;
        Ok(Self {
            params: *params,
            dim,
            items,
            plan,
            polys,
            hint,
        })
    }

    /// The catalog's hint, which clients need to decrypt.
    pub fn hint(&self) -> &Hint {
        &self.hint
    }

    /// The number of items.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The prime and response width the noise analysis picked.
    pub fn noise_plan(&self) -> &NoisePlan {
        &self.plan
    }

    /// Scores an encrypted query against every item: per block `R_b = sum_i B_i V_{b,i}`, back
    /// from the transform domain, each coefficient rounded exactly from `Z_q` to `w` bits.
    pub fn score(&self, query: &Query) -> Result<Response> {
        query.validate(&self.params, self.dim)?;
        let n = self.params.polynomial_size;
        let (q, ntt) = (self.plan.prime.modulus(), self.plan.prime.plan());
        let upload = self.params.upload_body_bits;
        let mut bodies = bitpack::unpack(&query.bodies, upload, self.dim * n)?;
        for body in bodies.chunks_exact_mut(n) {
            for b in body.iter_mut() {
                *b = switch_from_native(*b << (64 - upload), q);
            }
            ntt.fwd(body);
        }
        let bits = self.plan.response_bits;
        let blocks = self
            .polys
            .chunks_exact(self.dim * n)
            .enumerate()
            .map(|(b, block)| {
                let mut acc = vec![0u64; n];
                for (body, poly) in bodies.chunks_exact(n).zip(block.chunks_exact(n)) {
                    ntt.mul_accumulate(&mut acc, body, poly);
                }
                ntt.inv(&mut acc);
                let in_block = (self.items - b * n).min(n);
                for x in &mut acc[..in_block] {
                    // round(x 2^w / q) mod 2^w
                    let scaled = (u128::from(*x) << bits) + u128::from(q) / 2;
                    *x = (scaled / u128::from(q)) as u64 & ((1u64 << bits) - 1);
                }
                ByteBuf::from(bitpack::pack(&acc[..in_block], bits))
            })
            .collect();
        Ok(Response {
            bits: bits as u8,
            dim: self.dim as u32,
            items: self.items as u32,
            nonce: query.nonce,
            hint: self.hint.id(),
            blocks,
        })
    }
}

/// Checks a quantized catalog's shape (a supported dimension, at least one item, whole items,
/// values within the precision's limb bound, at most [`MAX_ITEMS`] rows) and returns its number
/// of rows (items times limbs).
pub fn check_catalog(params: &ParameterSet, dim: usize, values: &[i8]) -> Result<usize> {
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
    let precision = params.precision;
    if !items.is_multiple_of(precision.limbs()) {
        return Err(Error::Malformed(format!(
            "{items} rows is not a whole number of items of {} limbs",
            precision.limbs()
        )));
    }
    let bound = precision.limb_bound();
    if let Some(at) = values.iter().position(|&v| i32::from(v).abs() > bound) {
        return Err(Error::Malformed(format!(
            "catalog value {} at {at} is outside the bound {bound} of precision {precision}",
            values[at]
        )));
    }
    if items > MAX_ITEMS {
        return Err(Error::CatalogTooLarge {
            found: items,
            max: MAX_ITEMS,
        });
    }
    Ok(items)
}

impl std::fmt::Debug for ReferenceCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceCatalog")
            .field("dim", &self.dim)
            .field("items", &self.items)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}
