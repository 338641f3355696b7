//! The client's secret key: generation from OS randomness, storage, zeroization, and the
//! secret of each query derived from it.
//!
//! Every query is encrypted under a secret of its own ([`QuerySecret`]): the masks of a query's
//! ciphertexts are public and the same for every query ([`crate::hint`]), and two vectors under
//! one secret and the same masks would give their difference away. The secret is derived from
//! the long-term key and the query's public nonce, so that a stored profile's scores can be
//! decrypted later with nothing kept but the key.

use std::fmt;

use tfhe::core_crypto::commons::math::random::Seed;
use tfhe::core_crypto::prelude::{
    allocate_and_generate_new_binary_glwe_secret_key, DefaultRandomGenerator, GlweDimension,
    GlweSecretKeyOwned, PolynomialSize, SecretRandomGenerator,
};
use zeroize::{Zeroize, Zeroizing};

use crate::params::{Fingerprint, ParameterSet};
use crate::{Error, Result};

const KEY_MAGIC: &[u8; 4] = b"VRSK";
const KEY_VERSION: u16 = 1;
const CHECKSUM_LEN: usize = 16;

/// blake3's key-derivation context of the key that derives query secrets (a fixed, unique string).
const QUERY_SECRET_CONTEXT: &str = "veilrank 2026-11-23 query secrets from a long-term key v1";

/// The client's long-term secret: 2048 uniform bits (stored as a binary GLWE key). It never
/// leaves the client and never encrypts directly: it derives each query's secret.
///
/// Its memory (the bits and the derivation key) is zeroized on drop; `Debug` prints only which
/// parameter set it belongs to.
pub struct SecretKey {
    params: ParameterSet,
    key: GlweSecretKeyOwned<u64>,
    /// The blake3 key that derives query secrets, itself derived from `key`.
    derive: Zeroizing<[u8; 32]>,
}

/// The binary GLWE secret of one query: `PRF(long-term key, nonce)`, uniform like a freshly
/// drawn key. Zeroized on drop, never printed.
pub(crate) struct QuerySecret {
    key: GlweSecretKeyOwned<u64>,
}

impl QuerySecret {
    /// The tfhe key, for tests that pin encryption to tfhe's own.
    #[cfg(test)]
    pub(crate) fn tfhe_key(&self) -> &GlweSecretKeyOwned<u64> {
        &self.key
    }

    /// Its coefficients (0 or 1), for decryption.
    pub(crate) fn coefficients(&self) -> &[u64] {
        self.key.as_ref()
    }
}

impl Drop for QuerySecret {
    fn drop(&mut self) {
        self.key.as_mut().zeroize();
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(params: &ParameterSet) -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 16]);
        getrandom::fill(seed.as_mut()).map_err(|e| Error::Randomness(e.to_string()))?;
        let mut generator =
            SecretRandomGenerator::<DefaultRandomGenerator>::new(Seed(u128::from_le_bytes(*seed)));
        let key = allocate_and_generate_new_binary_glwe_secret_key(
            GlweDimension(params.glwe_dimension),
            PolynomialSize(params.polynomial_size),
            &mut generator,
        );
        Ok(Self::from_tfhe(*params, key))
    }

    fn from_tfhe(params: ParameterSet, key: GlweSecretKeyOwned<u64>) -> Self {
        let bits = Zeroizing::new(pack_bits(key.as_ref()));
        let derive = Zeroizing::new(blake3::derive_key(QUERY_SECRET_CONTEXT, &bits));
        Self {
            params,
            key,
            derive,
        }
    }

    /// The secret of the query with public nonce `nonce`. A fresh random nonce per encryption
    /// gives every query a secret of its own (two nonces collide with probability 2^-128 per
    /// pair); the same nonce gives the same secret back for decryption.
    pub(crate) fn query_secret(&self, nonce: u128) -> QuerySecret {
        let n = self.params.polynomial_size * self.params.glwe_dimension;
        let mut hasher = blake3::Hasher::new_keyed(&self.derive);
        hasher.update(&nonce.to_le_bytes());
        let mut reader = hasher.finalize_xof();
        hasher.zeroize();
        let mut bits = Zeroizing::new(vec![0u8; n.div_ceil(8)]);
        reader.fill(&mut bits);
        reader.zeroize();
        let coefficients: Vec<u64> = (0..n)
            .map(|i| u64::from((bits[i / 8] >> (i % 8)) & 1))
            .collect();
        QuerySecret {
            key: GlweSecretKeyOwned::from_container(
                coefficients,
                PolynomialSize(self.params.polynomial_size),
            ),
        }
    }

    /// The parameter set this key belongs to.
    pub fn params(&self) -> &ParameterSet {
        &self.params
    }

    /// The storage form: magic, version, parameter fingerprint, the key bits, a checksum.
    /// The buffer is zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let n = self.params.polynomial_size;
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 2 + 32 + 4 + n / 8 + CHECKSUM_LEN));
        out.extend_from_slice(KEY_MAGIC);
        out.extend_from_slice(&KEY_VERSION.to_le_bytes());
        out.extend_from_slice(&self.params.fingerprint().0);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&Zeroizing::new(pack_bits(self.key.as_ref())));
        let checksum = blake3::hash(&out);
        out.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        out
    }

    /// Reads a key written by [`SecretKey::to_bytes`] for the parameter set `params`.
    pub fn try_from_bytes(params: &ParameterSet, bytes: &[u8]) -> Result<Self> {
        let n = params.polynomial_size;
        let expected_len = 4 + 2 + 32 + 4 + n / 8 + CHECKSUM_LEN;
        if bytes.len() < 6 || &bytes[..4] != KEY_MAGIC {
            return Err(Error::InvalidKey("not a veilrank secret key".into()));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != KEY_VERSION {
            return Err(Error::InvalidKey(format!(
                "key format version {version}, this build reads version {KEY_VERSION}"
            )));
        }
        if bytes.len() != expected_len {
            return Err(Error::InvalidKey(format!(
                "{} bytes, expected {expected_len}",
                bytes.len()
            )));
        }
        let (body, checksum) = bytes.split_at(expected_len - CHECKSUM_LEN);
        if &blake3::hash(body).as_bytes()[..CHECKSUM_LEN] != checksum {
            return Err(Error::InvalidKey(
                "checksum mismatch: the file is corrupt".into(),
            ));
        }
        let fingerprint = &body[6..38];
        if fingerprint != params.fingerprint().0 {
            return Err(Error::InvalidKey(format!(
                "made for parameter set {}, expected {}",
                crate::params::hex(fingerprint),
                params.fingerprint()
            )));
        }
        let stored_n = u32::from_le_bytes([body[38], body[39], body[40], body[41]]) as usize;
        if stored_n != n {
            return Err(Error::InvalidKey(format!(
                "polynomial size {stored_n}, expected {n}"
            )));
        }
        let mut coefficients = Vec::with_capacity(n);
        for &byte in &body[42..] {
            for i in 0..8 {
                coefficients.push(u64::from((byte >> i) & 1));
            }
        }
        let key = GlweSecretKeyOwned::from_container(coefficients, PolynomialSize(n));
        Ok(Self::from_tfhe(*params, key))
    }

    /// The fingerprint of this key's parameter set.
    pub fn fingerprint(&self) -> Fingerprint {
        self.params.fingerprint()
    }
}

