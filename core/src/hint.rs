//! The hint: the mask half of every score, computed once per catalog version instead of once
//! per query.
//!
//! Every query's ciphertexts share public masks `A_1 .. A_d`, derived from the parameter set
//! ([`public_seed`]); a query differs only in its bodies `B_i = A_i S + Delta u_i + e_i`, under
//! a secret `S` of its own ([`crate::key`]). The server's result for block b is
//! `R_b = sum_i B_i V_{b,i}`, and `R_b - H_b S` decrypts to the block's scores, where
//! `H_b = sum_i A_i V_{b,i}` does not depend on the query. So the server computes `H` once per
//! catalog version, the client downloads it once per version, and each query costs the server
//! the bodies alone: half the multiply-accumulate and the inverse transforms of masks and bodies
//! both, and a response of one coefficient per item.
//!
//! Reusing one public matrix with independent secrets is plain LWE (a hybrid over the queries),
//! as in SimplePIR and Tiptoe. The hint is public, the same for every user: fetching it says
//! only that a client uses the catalog. It comes in two forms: exact, in the transform domain of
//! the server's prime, so the client's product `H_b S` is exact too and only the response's body
//! is rounded; or rounded to the fewest bits the noise analysis allows ([`rounded`]), about half
//! the bytes, which new clients ask for.

mod rounded;

pub(crate) use rounded::RoundedHintMessage;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bitpack;
use crate::ntt::{switch_from_native, ServerPrime};
use crate::params::ParameterSet;
use crate::precision::Precision;
use crate::stream;
use crate::{Error, Result};

/// blake3's key-derivation context of the public mask seeds (a fixed, unique string).
const PUBLIC_MASK_CONTEXT: &str = "veilrank 2026-11-23 public ciphertext masks v1";

/// The seed of feature `feature`'s public mask: the same for every user and query of the
/// parameter set, so the server can compute the hint before any query arrives.
pub fn public_seed(params: &ParameterSet, feature: usize) -> u128 {
    let mut input = params.fingerprint().0.to_vec();
    input.extend_from_slice(&(feature as u64).to_le_bytes());
    let digest = blake3::derive_key(PUBLIC_MASK_CONTEXT, &input);
    let mut seed = [0u8; 16];
    seed.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(seed)
}

/// The public masks of features `0 .. dim` as the server computes with them: switched to
/// `prime` and forward-transformed, feature-major (`dim * N` values). The server's hint is
/// `H_b = sum_i A_i V_{b,i}` over these.
pub fn public_masks(params: &ParameterSet, dim: usize, prime: ServerPrime) -> Vec<u64> {
    let n = params.polynomial_size;
    let q = prime.modulus();
    let plan = prime.plan();
    let mut masks = vec![0u64; dim * n];
    masks.par_chunks_mut(n).enumerate().for_each(|(i, mask)| {
        stream::fill_words_with(public_seed(params, i), mask, |m| switch_from_native(m, q));
        plan.fwd(mask);
    });
    masks
}

/// A hint's identity: a digest of its content. Every response names the hint it must be
/// decrypted with, so a client holding another (a catalog replaced in between) gets an error,
/// not wrong scores.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HintId(pub [u8; 16]);

impl std::fmt::Debug for HintId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HintId({})", crate::params::hex(&self.0))
    }
}

/// `H_b` for every block b of a catalog, in the transform domain of its prime: exact, or the
/// transform of `H_b` rounded to fewer bits.
#[derive(Clone, PartialEq, Eq)]
pub struct Hint {
    prime: ServerPrime,
    /// The catalog's precision: how its rows add up to items' scores, and its Delta.
    precision: Precision,
    dim: usize,
    items: usize,
    n: usize,
    /// `blocks * N` reduced transform-domain values ([`crate::ntt::Plan::is_reduced`]),
    /// block-major (normalized, as the client multiplies them by its transformed key and
    /// transforms back).
    values: Vec<u64>,
    /// `Some(t)`: `values` transform `H_b 2^t / q` rounded, centred; `None`: `H_b` itself.
    rounding: Option<u32>,
    /// The exact hint's identity, in either form: responses name it.
    id: HintId,
}

/// The hint as it travels: the values in whole bytes each ([`Hint::value_bytes`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct HintMessage {
    modulus: u64,
    dim: u32,
    items: u32,
    #[serde(with = "serde_bytes")]
    values: Vec<u8>,
}

impl Hint {
    /// A hint of `values` (`H_b` in the transform domain, block-major, each reduced) for
    /// a catalog of `items` rows of dimension `dim` at the precision of `params` (one row per
    /// limb of each item, [`crate::precision`]).
    pub fn try_new(
        params: &ParameterSet,
        prime: ServerPrime,
        dim: usize,
        items: usize,
        values: Vec<u64>,
    ) -> Result<Self> {
        let n = params.polynomial_size;
        let expected = items.div_ceil(n) * n;
        if values.len() != expected {
            return Err(Error::Malformed(format!(
                "the hint holds {} values, {items} items need {expected}",
                values.len()
            )));
        }
        let plan = prime.plan();
        if let Some(at) = values.iter().position(|&v| !plan.is_reduced(v)) {
            return Err(Error::Malformed(format!(
                "hint value {at} is not reduced modulo {}",
                prime.name()
            )));
        }
        let precision = params.precision;
        let id = Self::digest(prime, precision, dim, items, &values);
        Ok(Self {
            prime,
            precision,
            dim,
            items,
            n,
            values,
            rounding: None,
            id,
        })
    }

