//! The hint rounded to fewer bits: `H_b 2^t / q` rounded to the nearest integer, coefficient by
//! coefficient, `t` bits each, where [`crate::noise::choose`] picks `t` per catalog.
//!
//! The exact hint needs the prime's whole width per value (7 or 8 bytes); decryption needs
//! `H_b S 2^64 / q` only to within the noise margin, so about `p + 9` bits do. The client lifts
//! the rounded coefficients (centred) into Z_q and transforms them once, when it decodes the
//! hint: its work per query stays the exact hint's. `H'_b S`, at most `N 2^(t-1)` in absolute
//! value, comes back from Z_q exactly ([`crate::noise::max_hint_bits`]); scaled by `2^(64-t)` it
//! is `H_b S 2^64 / q` modulo 2^64 plus the rounding error times the key, which the noise
//! analysis counts.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Hint, HintId};
use crate::bitpack;
use crate::noise::max_hint_bits;
use crate::ntt::ServerPrime;
use crate::params::ParameterSet;
use crate::{Error, Result};

/// The rounded hint as it travels: `bits`-bit coefficients, packed, and the exact hint's id,
/// which responses name and which a client cannot recompute from rounded values.
#[derive(Serialize, Deserialize)]
pub(crate) struct RoundedHintMessage {
    modulus: u64,
    dim: u32,
    items: u32,
    bits: u8,
    id: HintId,
    #[serde(with = "serde_bytes")]
    values: Vec<u8>,
}

impl Hint {
    /// This exact hint as a client holds it after decoding [`Self::to_rounded_message`]: what
    /// servers and tests use to check the rounded form without the wire.
    pub fn rounded(&self, params: &ParameterSet, bits: u32) -> Result<Hint> {
        let coefficients = self.rounded_coefficients(params, bits)?;
        Ok(Self::from_rounded(
            params,
            self.prime,
            self.dim,
            self.items,
            bits,
            self.id,
            coefficients,
        ))
    }

    /// The message of this exact hint rounded to `bits` bits per coefficient.
    pub(crate) fn to_rounded_message(
        &self,
        params: &ParameterSet,
        bits: u32,
    ) -> Result<RoundedHintMessage> {
        let coefficients = self.rounded_coefficients(params, bits)?;
        Ok(RoundedHintMessage {
            modulus: self.prime.modulus(),
            dim: self.dim as u32,
            items: self.items as u32,
            bits: bits as u8,
            id: self.id,
            values: bitpack::pack(&coefficients, bits),
        })
    }

    /// Decodes a rounded hint's message (from the network: checked before it allocates).
    pub(crate) fn from_rounded_message(
        params: &ParameterSet,
        message: RoundedHintMessage,
    ) -> Result<Hint> {
        let prime = super::prime_of(message.modulus)?;
        let (dim, items) = (message.dim as usize, message.items as usize);
        params.check_dim(dim)?;
        let bits = check_bits(params, prime, u32::from(message.bits))?;
        let coefficients = super::unpack_values(params, items, bits, &message.values)?;
        Ok(Self::from_rounded(
            params,
            prime,
            dim,
            items,
            bits,
            message.id,
            coefficients,
        ))
    }

    /// `round(H_b 2^t / q) mod 2^t` for every coefficient of every block.
    fn rounded_coefficients(&self, params: &ParameterSet, bits: u32) -> Result<Vec<u64>> {
        if self.rounding.is_some() {
            return Err(Error::Malformed("the hint is rounded already".into()));
        }
        let bits = check_bits(params, self.prime, bits)?;
        let (plan, q) = (self.prime.plan(), u128::from(self.prime.modulus()));
        let mask = (1u64 << bits) - 1;
        let mut coefficients = self.values.clone();
        coefficients.par_chunks_mut(self.n).for_each(|block| {
            // the values are normalized: the inverse transform gives H_b's coefficients in [0, q)
            plan.inv(block);
            for c in block.iter_mut() {
                *c = (((u128::from(*c) << bits) + q / 2) / q) as u64 & mask;
            }
        });
        Ok(coefficients)
    }

    /// The hint a client multiplies with: the centred `bits`-bit coefficients lifted into Z_q,
    /// transformed and normalized, per block.
    fn from_rounded(
        params: &ParameterSet,
        prime: ServerPrime,
        dim: usize,
        items: usize,
        bits: u32,
        id: HintId,
        mut values: Vec<u64>,
    ) -> Hint {
        let n = params.polynomial_size;
        let (plan, q) = (prime.plan(), prime.modulus());
        let half = 1u64 << (bits - 1);
        values.par_chunks_mut(n).for_each(|block| {
            for c in block.iter_mut() {
                // [half, 2^t) are the negative values
                *c = if *c >= half {
                    q - ((1u64 << bits) - *c)
                } else {
                    *c
                };
            }
            plan.fwd(block);
            plan.normalize(block);
        });
        Hint {
            prime,
            precision: params.precision,
            dim,
            items,
            n,
            values,
            rounding: Some(bits),
            id,
        }
    }
}

/// `bits` if a client can multiply a hint of that width exactly under `prime`.
fn check_bits(params: &ParameterSet, prime: ServerPrime, bits: u32) -> Result<u32> {
    let widest = max_hint_bits(params, prime);
    if bits == 0 || bits > widest {
        return Err(Error::Malformed(format!(
            "a rounded hint of {bits} bits is outside 1..={widest} under {}",
            prime.name()
        )));
    }
    Ok(bits)
}

#[cfg(test)]
mod tests;