impl SecretKey {
    /// Overwrites every secret byte with zeros.
    fn wipe(&mut self) {
        self.key.as_mut().zeroize();
        self.derive.zeroize();
    }
}

/// Key bits (0 or 1 each), eight to a byte, least significant first.
fn pack_bits(bits: &[u64]) -> Vec<u8> {
    bits.chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |b, (i, &bit)| b | (((bit & 1) as u8) << i))
        })
        .collect()
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("params", &self.params.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::V1_128;

    #[test]
    fn storage_round_trips() {
        let key = SecretKey::generate(&V1_128).unwrap();
        let bytes = key.to_bytes();
        let back = SecretKey::try_from_bytes(&V1_128, &bytes).unwrap();
        assert_eq!(key.key.as_ref(), back.key.as_ref());
        assert_eq!(*key.derive, *back.derive);
        assert!(key.key.as_ref().iter().all(|&b| b <= 1));
    }

    #[test]
    fn two_keys_differ() {
        let a = SecretKey::generate(&V1_128).unwrap();
        let b = SecretKey::generate(&V1_128).unwrap();
        assert_ne!(a.key.as_ref(), b.key.as_ref());
    }

    #[test]
    fn corrupt_and_foreign_files_are_rejected() {
        let key = SecretKey::generate(&V1_128).unwrap();
        let bytes = key.to_bytes().to_vec();
        let mut flipped = bytes.clone();
        flipped[50] ^= 1;
        assert!(matches!(
            SecretKey::try_from_bytes(&V1_128, &flipped),
            Err(Error::InvalidKey(m)) if m.contains("checksum")
        ));
        assert!(SecretKey::try_from_bytes(&V1_128, &bytes[..bytes.len() - 1]).is_err());
        assert!(SecretKey::try_from_bytes(&V1_128, b"hello").is_err());
        assert!(SecretKey::try_from_bytes(&V1_128, &[]).is_err());
        let other = ParameterSet {
            name: "other",
            ..V1_128
        };
        assert!(SecretKey::try_from_bytes(&other, &bytes).is_err());
    }

    #[test]
    fn debug_prints_no_secret() {
        let key = SecretKey::generate(&V1_128).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains('['), "{shown}");
    }

    #[test]
    fn drop_zeroizes() {
        let mut key = SecretKey::generate(&V1_128).unwrap();
        // run what drop runs without freeing, then look at the memory
        key.wipe();
        assert!(key.key.as_ref().iter().all(|&b| b == 0));
        assert!(key.derive.iter().all(|&b| b == 0));
    }

    #[test]
    fn query_secrets_are_deterministic_per_nonce_and_differ_across_nonces_and_keys() {
        let key = SecretKey::generate(&V1_128).unwrap();
        let other = SecretKey::generate(&V1_128).unwrap();
        let a = key.query_secret(7);
        assert_eq!(a.coefficients(), key.query_secret(7).coefficients());
        assert_ne!(a.coefficients(), key.query_secret(8).coefficients());
        assert_ne!(a.coefficients(), other.query_secret(7).coefficients());
        // a stored key derives the same secrets after a round trip
        let back = SecretKey::try_from_bytes(&V1_128, &key.to_bytes()).unwrap();
        assert_eq!(a.coefficients(), back.query_secret(7).coefficients());
        // binary and balanced like a freshly drawn key (weight: mean 1024, sd 22.6, +-5.5 sd)
        assert_eq!(a.coefficients().len(), V1_128.polynomial_size);
        assert!(a.coefficients().iter().all(|&b| b <= 1));
        let weight: u64 = a.coefficients().iter().sum();
        assert!((900..=1148).contains(&weight), "weight {weight}");
        // nor is it the long-term key itself
        assert_ne!(a.coefficients(), key.key.as_ref());
    }
}
