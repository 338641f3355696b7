//! Client encryption, fast: the public masks' transforms computed once, one exact product per
//! feature under three 30-bit NTT primes, the noise from the stream tfhe itself would draw.
//!
//! Feature `i` of a query is the body `B_i = A_i S + Delta u_i + e_i mod 2^64` of a GLWE
//! ciphertext under the public mask `A_i` ([`crate::hint::public_seed`]) and the query's secret
//! `S`, with t-uniform noise `e_i`: what tfhe's `encrypt_seeded_glwe_ciphertext_list` computes
//! (a test checks bit for bit that it is the same ciphertext). tfhe multiplies `A_i S`
//! (negacyclic, 2048 x 2048, mod 2^64) with Karatsuba and draws mask and noise one byte per call;
//! here `A_i` is public and fixed, so its transforms under three NTT primes are computed once per
//! [`Encryptor`], and each query costs one forward transform of `S` per prime and, per feature,
//! three point-wise products, three inverse transforms and a CRT reconstruction.
//!
//! The exact product has coefficients below `N 2^64 = 2^75` in absolute value; the three primes'
//! product is about 2^90, so the reconstruction modulo 2^64 is exact.

use std::sync::OnceLock;

use rayon::prelude::*;
use tfhe_ntt::prime32::Plan;
use zeroize::Zeroizing;

use crate::bitpack;
use crate::hint::public_seed;
use crate::key::{QuerySecret, SecretKey};
use crate::params::ParameterSet;
use crate::query::Query;
use crate::stream;
use crate::{Error, Result};

/// Three NTT-friendly primes below 2^30 (= 1 mod 2^17): the ones tfhe-ntt's own
/// `native_binary64` product uses.
const PRIMES: [u32; 3] = [0x3F5A_0001, 0x3F5D_0001, 0x3F76_0001];

/// The transform plans of [`PRIMES`] for polynomials of `n` coefficients, built once per
/// process (`n` is the parameter set's N, 2048 in every set this build knows).
fn plans(n: usize) -> Result<&'static [Plan; 3]> {
    static PLANS: OnceLock<Option<(usize, [Plan; 3])>> = OnceLock::new();
    let built = PLANS.get_or_init(|| {
        let [a, b, c] = PRIMES.map(|p| Plan::try_new(n, p));
        Some((n, [a?, b?, c?]))
    });
    match built {
        Some((size, plans)) if *size == n => Ok(plans),
        _ => Err(Error::Malformed(format!(
            "no NTT plan for polynomials of {n} coefficients"
        ))),
    }
}

/// Encrypts queries of one dimension: holds the transforms of the public masks of its features
/// (`3 * dim * N` residues, 24 KB per feature), so that only what depends on the query is
/// computed per query. Build one per catalog dimension and keep it; it holds nothing secret.
pub struct Encryptor {
    params: ParameterSet,
    dim: usize,
    /// Per prime, `dim * N` transformed mask coefficients, feature-major.
    masks: [Vec<u32>; 3],
}

impl Encryptor {
    /// Computes the public masks of features `0 .. dim` and their transforms.
    pub fn new(params: &ParameterSet, dim: usize) -> Result<Self> {
        params.check_dim(dim)?;
        let n = params.polynomial_size;
        let plans = plans(n)?;
        let mut masks = [
            vec![0u32; dim * n],
            vec![0u32; dim * n],
            vec![0u32; dim * n],
        ];
        let [m0, m1, m2] = &mut masks;
        m0.par_chunks_mut(n)
            .zip(m1.par_chunks_mut(n))
            .zip(m2.par_chunks_mut(n))
            .enumerate()
            .for_each(|(i, ((r0, r1), r2))| {
                let mut mask = vec![0u64; n];
                stream::fill_words_with(public_seed(params, i), &mut mask, |m| m);
                for (residues, (plan, p)) in [r0, r1, r2].into_iter().zip(plans.iter().zip(PRIMES))
                {
                    for (r, &a) in residues.iter_mut().zip(&mask) {
                        *r = (a % u64::from(p)) as u32;
                    }
                    plan.fwd(residues);
                }
            });
        Ok(Self {
            params: *params,
            dim,
            masks,
        })
    }

