//! The encrypted query as it travels: one GLWE body per feature under public masks and a
//! secret of the query's own.

use serde::{Deserialize, Serialize};

use crate::bitpack;
use crate::encrypt::Encryptor;
use crate::key::SecretKey;
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

impl Query {
    /// Encrypts a quantized preference vector under a fresh secret of `key`. Computes the public
    /// masks' transforms for this one query: to encrypt several, keep an [`Encryptor`].
    pub fn encrypt(key: &SecretKey, values: &[i8]) -> Result<Self> {
        Encryptor::new(key.params(), values.len())?.encrypt(key, values)
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
}
