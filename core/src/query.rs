//! The encrypted query: one GLWE ciphertext per feature under public masks and a secret of
//! the query's own (client), and its bodies in the transform domain (server).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
use tfhe::core_crypto::prelude::{
    encrypt_seeded_glwe_ciphertext_list, CiphertextModulus, GlweCiphertextCount, GlweSize,
    PlaintextList, PolynomialSize, SeededGlweCiphertextList, Seeder, TUniform,
};
use zeroize::Zeroizing;

use crate::bitpack;
use crate::hint::public_seed;
use crate::key::SecretKey;
use crate::ntt::{switch_from_native, ServerPrime};
use crate::params::ParameterSet;
use crate::{Error, Result};

/// An encrypted preference vector as it travels.
///
/// Feature `i` is a GLWE encryption of the constant polynomial `u_i * Delta` under the public
/// mask of feature `i` ([`crate::hint`]) and the secret the key derives from `nonce`
/// ([`SecretKey`]). The masks are public, so only the bodies travel, rounded to the parameter
/// set's `upload_body_bits` and bit-packed: 2048 * 6 bytes per feature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The vector's dimension.
    pub dim: u32,
    /// Which secret of the client's key encrypts this query: public, random, fresh for every
    /// encryption. Responses carry it back, so the client can decrypt them later (stored
    /// profiles) with nothing kept but its key.
    pub nonce: u128,
    /// The bodies, `dim * N` values of `upload_body_bits` bits, packed.
    #[serde(with = "serde_bytes")]
    pub bodies: Vec<u8>,
}

/// Hands tfhe a seed that was drawn from the OS beforehand.
struct DrawnSeeder(Seed);

impl Seeder for DrawnSeeder {
    fn seed(&mut self) -> Seed {
        self.0
    }

    fn is_available() -> bool {
        true
    }
}

impl Query {
    /// Encrypts a quantized preference vector under a fresh secret of `key`.
    pub fn encrypt(key: &SecretKey, values: &[i8]) -> Result<Self> {
        let params = *key.params();
        let dim = values.len();
        let delta_log2 = params.delta_log2(dim)?;
        let n = params.polynomial_size;
        let drop_bits = 64 - params.upload_body_bits;

        // the query's nonce, and a noise seed per feature, from the OS
        let mut randomness = Zeroizing::new(vec![0u8; 16 * (dim + 1)]);
        getrandom::fill(&mut randomness).map_err(|e| Error::Randomness(e.to_string()))?;
        let seed = |c: &[u8]| {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(c);
            u128::from_le_bytes(bytes)
        };
        let (nonce, noise) = randomness.split_at(16);
        let nonce = seed(nonce);
        let noise_seeds: Vec<u128> = noise.chunks_exact(16).map(seed).collect();
        let secret = key.query_secret(nonce);

        let mut bodies = vec![0u64; dim * n];
        bodies
            .par_chunks_mut(n)
            .zip(values.par_iter().zip(&noise_seeds))
            .enumerate()
            .for_each(|(i, (out, (&value, &noise_seed)))| {
                let mut plaintext = vec![0u64; n];
                plaintext[0] = (i64::from(value) as u64) << delta_log2;
                let plaintext = PlaintextList::from_container(plaintext);
                let mut ct = SeededGlweCiphertextList::new(
                    0u64,
                    GlweSize(params.glwe_dimension + 1),
                    PolynomialSize(n),
                    GlweCiphertextCount(1),
                    CompressionSeed::from(Seed(public_seed(&params, i))),
                    CiphertextModulus::new_native(),
                );
                encrypt_seeded_glwe_ciphertext_list(
                    secret.tfhe_key(),
                    &mut ct,
                    &plaintext,
                    TUniform::<u64>::new(params.noise_bound_log2),
                    &mut DrawnSeeder(Seed(noise_seed)),
                );
                for (o, &b) in out.iter_mut().zip(ct.as_ref()) {
                    *o = b.wrapping_add(1 << (drop_bits - 1)) >> drop_bits;
                }
            });

        Ok(Self {
            dim: dim as u32,
            nonce,
            bodies: bitpack::pack(&bodies, params.upload_body_bits),
        })
    }

    /// Checks the shape against the parameter set and the dimension the receiver expects.
    pub fn validate(&self, params: &ParameterSet, expected_dim: usize) -> Result<()> {
        let dim = self.dim as usize;
        if dim != expected_dim {
            return Err(Error::DimensionMismatch {
                expected: expected_dim,
                found: dim,
            });
        }
        params.check_dim(dim)?;
        let expected = bitpack::packed_len(dim * params.polynomial_size, params.upload_body_bits);
        if self.bodies.len() != expected {
            return Err(Error::Malformed(format!(
                "ciphertext bodies are {} bytes, expected {expected} for dimension {dim}",
                self.bodies.len()
            )));
        }
        Ok(())
    }

    /// Server side: moves every body to the transform domain of `prime` (the masks are public:
    /// their part of the scores is the catalog's hint, [`crate::hint`]).
    pub fn expand(
        &self,
        params: &ParameterSet,
        expected_dim: usize,
        prime: ServerPrime,
    ) -> Result<ExpandedQuery> {
        self.validate(params, expected_dim)?;
        let n = params.polynomial_size;
        let dim = self.dim as usize;
        let shift = 64 - params.upload_body_bits;
        // N bodies of 48 bits are a whole number of bytes: each feature unpacks on its own
        let feature_bytes = bitpack::packed_len(n, params.upload_body_bits);
        debug_assert_eq!(feature_bytes * 8, n * params.upload_body_bits as usize);
        let q = prime.modulus();
        let plan = prime.plan();

        let mut bodies = vec![0u64; dim * n];
        bodies
            .par_chunks_mut(n)
            .zip(self.bodies.par_chunks(feature_bytes))
            .try_for_each(|(body, packed)| {
                bitpack::unpack_into(packed, params.upload_body_bits, body)?;
                body.iter_mut()
                    .for_each(|b| *b = switch_from_native(*b << shift, q));
                plan.fwd(body);
                Ok::<_, Error>(())
            })?;
        Ok(ExpandedQuery {
            prime,
            dim,
            nonce: self.nonce,
            bodies,
        })
    }
}

/// A query's bodies in the transform domain of a server prime, feature-major (`dim * N`
/// values). The scoring pass pairs two queries' bodies per kernel slot ([`crate::kernel::pair`]).
pub struct ExpandedQuery {
    pub(crate) prime: ServerPrime,
    pub(crate) dim: usize,
    pub(crate) nonce: u128,
    pub(crate) bodies: Vec<u64>,
}

impl ExpandedQuery {
    /// The prime it was expanded under.
    pub fn prime(&self) -> ServerPrime {
        self.prime
    }
}
