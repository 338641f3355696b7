//! The response switch: each result coefficient from Z_q to its top `w` bits, rounded, which is
//! what the client decrypts (at the 2^64 scale, Delta stays Delta; only the low bits, which hold
//! noise, are dropped).
//!
//! `round(x 2^w / q) mod 2^w` for every coefficient of every block of every query: a few
//! million per query at a million items, so it has a vector path. With IFMA (primes below 2^52)
//! it computes `r = floor(x m / 2^52)` with `m = round(2^(52 + w + s) / q) < 2^52`, `s = 50 - w`
//! guard bits, then rounds `r` to `w` bits. `r` is within `1.34` of `x 2^(w+s) / q`, so the
//! result is within `1/2 + 1.34 2^-s <= 1/2 + 2^-10` of the exact quotient; the noise analysis
//! counts that extra `2^-10` (`veilrank_core::noise::EXTRA_ROUNDING`). Elsewhere a scalar 64 x 64 -> 128-bit
//! multiplication within `2^-24` of the quotient.

#[cfg(target_arch = "x86_64")]
use crate::ifma::{self, Ifma};
use crate::kernel::Kernel;
use veilrank_core::ntt::ServerPrime;

/// The switch `Z_q -> Z_(2^w)` for one prime and width.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResponseSwitch {
    bits: u32,
    /// `round(2^(74 + w) / q)`: the scalar path's multiplier (`< 2^63` for `w <= 39`, `q > 2^50`).
    scalar: u64,
    /// The IFMA path, where the prime and the CPU allow it.
    #[cfg(target_arch = "x86_64")]
    vector: Option<(Ifma, VectorSwitch)>,
}

/// The IFMA path's constants.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
struct VectorSwitch {
    /// The prime.
    q: u64,
    /// `round(2^(52 + w + s) / q)`.
    m: u64,
    /// Guard bits below the `w` kept.
    s: u32,
}

impl ResponseSwitch {
    /// The switch for coefficients mod `prime` to `bits` bits (`bits <= 39`), on the vector path
    /// where the catalog is scored by the IFMA kernel (so that another kernel, chosen to stand in
    /// for an older CPU, runs what that CPU would).
    pub(crate) fn new(prime: ServerPrime, bits: u32, kernel: Kernel) -> Self {
        let q = prime.modulus();
        let quotient = |shift: u32| {
            let q = u128::from(q);
            (((1u128 << shift) + q / 2) / q) as u64
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = kernel;
        #[cfg(target_arch = "x86_64")]
        let vector = {
            let s = 50u32.saturating_sub(bits);
            (kernel == Kernel::Ifma && q < 1 << 52 && q > 1 << 50 && s >= 10)
                .then(Ifma::try_new)
                .flatten()
                .map(|simd| {
                    (
                        simd,
                        VectorSwitch {
                            q,
                            m: quotient(52 + bits + s),
                            s,
                        },
                    )
                })
        };
        Self {
            bits,
            scalar: quotient(74 + bits),
            #[cfg(target_arch = "x86_64")]
            vector,
        }
    }

    /// The width switched to.
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// Switches `values` (each below `4q`) in place.
    pub(crate) fn apply(&self, values: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        if let Some((simd, v)) = self.vector {
            let (vectors, tail) = pulp::as_arrays_mut::<8, _>(values);
            ifma::switch(simd, v.q, self.bits, v.m, v.s, vectors);
            self.apply_scalar(tail);
            return;
        }
        self.apply_scalar(values);
    }

    fn apply_scalar(&self, values: &mut [u64]) {
        let mask = (1u64 << self.bits) - 1;
        for x in values {
            let product = u128::from(*x) * u128::from(self.scalar);
            *x = ((product + (1 << 73)) >> 74) as u64 & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use veilrank_core::noise::EXTRA_ROUNDING;

    /// `x 2^w / q` exactly, as a rational compared with the switched value.
    fn deviation(x: u64, q: u64, bits: u32, got: u64) -> f64 {
        let exact = (x as f64 / q as f64) * 2f64.powi(bits as i32);
        let modulus = 2f64.powi(bits as i32);
        let d = (got as f64 - exact).rem_euclid(modulus);
        d.min(modulus - d)
    }

    proptest! {
        #[test]
        fn every_path_rounds_within_its_bound(
            bits in 9u32..=39,
            raw in proptest::collection::vec(any::<u64>(), 1..40),
        ) {
            for prime in veilrank_core::ntt::SERVER_PRIMES {
                let q = prime.modulus();
                let switch = ResponseSwitch::new(prime, bits, Kernel::best(prime));
                let inputs: Vec<u64> = raw.iter().map(|x| x % q).collect();
                let mut got = inputs.clone();
                switch.apply(&mut got);
                for (&x, &y) in inputs.iter().zip(&got) {
                    prop_assert!(y < 1 << bits);
                    let d = deviation(x, q, bits, y);
                    // f64 evaluation of the exact quotient adds ~2^-13 at w = 39
                    prop_assert!(d <= 0.5 + EXTRA_ROUNDING + 1e-3, "{x} -> {y}: {d}");
                }
            }
        }
    }

    #[test]
    fn unreduced_inputs_switch_like_their_residues() {
        for prime in veilrank_core::ntt::SERVER_PRIMES {
            let q = prime.modulus();
            let switch = ResponseSwitch::new(prime, 29, Kernel::best(prime));
            let residues: Vec<u64> = (0..64u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % q)
                .collect();
            let unreduced: Vec<u64> = residues
                .iter()
                .enumerate()
                .map(|(i, &x)| x + (i as u64 % 4).min(u64::MAX / q - 1) * q)
                .collect();
            let (mut a, mut b) = (residues.clone(), unreduced);
            switch.apply(&mut a);
            switch.apply(&mut b);
            assert_eq!(a, b, "{prime:?}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vector_path_is_taken_for_ifma50_where_the_cpu_allows() {
        let switch = ResponseSwitch::new(ServerPrime::Ifma50, 29, Kernel::Ifma);
        assert_eq!(switch.vector.is_some(), Ifma::try_new().is_some());
        if switch.vector.is_none() {
            crate::kernel::skipped(
                "every_path_rounds_within_its_bound (vector path)",
                "AVX-512 IFMA",
            );
        }
        assert!(ResponseSwitch::new(ServerPrime::Wide62, 29, Kernel::Ifma)
            .vector
            .is_none());
    }
}
