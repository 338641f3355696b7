//! A query's bodies moved to the server's transform domain: the fixed cost of each query
//! before the pass over the catalog.

use rayon::prelude::*;
use veilrank_core::bitpack;
use veilrank_core::ntt::{switch_from_native, ServerPrime};
use veilrank_core::{Error, ParameterSet, Query, Result};

/// A query's bodies in the transform domain of a server modulus, feature-major (`dim * N`
/// values). The scoring pass pairs two queries' bodies per kernel slot.
pub struct ExpandedQuery {
    pub(crate) prime: ServerPrime,
    pub(crate) dim: usize,
    pub(crate) nonce: u128,
    pub(crate) bodies: Vec<u64>,
}

impl ExpandedQuery {
    /// Checks the query's shape, then switches every body from 2^64 to the modulus `prime` and transforms
    /// it (the masks are public: their part of the scores is the catalog's hint).
    pub fn expand(
        query: &Query,
        params: &ParameterSet,
        expected_dim: usize,
        prime: ServerPrime,
    ) -> Result<Self> {
        query.validate(params, expected_dim)?;
        let n = params.polynomial_size;
        let dim = query.dim as usize;
        let shift = 64 - params.upload_body_bits;
        // N bodies of 48 bits are a whole number of bytes: each feature unpacks on its own
        let feature_bytes = bitpack::packed_len(n, params.upload_body_bits);
        debug_assert_eq!(feature_bytes * 8, n * params.upload_body_bits as usize);
        let q = prime.modulus();
        let plan = prime.plan();

        let mut bodies = vec![0u64; dim * n];
        bodies
            .par_chunks_mut(n)
            .zip(query.bodies.par_chunks(feature_bytes))
            .try_for_each(|(body, packed)| {
                bitpack::unpack_into(packed, params.upload_body_bits, body)?;
                body.iter_mut()
                    .for_each(|b| *b = switch_from_native(*b << shift, q));
                plan.fwd(body);
                Ok::<_, Error>(())
            })?;
        Ok(Self {
            prime,
            dim,
            nonce: query.nonce,
            bodies,
        })
    }

    /// The modulus it was expanded under.
    pub fn prime(&self) -> ServerPrime {
        self.prime
    }
}