    /// The dimension it encrypts.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Encrypts a quantized preference vector under a fresh secret of `key`: a fresh random
    /// nonce (which secret) and fresh noise seeds from the operating system.
    ///
    /// Values are `i8` at the baseline precision, `i16` at a wider one: each within the
    /// precision's query bound.
    pub fn encrypt<V: Copy + Into<i32>>(&self, key: &SecretKey, values: &[V]) -> Result<Query> {
        if key.params().with_precision(self.params.precision) != self.params {
            return Err(Error::InvalidKey(format!(
                "the key is for parameter set {}, the encryptor for {}",
                key.params().name,
                self.params.name
            )));
        }
        if values.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                found: values.len(),
            });
        }
        let bound = self.params.precision.query_bound();
        let values: Vec<i32> = values.iter().map(|&v| v.into()).collect();
        if let Some(index) = values.iter().position(|v| v.abs() > bound) {
            return Err(Error::ValueOutOfRange {
                index,
                value: values[index],
                bound,
            });
        }
        // the query's nonce, and a noise seed per feature
        let mut randomness = Zeroizing::new(vec![0u8; 16 * (self.dim + 1)]);
        getrandom::fill(&mut randomness).map_err(|e| Error::Randomness(e.to_string()))?;
        let seeds: Zeroizing<Vec<u128>> = Zeroizing::new(
            randomness
                .chunks_exact(16)
                .map(|c| {
                    let mut bytes = [0u8; 16];
                    bytes.copy_from_slice(c);
                    u128::from_le_bytes(bytes)
                })
                .collect(),
        );
        let (nonce, noise_seeds) = (seeds[0], &seeds[1..]);
        let secret = key.query_secret(nonce);
        let bodies = self.bodies(&secret, &values, noise_seeds)?;
        let drop_bits = 64 - self.params.upload_body_bits;
        let rounded: Vec<u64> = bodies
            .iter()
            .map(|&b| b.wrapping_add(1 << (drop_bits - 1)) >> drop_bits)
            .collect();
        Ok(Query {
            dim: self.dim as u32,
            nonce,
            bodies: bitpack::pack(&rounded, self.params.upload_body_bits),
        })
    }

    /// The bodies at the 2^64 scale, before the upload's rounding: per feature,
    /// `A_i S + Delta u_i + e_i` with `e_i` drawn from the stream of `noise_seeds[i]` exactly as
    /// tfhe draws encryption noise.
    pub(crate) fn bodies(
        &self,
        secret: &QuerySecret,
        values: &[i32],
        noise_seeds: &[u128],
    ) -> Result<Vec<u64>> {
        let n = self.params.polynomial_size;
        let delta_log2 = self.params.delta_log2(self.dim)?;
        let plans = plans(n)?;
        let noise_log2 = self.params.noise_bound_log2;
        let sample_bytes = (noise_log2 as usize + 2).div_ceil(8);
        // the secret's transforms, normalized once so that each feature's product is one pass
        let secret_ntt: [Zeroizing<Vec<u32>>; 3] = std::array::from_fn(|k| {
            let mut s: Zeroizing<Vec<u32>> =
                Zeroizing::new(secret.coefficients().iter().map(|&b| b as u32).collect());
            plans[k].fwd(&mut s);
            plans[k].normalize(&mut s);
            s
        });

        let mut bodies = vec![0u64; self.dim * n];
        bodies
            .par_chunks_mut(n)
            .zip(values.par_iter().zip(noise_seeds))
            .enumerate()
            .for_each(|(i, (body, (&value, &noise_seed)))| {
                // A_i S under each prime, back in the coefficient domain
                let mut residues: [Zeroizing<Vec<u32>>; 3] =
                    std::array::from_fn(|_| Zeroizing::new(vec![0u32; n]));
                for (k, r) in residues.iter_mut().enumerate() {
                    plans[k].mul_accumulate(r, &self.masks[k][i * n..][..n], &secret_ntt[k]);
                    plans[k].inv(r);
                }
                let [x0, x1, x2] = &residues;
                for (b, ((&r0, &r1), &r2)) in
                    body.iter_mut().zip(x0.iter().zip(x1.iter()).zip(x2.iter()))
                {
                    *b = reconstruct(r0, r1, r2);
                }
                let mut noise = Zeroizing::new(vec![0u8; n * sample_bytes]);
                stream::fill_bytes(noise_seed, &mut noise);
                // the sample width known at compile time: a loop without copies of unknown size
                match sample_bytes {
                    3 => add_noise::<3>(body, &noise, noise_log2),
                    _ => {
                        for (b, sample) in body.iter_mut().zip(noise.chunks_exact(sample_bytes)) {
                            *b = b.wrapping_add(t_uniform(sample, noise_log2));
                        }
                    }
                }
                body[0] = body[0].wrapping_add((i64::from(value) as u64) << delta_log2);
            });
        Ok(bodies)
    }
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("params", &self.params.name)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

