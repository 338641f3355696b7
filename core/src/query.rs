//! The encrypted query: one seeded GLWE ciphertext per feature (client), and its expansion into
//! the transform domain (server).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
use tfhe::core_crypto::prelude::{
    encrypt_seeded_glwe_ciphertext_list, CiphertextModulus, GlweCiphertextCount, GlweSize,
    PlaintextList, PolynomialSize, SeededGlweCiphertextList, Seeder, TUniform,
};
use zeroize::Zeroizing;

use crate::bitpack;
use crate::kernel;
use crate::key::SecretKey;
use crate::mask;
use crate::ntt::{switch_from_native, ServerPrime};
use crate::params::ParameterSet;
use crate::{Error, Result};

/// An encrypted preference vector as it travels.
///
/// Feature `i` is a GLWE encryption of the constant polynomial `u_i * Delta`. Its mask is
/// regenerated from `seeds[i]` (tfhe's seeded encryption), so only the body travels, rounded to
/// the parameter set's `upload_body_bits` and bit-packed: 16 + 2048 * 6 bytes per feature.
/// One seed per feature lets both sides work on features in parallel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The vector's dimension.
    pub dim: u32,
    /// The mask seed of each feature's ciphertext.
    pub seeds: Vec<u128>,
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
    /// Encrypts a quantized preference vector under `key`.
    pub fn encrypt(key: &SecretKey, values: &[i8]) -> Result<Self> {
        let params = *key.params();
        let dim = values.len();
        let delta_log2 = params.delta_log2(dim)?;
        let n = params.polynomial_size;
        let drop_bits = 64 - params.upload_body_bits;

        // a mask seed and a noise seed per feature, from the OS
        let mut randomness = Zeroizing::new(vec![0u8; 32 * dim]);
        getrandom::fill(&mut randomness).map_err(|e| Error::Randomness(e.to_string()))?;
        let seeds: Vec<(u128, u128)> = randomness
            .chunks_exact(32)
            .map(|c| {
                let mut mask = [0u8; 16];
                let mut noise = [0u8; 16];
                mask.copy_from_slice(&c[..16]);
                noise.copy_from_slice(&c[16..]);
                (u128::from_le_bytes(mask), u128::from_le_bytes(noise))
            })
            .collect();

        let mut bodies = vec![0u64; dim * n];
        bodies
            .par_chunks_mut(n)
            .zip(values.par_iter().zip(&seeds))
            .for_each(|(out, (&value, &(mask_seed, noise_seed)))| {
                let mut plaintext = vec![0u64; n];
                plaintext[0] = (i64::from(value) as u64) << delta_log2;
                let plaintext = PlaintextList::from_container(plaintext);
                let mut ct = SeededGlweCiphertextList::new(
                    0u64,
                    GlweSize(params.glwe_dimension + 1),
                    PolynomialSize(n),
                    GlweCiphertextCount(1),
                    CompressionSeed::from(Seed(mask_seed)),
                    CiphertextModulus::new_native(),
                );
                encrypt_seeded_glwe_ciphertext_list(
                    key.tfhe_key(),
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
            seeds: seeds.iter().map(|s| s.0).collect(),
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
        if self.seeds.len() != dim {
            return Err(Error::Malformed(format!(
                "{} mask seeds for dimension {dim}",
                self.seeds.len()
            )));
        }
        let expected = bitpack::packed_len(dim * params.polynomial_size, params.upload_body_bits);
        if self.bodies.len() != expected {
            return Err(Error::Malformed(format!(
                "ciphertext bodies are {} bytes, expected {expected} for dimension {dim}",
                self.bodies.len()
            )));
        }
        Ok(())
    }

    /// Server side: regenerates the masks (in bulk, [`mask`]) and moves every ciphertext to the
    /// transform domain of `prime`.
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

        let mut polys = vec![0u64; dim * 2 * n];
        polys
            .par_chunks_mut(2 * n)
            .zip(self.bodies.par_chunks(feature_bytes).zip(&self.seeds))
            .try_for_each(|(out, (packed, &seed))| {
                // layout of one GLWE: mask (k * N) then body (N); k = 1
                let (mask, body) = out.split_at_mut(n);
                mask::fill_with(seed, mask, |m| switch_from_native(m, q));
                bitpack::unpack_into(packed, params.upload_body_bits, body)?;
                body.iter_mut()
                    .for_each(|b| *b = switch_from_native(*b << shift, q));
                plan.fwd(mask);
                plan.fwd(body);
                Ok::<_, Error>(())
            })?;
        let mut tiled = kernel::tiles(polys.len());
        kernel::interleave(&polys, 2 * dim, n, &mut tiled);
        Ok(ExpandedQuery {
            prime,
            dim,
            polys: tiled,
        })
    }
}

/// A query in the transform domain of a server prime, in the tiled layout of the kernel: per
/// tile, per feature, the mask's then the body's coefficients.
pub struct ExpandedQuery {
    pub(crate) prime: ServerPrime,
    pub(crate) dim: usize,
    pub(crate) polys: kernel::Tiles,
}

impl ExpandedQuery {
    /// The prime it was expanded under.
    pub fn prime(&self) -> ServerPrime {
        self.prime
    }
}
