//! The moduli the server computes under, and their transform plans.
//!
//! The client always encrypts at the native modulus 2^64 (tfhe's seeded encryption needs a power
//! of two). The server switches each ciphertext to a modulus q with a negacyclic NTT, which
//! turns the polynomial products into point-wise ones, and switches the result back. Three:
//! a prime under 2^50.4 (AVX-512 IFMA's 52-bit products), the product of two primes under 2^27
//! ([`crt`]: 32-bit products, for AVX2 and NEON), and a 62-bit prime for catalogs whose noise
//! fits neither ([`crate::noise`] decides; the server's CPU orders the first two).

pub mod crt;

use std::sync::OnceLock;

use tfhe_ntt::prime64::Plan as Plan64;

/// The modulus a catalog is prepared and scored under: a prime, or `crt54`, a product of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerPrime {
    /// 1501199875772417 = 0x5555555551001, the largest prime below tfhe-ntt's 52-bit IFMA bound
    /// with q = 1 mod 4096.
    Ifma50,
    /// 17994611930546177 = 0x7ff6001 x 0x7fe6001 (about 2^54), the product of the two largest
    /// primes below 2^27 with p = 1 mod 4096 ([`crt`]).
    Crt54,
    /// 6148914691236483073 = 0x555555555554d001, the largest prime below tfhe-ntt's fast-reduction
    /// bound with q = 1 mod 4096.
    Wide62,
}

/// Every modulus, in the order a CPU with AVX-512 IFMA computes fastest under; the narrowest
/// response decides first ([`crate::noise::choose`]).
pub const SERVER_PRIMES: [ServerPrime; 3] =
    [ServerPrime::Ifma50, ServerPrime::Crt54, ServerPrime::Wide62];

impl std::fmt::Display for ServerPrime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ServerPrime {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::from_name(s)
            .ok_or_else(|| format!("unknown modulus {s:?}: one of ifma50, crt54, wide62"))
    }
}

/// Polynomial size of every plan: the parameter set's N.
const N: usize = 2048;

impl ServerPrime {
    /// The modulus.
    pub const fn modulus(self) -> u64 {
        match self {
            ServerPrime::Ifma50 => 0x5_5555_5555_1001,
            ServerPrime::Crt54 => crt::MODULUS,
            ServerPrime::Wide62 => 0x5555_5555_5554_d001,
        }
    }

    /// The prime of modulus `q`, if it is one of [`SERVER_PRIMES`].
    pub fn from_modulus(q: u64) -> Option<Self> {
        SERVER_PRIMES.into_iter().find(|p| p.modulus() == q)
    }

    /// A short name for manifests and logs.
    pub const fn name(self) -> &'static str {
        match self {
            ServerPrime::Ifma50 => "ifma50",
            ServerPrime::Crt54 => "crt54",
            ServerPrime::Wide62 => "wide62",
        }
    }

    /// The modulus of a name ([`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        SERVER_PRIMES.into_iter().find(|p| p.name() == name)
    }

    /// The negacyclic NTT plan for N = 2048, built once per process.
    pub fn plan(self) -> &'static Plan {
        static IFMA50: OnceLock<Plan> = OnceLock::new();
        static CRT54: OnceLock<Plan> = OnceLock::new();
        static WIDE62: OnceLock<Plan> = OnceLock::new();
        let cell = match self {
            ServerPrime::Ifma50 => &IFMA50,
            ServerPrime::Crt54 => &CRT54,
            ServerPrime::Wide62 => &WIDE62,
        };
        // Every prime is 1 mod 2N (checked by a test), for which a plan always exists; nothing
        // here depends on input.
        cell.get_or_init(|| match self {
            ServerPrime::Crt54 => {
                Plan::Crt(crt::CrtPlan::try_new(N).expect("constant NTT-friendly primes"))
            }
            _ => Plan::Prime(
                Plan64::try_new(N, self.modulus()).expect("constant NTT-friendly prime"),
            ),
        })
    }
}

/// A negacyclic NTT plan under a [`ServerPrime`]: tfhe-ntt's for a prime, or the pair of
/// [`crt`]. Transform-domain values are words below the prime, or [`crt`] words.
#[derive(Clone, Debug)]
pub enum Plan {
    /// A prime's.
    Prime(Plan64),
    /// `crt54`'s.
    Crt(crt::CrtPlan),
}

impl Plan {
    /// The modulus of coefficients.
    #[must_use]
    pub fn modulus(&self) -> u64 {
        match self {
            Plan::Prime(plan) => plan.modulus(),
            Plan::Crt(_) => crt::MODULUS,
        }
    }

    /// The forward transform of coefficients below the modulus.
    pub fn fwd(&self, buf: &mut [u64]) {
        match self {
            Plan::Prime(plan) => plan.fwd(buf),
            Plan::Crt(plan) => plan.fwd(buf),
        }
    }

    /// The inverse transform, to coefficients below the modulus (not normalized: the product
    /// of a normalized operand and another transforms back exactly).
    pub fn inv(&self, buf: &mut [u64]) {
        match self {
            Plan::Prime(plan) => plan.inv(buf),
            Plan::Crt(plan) => plan.inv(buf),
        }
    }

