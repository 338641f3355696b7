//! The encrypted scores as they travel back, and their decryption.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bitpack;
use crate::key::SecretKey;
use crate::ntt::{from_signed, CLIENT_PRIME};
use crate::{Error, Result};

/// Widest response coefficient the client's exact key product supports: with centred
/// coefficients `|(A s)_j| <= N 2^(w-1) = 2^(w+10)`, which must stay under half the client prime
/// (2^49.4).
pub const MAX_RESPONSE_BITS: u32 = 39;

/// Scores of every item, encrypted: per block of N items, the N mask coefficients then one body
/// coefficient per item of the block, each `bits` wide, packed. Coefficient j of block b
/// decrypts to the score of item bN + j.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Bits per coefficient (the server's choice, from the noise analysis).
    pub bits: u8,
    /// The dimension of the query it answers.
    pub dim: u32,
    /// Items scored.
    pub items: u32,
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
    /// Decrypts every score; `expected_items` is the catalog's size as the client knows it.
    pub fn decrypt(&self, key: &SecretKey, expected_items: usize) -> Result<Vec<i32>> {
        Ok(self.decrypt_with_error(key, expected_items)?.scores)
    }

    /// Decrypts every score and measures the noise.
    pub fn decrypt_with_error(&self, key: &SecretKey, expected_items: usize) -> Result<Decrypted> {
        let params = key.params();
        let n = params.polynomial_size;
        let dim = self.dim as usize;
        let p = params.plaintext_bits(dim)?;
        let bits = u32::from(self.bits);
        if bits <= p || bits > MAX_RESPONSE_BITS {
            return Err(Error::Malformed(format!(
                "response width {bits} bits is outside {}..={MAX_RESPONSE_BITS}",
                p + 1
            )));
        }
        let items = self.items as usize;
        if items != expected_items {
            return Err(Error::Malformed(format!(
                "response scores {items} items, the catalog has {expected_items}"
            )));
        }
        if self.blocks.len() != items.div_ceil(n) {
            return Err(Error::Malformed(format!(
                "{} blocks for {items} items",
                self.blocks.len()
            )));
        }
        let plan = CLIENT_PRIME.plan();
        let cq = CLIENT_PRIME.modulus();
        let shift = bits - p;
        let modulus_mask = (1u64 << bits) - 1;
        let half = 1u64 << (bits - 1);

        let per_block: Vec<(Vec<i32>, f64)> = self
            .blocks
            .par_iter()
            .enumerate()
            .map(|(b, packed)| {
                let in_block = (items - b * n).min(n);
                let values = bitpack::unpack(packed, bits, n + in_block)?;
                let (mask, body) = values.split_at(n);
                // A * s exactly: centre A, multiply under the client prime, lift back
                let mut product: Vec<u64> = mask
                    .iter()
                    .map(|&a| from_signed(centre(a, half, bits), cq))
                    .collect();
                plan.fwd(&mut product);
                plan.mul_assign_normalize(&mut product, key.key_ntt());
                plan.inv(&mut product);
                let mut scores = Vec::with_capacity(in_block);
                let mut max_error = 0f64;
                for (&c, &a_s) in body.iter().zip(&product) {
                    let a_s = if a_s > cq / 2 {
                        -((cq - a_s) as i64)
                    } else {
                        a_s as i64
                    };
                    let phase = c.wrapping_sub(a_s as u64) & modulus_mask;
                    let rounded = (phase.wrapping_add(1 << (shift - 1)) & modulus_mask) >> shift;
                    let score = centre(rounded, 1 << (p - 1), p);
                    let error = centre(
                        phase.wrapping_sub(rounded << shift) & modulus_mask,
                        half,
                        bits,
                    );
                    max_error = max_error.max(error.unsigned_abs() as f64);
                    scores.push(score as i32);
                }
                Ok((scores, max_error / (1u64 << shift) as f64))
            })
            .collect::<Result<_>>()?;
        let mut scores = Vec::with_capacity(items);
        let mut max_error = 0f64;
        for (s, e) in per_block {
            scores.extend(s);
            max_error = max_error.max(e);
        }
        Ok(Decrypted { scores, max_error })
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