    fn digest(
        prime: ServerPrime,
        precision: Precision,
        dim: usize,
        items: usize,
        values: &[u64],
    ) -> HintId {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"veilrank-hint-v1");
        hasher.update(&prime.modulus().to_le_bytes());
        // the baseline's ids are the ones before precisions existed
        if precision != Precision::BASELINE {
            hasher.update(precision.to_string().as_bytes());
        }
        hasher.update(&(dim as u64).to_le_bytes());
        hasher.update(&(items as u64).to_le_bytes());
        for chunk in values.chunks(4096) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            hasher.update(&bytes);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        HintId(id)
    }

    /// The hint of a catalog cut in shards of whole blocks, from the shards' hints in block
    /// order: what a gateway serves. Every part but the last must be whole blocks, and all must
    /// share the prime and dimension.
    pub fn join(params: &ParameterSet, parts: Vec<Hint>) -> Result<Self> {
        let first = parts
            .first()
            .ok_or_else(|| Error::Malformed("no hint parts to join".into()))?;
        let (prime, dim, n) = (first.prime, first.dim, params.polynomial_size);
        let last = parts.len() - 1;
        let mut items = 0usize;
        let mut values = Vec::with_capacity(parts.iter().map(|p| p.values.len()).sum());
        for (k, part) in parts.into_iter().enumerate() {
            if part.prime != prime
                || part.dim != dim
                || part.n != n
                || part.precision != params.precision
                || part.rounding.is_some()
            {
                return Err(Error::Malformed(format!(
                    "hint part {k} is rounded, or under another prime, dimension, polynomial \
                     size or precision"
                )));
            }
            if k < last && !part.items.is_multiple_of(n) {
                return Err(Error::Malformed(format!(
                    "hint part {k} of {} items is not whole blocks",
                    part.items
                )));
            }
            items += part.items;
            values.extend_from_slice(&part.values);
        }
        Self::try_new(params, prime, dim, items, values)
    }

    /// Its identity, which responses name.
    pub fn id(&self) -> HintId {
        self.id
    }

    /// The prime it is computed under.
    pub fn prime(&self) -> ServerPrime {
        self.prime
    }

    /// The catalog's precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The catalog's dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The catalog's number of rows: its items times its precision's limbs.
    pub fn items(&self) -> usize {
        self.items
    }

    /// `None` for the exact hint, `Some(t)` for one rounded to t bits.
    pub fn rounding(&self) -> Option<u32> {
        self.rounding
    }

    /// `H_b` in the transform domain (rounded where [`Self::rounding`] says).
    pub fn block(&self, b: usize) -> &[u64] {
        &self.values[b * self.n..][..self.n]
    }

    /// Bytes per value on the wire: whole bytes (7 under `ifma50`, 8 under `wide62` and under
    /// `crt54`, whose values are words of two residues), which pack and unpack without bit
    /// shuffling.
    pub fn value_bytes(prime: ServerPrime) -> usize {
        match prime {
            ServerPrime::Crt54 => 8,
            _ => (u64::BITS - prime.modulus().leading_zeros()).div_ceil(8) as usize,
        }
    }

    /// The exact form's message; `Err` for a rounded hint, which has no exact values.
    pub(crate) fn to_message(&self) -> Result<HintMessage> {
        if self.rounding.is_some() {
            return Err(Error::Malformed(
                "a rounded hint travels as a rounded hint message".into(),
            ));
        }
        let bits = Self::value_bytes(self.prime) as u32 * 8;
        Ok(HintMessage {
            modulus: self.prime.modulus(),
            dim: self.dim as u32,
            items: self.items as u32,
            values: bitpack::pack(&self.values, bits),
        })
    }

    pub(crate) fn from_message(params: &ParameterSet, message: HintMessage) -> Result<Self> {
        let prime = prime_of(message.modulus)?;
        let (dim, items) = (message.dim as usize, message.items as usize);
        params.check_dim(dim)?;
        let bits = Self::value_bytes(prime) as u32 * 8;
        let values = unpack_values(params, items, bits, &message.values)?;
        Self::try_new(params, prime, dim, items, values)
    }
}

/// The prime a hint message names.
fn prime_of(modulus: u64) -> Result<ServerPrime> {
    ServerPrime::from_modulus(modulus)
        .ok_or_else(|| Error::Malformed(format!("unknown hint modulus {modulus}")))
}

/// The `bits`-bit values of a hint of `items` rows (whole blocks) from a message's `packed`
/// bytes. `items` came from the network: at most a catalog's [`crate::reference::MAX_ITEMS`]
/// rows (so nothing overflows, wasm32 included), and the length is checked before unpacking
/// allocates.
fn unpack_values(
    params: &ParameterSet,
    items: usize,
    bits: u32,
    packed: &[u8],
) -> Result<Vec<u64>> {
    if items > crate::reference::MAX_ITEMS {
        return Err(Error::Malformed(format!(
            "a hint of {items} rows, more than a catalog may have"
        )));
    }
    let count = items.div_ceil(params.polynomial_size) * params.polynomial_size;
    let expected = bitpack::packed_len(count, bits);
    if packed.len() != expected {
        return Err(Error::Malformed(format!(
            "the hint's values are {} bytes, {items} items need {expected}",
            packed.len()
        )));
    }
    bitpack::unpack(packed, bits, count)
}

impl std::fmt::Debug for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hint")
            .field("prime", &self.prime)
            .field("dim", &self.dim)
            .field("items", &self.items)
            .field("rounding", &self.rounding)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
