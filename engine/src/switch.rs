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
//! multiplication within `2^-21` of the quotient.
//!
//! Under `crt54` the switch takes the inverse transform's words of residues `(r1, r2)` without
//! reconstructing the coefficient: `x / Q = r1 c1 + r2 c2` modulo 1 for two constants
//! ([`veilrank_core::ntt::crt::fraction_constants`]), so the result is the top `w` bits of
//! `r1 c1 + r2 c2` in fixed point, rounded: with 64 fractional bits (two wrapping 64-bit
//! multiplies) within `1/2 + 2^(w - 37)` of the exact quotient, which is `2^-10` up to `w = 27`;
//! wider responses take 96 bits, within `1/2 + 2^(w - 69)`.

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
    /// Under `crt54`: the constants of the switch from words of residues.
    crt: Option<CrtSwitch>,
    /// The IFMA path, where the prime and the CPU allow it.
    #[cfg(target_arch = "x86_64")]
    vector: Option<(Ifma, VectorSwitch)>,
}

/// The `crt54` switch's constants: 64 fractional bits where they suffice, else 96.
#[derive(Clone, Copy, Debug)]
enum CrtSwitch {
    Narrow([u64; 2]),
    Wide([u128; 2]),
}

/// The widest response the 64-bit `crt54` switch rounds within `2^-10` of exact.
const CRT_NARROW_BITS: u32 = 27;

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
            crt: (prime == ServerPrime::Crt54).then(|| {
                let wide = veilrank_core::ntt::crt::fraction_constants();
                if bits <= CRT_NARROW_BITS {
                    // the top 64 of the 96 fractional bits, rounded
                    CrtSwitch::Narrow(wide.map(|c| ((c + (1 << 31)) >> 32) as u64))
                } else {
                    CrtSwitch::Wide(wide)
                }
            }),
            #[cfg(target_arch = "x86_64")]
            vector,
        }
    }

    /// The width switched to.
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// Under `crt54`: switches the coefficients of residues `r1` (mod P1) and `r2` (mod P2),
    /// each reduced, into `out`. Elsewhere (a bug) nothing.
    pub(crate) fn apply_residues(&self, r1: &[u32], r2: &[u32], out: &mut [u64]) {
        debug_assert!(self.crt.is_some(), "the residue switch is crt54's");
        let pairs = r1
            .iter()
            .zip(r2)
            .map(|(&a, &b)| (u64::from(a), u64::from(b)));
        match self.crt {
            Some(CrtSwitch::Narrow([c1, c2])) => {
                let shift = 64 - self.bits;
                for (x, (r1, r2)) in out.iter_mut().zip(pairs) {
                    let s = (r1.wrapping_mul(c1))
                        .wrapping_add(r2.wrapping_mul(c2))
                        .wrapping_add(1 << (shift - 1));
                    *x = s >> shift;
                }
            }
            Some(CrtSwitch::Wide([c1, c2])) => {
                let (shift, mask) = (96 - self.bits, (1u64 << self.bits) - 1);
                for (x, (r1, r2)) in out.iter_mut().zip(pairs) {
                    let s = u128::from(r1) * c1 + u128::from(r2) * c2 + (1 << (shift - 1));
                    *x = (s >> shift) as u64 & mask;
                }
            }
            None => {}
        }
    }

    /// Switches `values` (each below `4q`; under `crt54` words of reduced residues) in place.
    pub(crate) fn apply(&self, values: &mut [u64]) {
        if self.crt.is_some() {
            let (r1, r2): (Vec<u32>, Vec<u32>) = values
                .iter()
                .map(|&w| veilrank_core::ntt::crt::residues(w))
                .unzip();
            self.apply_residues(&r1, &r2, values);
            return;
        }
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
                let inputs: Vec<u64> = raw.iter().map(|x| x % q).chain([0, q - 1]).collect();
                let mut got = as_switched(prime, &inputs);
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

    /// What the switch of `prime` takes for coefficients `values`: themselves, or under `crt54`
    /// their words of residues.
    fn as_switched(prime: ServerPrime, values: &[u64]) -> Vec<u64> {
        match prime {
            ServerPrime::Crt54 => values
                .iter()
                .map(|&x| veilrank_core::ntt::crt::split(x))
                .collect(),
            _ => values.to_vec(),
        }
    }

    /// The primes' switch takes values below 4q, as the kernels may leave them (`crt54`'s
    /// inverse transform leaves reduced residues).
    #[test]
    fn unreduced_inputs_switch_like_their_residues() {
        for prime in [ServerPrime::Ifma50, ServerPrime::Wide62] {
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