    /// Multiplies transform-domain values by `N^-1`.
    pub fn normalize(&self, buf: &mut [u64]) {
        match self {
            Plan::Prime(plan) => plan.normalize(buf),
            Plan::Crt(plan) => plan.normalize(buf),
        }
    }

    /// `acc += lhs rhs`, point-wise in the transform domain.
    pub fn mul_accumulate(&self, acc: &mut [u64], lhs: &[u64], rhs: &[u64]) {
        match self {
            Plan::Prime(plan) => plan.mul_accumulate(acc, lhs, rhs),
            Plan::Crt(plan) => plan.mul_accumulate(acc, lhs, rhs),
        }
    }

    /// `out = inv(lhs rhs)`: a product of transforms back in the coefficient domain.
    pub fn mul_inv(&self, lhs: &[u64], rhs: &[u64], out: &mut [u64]) {
        match self {
            Plan::Prime(plan) => {
                out.fill(0);
                plan.mul_accumulate(out, lhs, rhs);
                plan.inv(out);
            }
            Plan::Crt(plan) => plan.mul_inv(lhs, rhs, out),
        }
    }

    /// Whether `value` is a canonical transform-domain value (below the prime; for `crt54`,
    /// both residues reduced): what a hint from the network must hold.
    #[must_use]
    pub fn is_reduced(&self, value: u64) -> bool {
        match self {
            Plan::Prime(plan) => value < plan.modulus(),
            Plan::Crt(_) => crt::is_reduced(value),
        }
    }

    /// Brings transform-domain values, congruent and each below 2^64, to canonical form.
    /// tfhe-ntt's multiply-accumulate on IFMA leaves about one value in two million in
    /// `[q, 2q)` (measured with 4M random products); [`crt`]'s are canonical already.
    pub fn reduce_fully(&self, values: &mut [u64]) {
        if let Plan::Prime(plan) = self {
            let q = plan.modulus();
            for x in values {
                if *x >= q {
                    *x %= q;
                }
            }
        }
    }
}

/// Rounds `x / 2^64` to the nearest multiple of `1 / q`: the modulus switch 2^64 -> q.
#[inline]
pub fn switch_from_native(x: u64, q: u64) -> u64 {
    let y = ((x as u128 * q as u128 + (1u128 << 63)) >> 64) as u64;
    if y == q {
        0
    } else {
        y
    }
}

/// A signed small integer as an element of Z_q.
#[inline]
pub fn from_signed(v: i64, q: u64) -> u64 {
    if v < 0 {
        q - v.unsigned_abs()
    } else {
        v as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_are_ntt_friendly_and_take_the_intended_paths() {
        for prime in SERVER_PRIMES {
            let q = prime.modulus();
            assert_eq!(q % (2 * N as u64), 1, "{prime:?}");
            let plan = prime.plan();
            assert_eq!(plan.modulus(), q);
            match plan {
                Plan::Prime(plan) => assert!(plan.can_use_fast_reduction_code(), "{prime:?}"),
                Plan::Crt(_) => assert_eq!(prime, ServerPrime::Crt54),
            }
            assert_eq!(ServerPrime::from_modulus(q), Some(prime));
            assert_eq!(ServerPrime::from_name(prime.name()), Some(prime));
        }
        assert!(ServerPrime::Ifma50.modulus() < 1501199875790166);
    }

    #[test]
    fn products_through_the_transform_are_exact() {
        for prime in SERVER_PRIMES {
            let q = prime.modulus();
            let plan = prime.plan();
            // spread over the whole range, q - 1 first
            let a: Vec<u64> = (0..N as u128)
                .map(|i| ((i * 0x9e37_79b9_7f4a_7c15 + u128::from(q) - 1) % u128::from(q)) as u64)
                .collect();
            let b: Vec<u64> = (0..N as i64)
                .map(|i| from_signed((i % 255) - 127, q))
                .collect();
            let expected = schoolbook(q, &a, &b);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            plan.fwd(&mut fa);
            plan.fwd(&mut fb);
            plan.normalize(&mut fb);
            let mut acc = vec![0u64; N];
            plan.mul_accumulate(&mut acc, &fa, &fb);
            plan.inv(&mut acc);
            assert_eq!(acc, expected, "{prime:?}");
        }
    }

    /// Negacyclic product mod q, the slow obvious way.
    fn schoolbook(q: u64, a: &[u64], b: &[u64]) -> Vec<u64> {
        let q128 = q as u128;
        let mut out = vec![0u128; N];
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                let p = x as u128 * y as u128 % q128;
                let k = i + j;
                if k < N {
                    out[k] = (out[k] + p) % q128;
                } else {
                    out[k - N] = (out[k - N] + q128 - p) % q128;
                }
            }
        }
        out.into_iter().map(|v| v as u64).collect()
    }

    #[test]
    fn switch_from_native_rounds_to_nearest() {
        let q = ServerPrime::Ifma50.modulus();
        assert_eq!(switch_from_native(0, q), 0);
        assert_eq!(switch_from_native(1 << 63, q), q / 2 + 1);
        assert_eq!(switch_from_native(u64::MAX, q), 0);
    }
}
