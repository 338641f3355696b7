//! Noise analysis: the probability that a decrypted score is wrong, and the server choices
//! (NTT modulus, response width) that keep it at most 2^-64 per score.
//!
//! The error in one decrypted score is a sum of independent terms (all variances at the 2^64
//! scale; `S = sum_i ||V_i||^2` and `D = sum_i ||J V_i||^2` over the d catalog polynomials of a
//! block, `J = 1 + X + ... + X^(N-1)`; `r` = 2^64 / q):
//!
//! | source | variance |
//! |---|---|
//! | fresh encryption noise, t-uniform on `[-2^17, 2^17]` | `((2^18+1)^2 - 1)/12 * S` |
//! | upload rounding of bodies to 48 bits | `(2^32 - 1)/12 * S` |
//! | switch 2^64 -> q of the bodies | `r^2/12 * S` |
//! | switch 2^64 -> q of the masks (multiplied by the key) | `r^2/12 * K * (N/4 * S + D/4)` |
//! | switch q -> 2^w of the response's body | `4^(64-w)/12 * (1 + 2^-8)^2` |
//! | the hint rounded to t bits, times the key | `4^(64-t)/12 * K * N/2` |
//!
//! The masks are public and their part of the scores, the catalog's hint, is exact mod q
//! ([`crate::hint`]): the client computes `H S` exactly and its quotient by q within 3 units of
//! 2^-64 (deducted from the margin), so only the body is rounded on its way back, not the mask
//! times the key (which the former per-query masks cost: a factor `1 + K N/2` on the last term).
//! A client may instead take the hint rounded to t bits in the coefficient domain
//! ([`crate::hint`]): each coefficient's rounding error, uniform on `[-1/2, 1/2]` steps of
//! `2^(64-t)` (the hint's coefficients are uniform mod q, sums over uniform public masks), is
//! multiplied by the binary key, hence the last row. The plan covers both kinds of client: the
//! response's width is chosen with the rounded hint's term included, at the narrowest t that
//! still meets the target.
//!
//! Key-dependent terms use the mean over uniform binary keys (`E[s_l] = 1/2`, as tfhe's own noise
//! formulas do), multiplied by a safety factor `K = 2` that covers keys of Hamming weight up to
//! 3N/4 and the spread of the key's mean term (both more than 10 standard deviations away).
//! A score decrypts wrongly when the error reaches Delta/2 = 2^(63-p); with the total standard
//! deviation `sigma`, the failure probability per score is `erfc(x/sqrt 2)` with `x = Delta/2 /
//! sigma`, bounded above by `exp(-x^2/2) / (x sqrt(pi/2))`, which is what [`log2_failure`]
//! returns. The sum of many bounded independent terms has lighter tails than the Gaussian, so
//! the bound is conservative in that respect.
//!
//! The mask term depends on the catalog through `D`: a catalog whose polynomials have a large
//! mean (all +127, say) makes `J V` large. The server therefore measures `S` and `D` of its own
//! catalog at load time and picks the fastest modulus and the narrowest response width that meet
//! the target; [`CatalogNoiseStats::worst_case`] bounds every catalog of a dimension and a test
//! checks that every d from 1 to 1024 meets 2^-64 even then.

use crate::ntt::{ServerPrime, SERVER_PRIMES};
use crate::params::ParameterSet;
use crate::response::MAX_RESPONSE_BITS;
use crate::{Error, Result};

/// Target: log2 of the largest acceptable failure probability per score.
pub const TARGET_LOG2_FAILURE: f64 = -64.0;

/// Largest deviation of a server's response switch from exact rounding, in units of the
/// response's last bit, beyond the 1/2 of rounding itself: the analysis allows this much, and a
/// server's vector switch must stay within it (`veilrank-engine` tests that its switch does).
pub const EXTRA_ROUNDING: f64 = 1.0 / 1024.0;

/// Safety factor on the key-dependent variance terms (see the module docs).
const KEY_FACTOR: f64 = 2.0;

/// Norms of a catalog's polynomials that the noise depends on (worst block).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CatalogNoiseStats {
    /// `max_b sum_i ||V_{b,i}||^2`.
    pub sum_sq: f64,
    /// `max_b sum_i ||J V_{b,i}||^2`.
    pub dc_sq: f64,
}

impl CatalogNoiseStats {
    /// No items yet: the identity for [`CatalogNoiseStats::max`].
    pub const ZERO: Self = Self {
        sum_sq: 0.0,
        dc_sq: 0.0,
    };

