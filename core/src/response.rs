//! The encrypted scores as they travel back, and their decryption.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::bitpack;
use crate::hint::{Hint, HintId};
use crate::key::SecretKey;
use crate::{Error, Result};

/// Widest response coefficient a server may choose: the noise analysis never needs more, and
/// the wire's size limits count with it.
pub const MAX_RESPONSE_BITS: u32 = 39;

/// Scores of every item, encrypted: per block of N items, one coefficient of `R_b` per item of
/// the block (`bits` wide, packed). With the catalog's hint `H_b` and the query's secret `S`,
/// coefficient j of `R_b - H_b S` decrypts to the score of item bN + j.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Bits per coefficient (the server's choice, from the noise analysis).
    pub bits: u8,
    /// The dimension of the query it answers.
    pub dim: u32,
    /// Items scored.
    pub items: u32,
    /// The query's nonce: which secret of the client's key decrypts it.
    pub nonce: u128,
    /// The hint it must be decrypted with.
    pub hint: HintId,
    /// One packed buffer per block.
    pub blocks: Vec<serde_bytes::ByteBuf>,
}

/// Decrypted scores, with the largest decryption error seen, in units of Delta.
#[derive(Clone, Debug, PartialEq)]
pub struct Decrypted {
    /// The exact integer score of each item, in catalog order.
    pub scores: Vec<i32>,
    /// `max |error| / Delta` over all items: decryption is correct while it is below 0.5.
    pub max_error: f64,
}

impl Response {
    /// Decrypts every score with the catalog's `hint`; `expected_items` is the catalog's size as
    /// the client knows it. At a precision with limbs, each item's rows are added back
    /// ([`crate::precision`]): the scores are the items'.
    pub fn decrypt(&self, key: &SecretKey, hint: &Hint, expected_items: usize) -> Result<Vec<i32>> {
        Ok(self.decrypt_with_error(key, hint, expected_items)?.scores)
    }

    /// Decrypts every score and measures the noise.
    ///
    /// Per block: `H_b S` exactly, under the hint's prime q (one point-wise product with the
    /// transformed secret, one inverse transform), then the phase at the 2^64 scale,
    /// `R_b 2^(64-w) - H_b S 2^64 / q`, rounded to the nearest multiple of Delta. With a rounded
    /// hint `H'_b`, `H'_b S 2^(64-t)` stands for the last term.
    pub fn decrypt_with_error(
        &self,
        key: &SecretKey,
        hint: &Hint,
        expected_items: usize,
    ) -> Result<Decrypted> {
        let precision = hint.precision();
        let params = &key.params().with_precision(precision);
        let n = params.polynomial_size;
        let dim = self.dim as usize;
        let p = params.plaintext_bits(dim)?;
        let expected_rows = precision.rows(expected_items);
        let bits = u32::from(self.bits);
        if bits <= p || bits > MAX_RESPONSE_BITS {
            return Err(Error::Malformed(format!(
                "response width {bits} bits is outside {}..={MAX_RESPONSE_BITS}",
                p + 1
            )));
        }
        let items = self.items as usize;
        if items != expected_rows {
            return Err(Error::Malformed(format!(
                "response scores {items} rows, the catalog has {expected_rows}"
            )));
        }
        if self.blocks.len() != items.div_ceil(n) {
            return Err(Error::Malformed(format!(
                "{} blocks for {items} items",
                self.blocks.len()
            )));
        }
        if self.hint != hint.id() || hint.items() != items || hint.dim() != dim {
            return Err(Error::HintMismatch {
                expected: format!("{:?}", self.hint),
                found: format!("{:?}", hint.id()),
            });
        }
        let prime = hint.prime();
        let (plan, q) = (prime.plan(), prime.modulus());
        // x 2^64 / q as (x r) >> s, r = floor(2^(64+s) / q) < 2^64 with 2^s <= q: within 3 of
        // the exact quotient for every x < q
        let s = u64::BITS - 1 - q.leading_zeros();
        let r = ((1u128 << (64 + s)) / u128::from(q)) as u64;
        let secret = key.query_secret(self.nonce);
        let mut secret_ntt = Zeroizing::new(secret.coefficients().to_vec());
        plan.fwd(&mut secret_ntt);
        let delta_shift = 64 - p;
        let rounding = hint.rounding();

        let per_block: Vec<(Vec<i32>, u64)> = self
            .blocks
            .par_iter()
            .enumerate()
            .map(|(b, packed)| {
                let in_block = (items - b * n).min(n);
                let body = bitpack::unpack(packed, bits, in_block)?;
                let mut product = vec![0u64; n];
                plan.mul_inv(hint.block(b), &secret_ntt, &mut product);
                let mut scores = Vec::with_capacity(in_block);
                let mut max_error = 0u64;
                for (&c, &hs) in body.iter().zip(&product) {
                    let hs = match rounding {
                        None => ((u128::from(hs) * u128::from(r)) >> s) as u64,
                        // H'_b S centred, modulo 2^t, at the 2^64 scale ([`crate::hint`])
                        Some(t) => (if hs > q / 2 { hs.wrapping_sub(q) } else { hs }) << (64 - t),
                    };
                    let phase = (c << (64 - bits)).wrapping_sub(hs);
                    let score = phase.wrapping_add(1 << (delta_shift - 1)) >> delta_shift;
                    let error = phase.wrapping_sub(score << delta_shift) as i64;
                    max_error = max_error.max(error.unsigned_abs());
                    scores.push(centre(score, 1 << (p - 1), p) as i32);
                }
                Ok((scores, max_error))
            })
            .collect::<Result<_>>()?;
        let mut scores = Vec::with_capacity(items);
        let mut max_error = 0u64;
        for (s, e) in per_block {
            scores.extend(s);
            max_error = max_error.max(e);
        }
        if precision.limbs() > 1 {
            // every item's score fits an i32: `plaintext_bits` refuses precisions where not
            scores = scores
                .chunks_exact(precision.limbs())
                .map(|limbs| precision.combine(limbs) as i32)
                .collect();
        }
        Ok(Decrypted {
            scores,
            max_error: max_error as f64 / (1u64 << delta_shift) as f64,
        })
    }
}

/// A `bits`-bit value as a signed integer in `[-half, half)`.
fn centre(x: u64, half: u64, bits: u32) -> i64 {
    if x >= half {
        x as i64 - (1i64 << bits)
    } else {
        x as i64
    }
}
