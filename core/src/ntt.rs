//! The NTT primes the server computes under, and their transform plans.
//!
//! The client always encrypts at the native modulus 2^64 (tfhe's seeded encryption needs a power
//! of two). The server switches each ciphertext to a prime q, where a negacyclic NTT turns the
//! polynomial products into point-wise ones, and switches the result back. Two primes:
//! a fast one under 2^50.4 (tfhe-ntt's AVX-512 IFMA path) and a 62-bit one for catalogs whose
//! noise does not fit the fast one ([`crate::noise`] decides).

use std::sync::OnceLock;

use tfhe_ntt::prime64::Plan;

/// The prime modulus a catalog is prepared and scored under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerPrime {
    /// 1501199875772417 = 0x5555555551001, the largest prime below tfhe-ntt's 52-bit IFMA bound
    /// with q = 1 mod 4096.
    Ifma50,
    /// 6148914691236483073 = 0x555555555554d001, the largest prime below tfhe-ntt's fast-reduction
    /// bound with q = 1 mod 4096.
    Wide62,
}

/// Both primes, fastest first.
pub const SERVER_PRIMES: [ServerPrime; 2] = [ServerPrime::Ifma50, ServerPrime::Wide62];

/// Polynomial size of every plan: the parameter set's N.
const N: usize = 2048;

impl ServerPrime {
    /// The modulus.
    pub const fn modulus(self) -> u64 {
        match self {
            ServerPrime::Ifma50 => 0x5_5555_5555_1001,
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
            ServerPrime::Wide62 => "wide62",
        }
    }

    /// The negacyclic NTT plan for N = 2048, built once per process.
    pub fn plan(self) -> &'static Plan {
        static IFMA50: OnceLock<Plan> = OnceLock::new();
        static WIDE62: OnceLock<Plan> = OnceLock::new();
        let cell = match self {
            ServerPrime::Ifma50 => &IFMA50,
            ServerPrime::Wide62 => &WIDE62,
        };
        cell.get_or_init(|| {
            // Both moduli are primes = 1 mod 2N (checked by a test), for which a plan always
            // exists; nothing here depends on input.
            Plan::try_new(N, self.modulus()).expect("constant NTT-friendly prime")
        })
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
            assert!(plan.can_use_fast_reduction_code(), "{prime:?}");
        }
        assert!(ServerPrime::Ifma50.modulus() < 1501199875790166);
    }

    #[test]
    fn products_through_the_transform_are_exact() {
        for prime in SERVER_PRIMES {
            let q = prime.modulus();
            let plan = prime.plan();
            let a: Vec<u64> = (0..N as u64).map(|i| (i * 7919 + 13) % q).collect();
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