    /// A bound that holds for every catalog of dimension `dim` at the precision of `params`:
    /// every coefficient at the limb bound (127 at the baseline) in absolute value, and every
    /// coefficient of `J V` at its largest, `127 N`.
    pub fn worst_case(params: &ParameterSet, dim: usize) -> Self {
        let n = params.polynomial_size as f64;
        let v = f64::from(params.precision.limb_bound());
        Self {
            sum_sq: dim as f64 * n * v * v,
            dc_sq: dim as f64 * n * (v * n) * (v * n),
        }
    }

    /// The norms of one catalog polynomial (the values of one feature over one block's items).
    pub fn of_polynomial(coefficients: impl Iterator<Item = i8> + Clone) -> Self {
        let total: i64 = coefficients.clone().map(i64::from).sum();
        let mut prefix = 0i64;
        let mut sum_sq = 0f64;
        let mut dc_sq = 0f64;
        for c in coefficients {
            let c = i64::from(c);
            sum_sq += (c * c) as f64;
            prefix += c;
            // coefficient m of J*V (negacyclic): sum_{j<=m} V_j - sum_{j>m} V_j
            let dc = (2 * prefix - total) as f64;
            dc_sq += dc * dc;
        }
        Self { sum_sq, dc_sq }
    }

    /// The worst block of a quantized catalog (`values`: `items * dim`, item-major), blocks
    /// measured in parallel: what [`choose`] needs.
    pub fn of_catalog(params: &ParameterSet, dim: usize, values: &[i8]) -> Self {
        use rayon::prelude::*;
        let n = params.polynomial_size;
        let items = values.len() / dim.max(1);
        (0..items.div_ceil(n))
            .into_par_iter()
            .map(|b| {
                (0..dim)
                    .map(|i| {
                        // zero past the last item, as the catalog's polynomials are
                        Self::of_polynomial((0..n).map(move |j| {
                            let item = b * n + j;
                            if item < items {
                                values[item * dim + i]
                            } else {
                                0
                            }
                        }))
                    })
                    .fold(Self::ZERO, Self::plus)
            })
            .reduce(|| Self::ZERO, Self::max)
    }

    /// Component-wise sum (the features of one block add up).
    pub fn plus(self, other: Self) -> Self {
        Self {
            sum_sq: self.sum_sq + other.sum_sq,
            dc_sq: self.dc_sq + other.dc_sq,
        }
    }

    /// Component-wise maximum (the worst block bounds them all).
    pub fn max(self, other: Self) -> Self {
        Self {
            sum_sq: self.sum_sq.max(other.sum_sq),
            dc_sq: self.dc_sq.max(other.dc_sq),
        }
    }
}

/// The server's choices for one catalog, and the failure probability they give.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoisePlan {
    /// The modulus the catalog is prepared and scored under (a prime, or `crt54`).
    pub prime: ServerPrime,
    /// Bits per coefficient kept in responses.
    pub response_bits: u32,
    /// Bits per coefficient of the rounded hint (at most [`max_hint_bits`]).
    pub hint_bits: u32,
    /// log2 of the failure probability per score (at most [`TARGET_LOG2_FAILURE`]).
    pub log2_failure: f64,
}

/// The widest rounded hint a client multiplies by its key exactly under `prime`: the product's
/// coefficients, at most `N 2^(t-1)` in absolute value for centred t-bit values and a binary
/// key, must stay below q/2 to be read back from Z_q.
pub fn max_hint_bits(params: &ParameterSet, prime: ServerPrime) -> u32 {
    let floor_log2_q = u64::BITS - 1 - prime.modulus().leading_zeros();
    floor_log2_q - params.polynomial_size.ilog2()
}