/// Adds to each body its t-uniform sample, each drawn from `B` bytes of `noise`.
#[inline(always)]
fn add_noise<const B: usize>(body: &mut [u64], noise: &[u8], bound_log2: u32) {
    for (b, sample) in body.iter_mut().zip(noise.chunks_exact(B)) {
        *b = b.wrapping_add(t_uniform(sample, bound_log2));
    }
}

/// One t-uniform sample on `[-2^b, 2^b]` from `ceil((b + 2) / 8)` stream bytes, as tfhe draws
/// it: `b + 2` random bits `r`, then `(r >> 1) + (r & 1) - 2^b` (the two ends half as likely).
#[inline(always)]
fn t_uniform(bytes: &[u8], bound_log2: u32) -> u64 {
    let mut le = [0u8; 8];
    le[..bytes.len()].copy_from_slice(bytes);
    let r = u64::from_le_bytes(le) & ((1u64 << (bound_log2 + 2)) - 1);
    ((r >> 1) + (r & 1)).wrapping_sub(1 << bound_log2)
}

/// `a * b mod p` for `a < p < 2^31` and any `b < 2^32`, with `a_shoup = floor(a 2^32 / p)`
/// (Shoup): 32 x 32-bit products only, which WebAssembly has, where a 64-bit `%` by a constant
/// needs a 128-bit product that it has not.
#[inline(always)]
fn mul_shoup(p: u32, a: u32, a_shoup: u32, b: u32) -> u32 {
    let q = ((u64::from(a_shoup) * u64::from(b)) >> 32) as u32;
    // a b - q p lies in [0, 2p)
    reduce_once(p, a.wrapping_mul(b).wrapping_sub(q.wrapping_mul(p)))
}

/// `x mod p` for `x < 2p`.
#[inline(always)]
fn reduce_once(p: u32, x: u32) -> u32 {
    if x >= p {
        x - p
    } else {
        x
    }
}

/// Shoup's companion of the constant `a < p`.
const fn shoup(a: u32, p: u32) -> u32 {
    (((a as u64) << 32) / p as u64) as u32
}

/// The integer with residues `r0, r1, r2` modulo [`PRIMES`], taken in the centred range
/// `(-P/2, P/2)` of their product `P`, modulo 2^64 (Garner's mixed radix).
#[inline(always)]
fn reconstruct(r0: u32, r1: u32, r2: u32) -> u64 {
    let [p0, p1, p2] = PRIMES;
    const P0_INV_MOD_P1: u32 = inverse(PRIMES[0] % PRIMES[1], PRIMES[1]);
    const P01_INV_MOD_P2: u32 = inverse(
        ((PRIMES[0] as u64 * PRIMES[1] as u64) % PRIMES[2] as u64) as u32,
        PRIMES[2],
    );
    const S1: u32 = shoup(P0_INV_MOD_P1, PRIMES[1]);
    const S2: u32 = shoup(PRIMES[0], PRIMES[2]);
    const S3: u32 = shoup(P01_INV_MOD_P2, PRIMES[2]);
    // p0 < p1 < p2 < 2^31, and each residue is below its prime: every sum below is below twice
    // its prime before its reduction
    let v0 = r0;
    let v1 = mul_shoup(p1, P0_INV_MOD_P1, S1, reduce_once(p1, r1 + p1 - v0));
    let partial = reduce_once(p2, v0 + mul_shoup(p2, p0, S2, v1));
    let v2 = mul_shoup(p2, P01_INV_MOD_P2, S3, reduce_once(p2, r2 + p2 - partial));
    let p01 = u64::from(p0).wrapping_mul(u64::from(p1));
    let positive = u64::from(v0)
        .wrapping_add(u64::from(v1).wrapping_mul(u64::from(p0)))
        .wrapping_add(u64::from(v2).wrapping_mul(p01));
    // v2 is the top digit: past half of p2, the value is in the upper (negative) half
    if v2 > p2 / 2 {
        positive.wrapping_sub(p01.wrapping_mul(u64::from(p2)))
    } else {
        positive
    }
}

/// `x^-1 mod p` for a prime `p` (Fermat), at compile time.
const fn inverse(x: u32, p: u32) -> u32 {
    let (mut base, mut exp, mut acc) = (x as u64, p as u64 - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % p as u64;
        }
        base = base * base % p as u64;
        exp >>= 1;
    }
    acc as u32
}

#[cfg(test)]
mod tests;