/// Standard deviation, at the 2^64 scale, of the error of one decrypted score, decrypted with
/// the exact hint (`hint_bits` None) or with the hint rounded to `hint_bits` bits.
pub fn error_std_dev(
    params: &ParameterSet,
    stats: &CatalogNoiseStats,
    prime: ServerPrime,
    response_bits: u32,
    hint_bits: Option<u32>,
) -> f64 {
    let n = params.polynomial_size as f64;
    let bound = 2f64.powi(params.noise_bound_log2 as i32 + 1) + 1.0;
    let var_fresh = (bound * bound - 1.0) / 12.0;
    let step = 2f64.powi(64 - params.upload_body_bits as i32);
    let var_upload = (step * step - 1.0) / 12.0;
    let r = 2f64.powi(64) / prime.modulus() as f64;
    let var_switch_body = r * r / 12.0;
    let var_switch_mask = r * r / 12.0 * KEY_FACTOR * (n / 4.0 * stats.sum_sq + stats.dc_sq / 4.0);
    let resp = 2f64.powi(64 - response_bits as i32);
    // the switch's error is uniform rounding u plus a deviation |e| <= EXTRA_ROUNDING steps:
    // E[(u + e)^2] <= (sqrt(1/12) + EXTRA_ROUNDING)^2 <= (1 + 4 EXTRA_ROUNDING)^2 / 12 steps^2
    let rounding = (1.0 + 4.0 * EXTRA_ROUNDING).powi(2);
    let var_response = resp * resp / 12.0 * rounding;
    let var_hint = hint_bits.map_or(0.0, |t| {
        let step = 2f64.powi(64 - t as i32);
        step * step / 12.0 * KEY_FACTOR * n / 2.0
    });
    let variance = (var_fresh + var_upload + var_switch_body) * stats.sum_sq
        + var_switch_mask
        + var_response
        + var_hint;
    variance.sqrt()
}

/// log2 of (an upper bound on) the probability that one score decrypts wrongly, with the exact
/// hint (`hint_bits` None) or the hint rounded to `hint_bits` bits.
pub fn log2_failure(
    params: &ParameterSet,
    dim: usize,
    stats: &CatalogNoiseStats,
    prime: ServerPrime,
    response_bits: u32,
    hint_bits: Option<u32>,
) -> Result<f64> {
    let p = params.plaintext_bits(dim)?;
    // less the client's approximation of H S / q (at most 3 at the 2^64 scale, [`crate::response`])
    let half_delta = 2f64.powi(63 - p as i32) - 3.0;
    let x = half_delta / error_std_dev(params, stats, prime, response_bits, hint_bits);
    Ok(gaussian_tail_log2(x))
}

/// log2 of `exp(-x^2/2) / (x sqrt(pi/2))`, an upper bound on `P(|Z| >= x)` for a standard normal.
fn gaussian_tail_log2(x: f64) -> f64 {
    if x <= 1.0 {
        return 0.0;
    }
    let ln = -x * x / 2.0 - (x * (std::f64::consts::PI / 2.0).sqrt()).ln();
    (ln / std::f64::consts::LN_2).min(0.0)
}

/// Picks the prime, response width and hint rounding for a catalog: for each prime the
/// narrowest response width that meets the target (at most [`MAX_RESPONSE_BITS`]) with the hint
/// rounded to its widest, then the narrowest rounding that still does; then the fastest prime
/// whose width is within one bit of the narrowest. Responses are per query and the hint once per
/// catalog version, so the response's width comes first. Fastest in the order of
/// [`SERVER_PRIMES`], that of a CPU with AVX-512 IFMA; [`choose_among`] takes another.
pub fn choose(params: &ParameterSet, dim: usize, stats: &CatalogNoiseStats) -> Result<NoisePlan> {
    choose_among(params, dim, stats, &SERVER_PRIMES)
}

/// [`choose`] among `primes`, fastest first: the server's CPU and its scoring kernel order them,
/// and a provider may name one alone (every shard of a catalog on CPUs of different kinds must
/// compute under the same).
pub fn choose_among(
    params: &ParameterSet,
    dim: usize,
    stats: &CatalogNoiseStats,
    primes: &[ServerPrime],
) -> Result<NoisePlan> {
    let p = params.plaintext_bits(dim)?;
    let mut candidates = Vec::new();
    for &prime in primes {
        let widest = max_hint_bits(params, prime);
        let meets = |bits, hint| {
            log2_failure(params, dim, stats, prime, bits, Some(hint))
                .map(|f| (f <= TARGET_LOG2_FAILURE).then_some(f))
        };
        for bits in (p + 1)..=MAX_RESPONSE_BITS {
            if meets(bits, widest)?.is_none() {
                continue;
            }
            for hint_bits in (p + 1)..=widest {
                if let Some(log2_failure) = meets(bits, hint_bits)? {
                    candidates.push(NoisePlan {
                        prime,
                        response_bits: bits,
                        hint_bits,
                        log2_failure,
                    });
                    break;
                }
            }
            break;
        }
    }
    let narrowest = candidates
        .iter()
        .map(|c| c.response_bits)
        .min()
        .ok_or(Error::NoiseBudget {
            dim,
            precision: params.precision,
        })?;
    candidates
        .into_iter()
        .find(|c| c.response_bits <= narrowest + 1)
        .ok_or(Error::NoiseBudget {
            dim,
            precision: params.precision,
        })
}

#[cfg(test)]
mod precision;

#[cfg(test)]
mod tests;
