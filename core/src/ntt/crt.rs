//! The modulus `crt54`: the product `Q = P1 P2` of two NTT primes below 2^27, computed under by
//! the Chinese remainder theorem.
//!
//! Why: on CPUs whose widest multiply is 32 x 32 -> 64 bits (AVX2's `vpmuludq`, NEON's `umlal`)
//! a product of two residues takes one multiply, and 1024 of them sum in a 64-bit lane without
//! overflow (`1024 (2^27)^2 = 2^64`), where a product under the 50-bit prime takes three
//! (Karatsuba on 25-bit halves). `Q` is about 2^54, above the 50-bit prime: the noise analysis
//! allows it everywhere that prime is allowed.
//!
//! `Z_Q = Z_P1 x Z_P2` as rings, and the negacyclic transform under each prime turns products
//! into point-wise ones, so a transform-domain value is one word `r1 | r2 << 32`: the two
//! residues at the same position of each prime's transform. Point-wise arithmetic acts on each
//! residue alone. Coefficients (before the forward and after the inverse transform) are canonical
//! values below `Q`.

use tfhe_ntt::prime32::Plan as Plan32;

/// The first prime: the largest below 2^27 that is 1 mod 4096.
pub const P1: u32 = 0x7ff_6001;
/// The second prime: the next one down.
pub const P2: u32 = 0x7fe_6001;
/// `Q = P1 P2`, about 2^54.
pub const MODULUS: u64 = P1 as u64 * P2 as u64;
/// `P1^-1 mod P2`, for the reconstruction.
const P1_INV_MOD_P2: u64 = 50_289_666;
/// Its Shoup constant `floor(P1_INV_MOD_P2 2^32 / P2)`: the product mod P2 in 32-bit steps.
const P1_INV_MOD_P2_SHOUP: u64 = (P1_INV_MOD_P2 << 32) / P2 as u64;
const LOW: u64 = u32::MAX as u64;

// What the kernels and the reductions rely on, checked when the crate compiles: both primes are
// 1 mod 2N for N up to 2048, below 2^27 (1024 lazy products of residues fit 64 bits), the first
// the larger (the reconstruction's conditional subtraction), and Q about 2^54.
const _: () = assert!(P1 % 4096 == 1 && P2 % 4096 == 1);
const _: () = assert!(P2 < P1 && P1 < 1 << 27 && P1 < 2 * P2);
const _: () = assert!(MODULUS > 1 << 53 && MODULUS < 1 << 54);

/// The word of residues `r1 < P1` and `r2 < P2`.
#[inline]
#[must_use]
pub const fn word(r1: u32, r2: u32) -> u64 {
    r1 as u64 | (r2 as u64) << 32
}

/// The residues of a word.
#[inline]
#[must_use]
pub const fn residues(w: u64) -> (u32, u32) {
    ((w & LOW) as u32, (w >> 32) as u32)
}

/// Whether `w` is a canonical word: both residues reduced.
#[inline]
#[must_use]
pub const fn is_reduced(w: u64) -> bool {
    let (r1, r2) = residues(w);
    r1 < P1 && r2 < P2
}

/// The word of a value below `Q` (or any `u64`, reduced).
#[inline]
#[must_use]
pub const fn split(x: u64) -> u64 {
    word((x % P1 as u64) as u32, (x % P2 as u64) as u32)
}

/// The value below `Q` of a canonical word: `r1 + P1 ((r2 - r1) P1^-1 mod P2)`, in 32-bit
/// steps without a division (Shoup's product by the constant), so that it vectorizes.
#[inline]
#[must_use]
pub const fn combine(w: u64) -> u64 {
    let (r1, r2) = residues(w);
    let p2 = P2 as u64;
    // r1 < P1 < 2 P2: r1 mod P2 by one conditional subtraction, then r2 - r1 mod P2
    let r1_mod = r1 as u64 - if r1 as u64 >= p2 { p2 } else { 0 };
    let d = r2 as u64 + p2 - r1_mod;
    let d = d - if d >= p2 { p2 } else { 0 };
    // d P1^-1 mod P2: the quotient estimate is low by at most one
    let estimate = (d * P1_INV_MOD_P2_SHOUP) >> 32;
    let u = d * P1_INV_MOD_P2 - estimate * p2;
    let u = u - if u >= p2 { p2 } else { 0 };
    r1 as u64 + P1 as u64 * u
}

/// `round(2^96 (P2^-1 mod P1) / P1)` and `round(2^96 (P1^-1 mod P2) / P2)`: for a word of
/// residues `(r1, r2)` of `x`, `r1 c1 + r2 c2 mod 2^96` is `2^96 x / Q` within `2^27` (the sum
/// of the residues' halves), since `x / Q = r1 (P2^-1 mod P1) / P1 + r2 (P1^-1 mod P2) / P2`
/// modulo 1. The response switch takes its top bits without reconstructing `x`.
#[must_use]
pub fn fraction_constants() -> [u128; 2] {
    let inv = |a: u64, p: u64| -> u64 {
        // a^(p - 2) mod p
        let (mut base, mut exp, mut acc) = (a % p, p - 2, 1u64);
        while exp > 0 {
            if exp & 1 == 1 {
                acc = acc * base % p;
            }
            base = base * base % p;
            exp >>= 1;
        }
        acc
    };
    let (p1, p2) = (u64::from(P1), u64::from(P2));
    let fraction = |numerator: u64, p: u64| {
        ((u128::from(numerator) << 96) + u128::from(p / 2)) / u128::from(p)
    };
    [fraction(inv(p2, p1), p1), fraction(inv(p1, p2), p2)]
}

/// `x` below `2p` (a transform's lazy output at worst) below `p`.
#[inline]
fn canonical(x: u32, p: u32) -> u32 {
    x.min(x.wrapping_sub(p))
}

/// The two primes' transform plans for polynomials of one size.
#[derive(Clone, Debug)]
pub struct CrtPlan {
    plans: [Plan32; 2],
    n: usize,
}

impl CrtPlan {
    /// The plans for polynomials of `n` coefficients (a power of two, at least 32, at most
    /// 2048: both primes are 1 mod 4096).
    #[must_use]
    pub fn try_new(n: usize) -> Option<Self> {
        Some(Self {
            plans: [Plan32::try_new(n, P1)?, Plan32::try_new(n, P2)?],
            n,
        })
    }

    /// Applies `each` to both residue polynomials of `buf`'s words (`split` first: of its
    /// values), in place: the words are unpacked into two buffers for tfhe-ntt's vector code,
    /// and packed back reduced.
    fn on_residues(&self, buf: &mut [u64], split_first: bool, each: impl Fn(&Plan32, &mut [u32])) {
        assert_eq!(buf.len(), self.n);
        let mut residues = vec![0u32; 2 * self.n];
        let (a, b) = residues.split_at_mut(self.n);
        for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(buf.iter()) {
            (*a, *b) = self::residues(if split_first { split(w) } else { w });
        }
        each(&self.plans[0], a);
        each(&self.plans[1], b);
        for (w, (&a, &b)) in buf.iter_mut().zip(a.iter().zip(b.iter())) {
            *w = word(canonical(a, P1), canonical(b, P2));
        }
    }

    /// The forward transform of coefficients below `Q`, into words.
    pub fn fwd(&self, buf: &mut [u64]) {
        self.on_residues(buf, true, Plan32::fwd);
    }

    /// The inverse transform of words, into coefficients below `Q` (not normalized, as
    /// tfhe-ntt's inverse is not: [`Self::normalize`] one operand beforehand).
    pub fn inv(&self, buf: &mut [u64]) {
        self.inv_words(buf);
        for w in buf {
            *w = combine(*w);
        }
    }

    /// [`Self::inv`] into words: each coefficient's residues, reduced, not yet combined.
    pub fn inv_words(&self, buf: &mut [u64]) {
        self.on_residues(buf, false, Plan32::inv);
    }

    /// [`Self::inv`] on the residues themselves, `residues[..N]` modulo P1 and `[N..]` modulo
    /// P2, reduced (the server switches them to the response's width without the coefficient).
    pub fn inv_residues(&self, residues: &mut [u32]) {
        let n = self.n;
        assert_eq!(residues.len(), 2 * n);
        let (a, b) = residues.split_at_mut(n);
        for (plan, (r, p)) in self.plans.iter().zip([(a, P1), (b, P2)]) {
            plan.inv(r);
            r.iter_mut().for_each(|x| *x = canonical(*x, p));
        }
    }

    /// Multiplies every word by `N^-1`.
    pub fn normalize(&self, buf: &mut [u64]) {
        self.on_residues(buf, false, Plan32::normalize);
    }

    /// `out = inv(lhs rhs)`: the product of two transforms back in the coefficient domain, below
    /// `Q`, in one pass over the residues (the client's `H_b S` per block, [`crate::response`]).
    pub fn mul_inv(&self, lhs: &[u64], rhs: &[u64], out: &mut [u64]) {
        let n = self.n;
        assert!(lhs.len() == n && rhs.len() == n && out.len() == n);
        let mut scratch = vec![0u32; 6 * n];
        let (products, operands) = scratch.split_at_mut(2 * n);
        let (x, y) = operands.split_at_mut(2 * n);
        for (j, (&l, &r)) in lhs.iter().zip(rhs).enumerate() {
            (x[j], x[n + j]) = residues(l);
            (y[j], y[n + j]) = residues(r);
        }
        let (p1, p2) = products.split_at_mut(n);
        for (k, product) in [p1, p2].into_iter().enumerate() {
            let at = k * n..(k + 1) * n;
            self.plans[k].mul_accumulate(product, &x[at.clone()], &y[at]);
            self.plans[k].inv(product);
        }
        let (p1, p2) = products.split_at(n);
        for (o, (&a, &b)) in out.iter_mut().zip(p1.iter().zip(p2)) {
            *o = combine(word(canonical(a, P1), canonical(b, P2)));
        }
    }

    /// `acc += lhs rhs`, point-wise, on canonical words.
    pub fn mul_accumulate(&self, acc: &mut [u64], lhs: &[u64], rhs: &[u64]) {
        for (acc, (&x, &y)) in acc.iter_mut().zip(lhs.iter().zip(rhs)) {
            let (a1, a2) = residues(*acc);
            let (x1, x2) = residues(x);
            let (y1, y2) = residues(y);
            let r1 = (u64::from(a1) + u64::from(x1) * u64::from(y1)) % u64::from(P1);
            let r2 = (u64::from(a2) + u64::from(x2) * u64::from(y2)) % u64::from(P2);
            *acc = word(r1 as u32, r2 as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_are_what_the_kernels_rely_on() {
        for p in [P1, P2] {
            assert!(Plan32::try_new(2048, p).is_some());
        }
        assert_eq!(u64::from(P1) * P1_INV_MOD_P2 % u64::from(P2), 1);
    }

    #[test]
    fn combine_inverts_split() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for edge in [
            0,
            1,
            u64::from(P1) - 1,
            u64::from(P1),
            MODULUS - 1,
            MODULUS / 2,
        ] {
            assert_eq!(combine(split(edge)), edge);
        }
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = x % MODULUS;
            assert!(is_reduced(split(v)));
            assert_eq!(combine(split(v)), v);
        }
        assert!(!is_reduced(word(P1, 0)));
        assert!(!is_reduced(word(0, P2)));
    }

    #[test]
    fn fractions_of_words_give_the_value_over_the_modulus() {
        // x / Q = r1 (P2^-1 mod P1) / P1 + r2 (P1^-1 mod P2) / P2 (mod 1), what the server's
        // switch relies on ([`fraction_constants`])
        let [c1, c2] = fraction_constants();
        for x in [
            0,
            1,
            MODULUS - 1,
            MODULUS / 2,
            MODULUS / 3,
            0x1234_5678_9abc,
        ] {
            let (r1, r2) = residues(split(x));
            let s = (u128::from(r1) * c1 + u128::from(r2) * c2) & ((1 << 96) - 1);
            // floor(x 2^96 / Q) in two steps, each within u128
            let (x64, q) = (u128::from(x) << 64, u128::from(MODULUS));
            let exact = ((x64 / q) << 32) + (((x64 % q) << 32) / q);
            assert!(s.abs_diff(exact) < 1 << 27, "{x}");
        }
    }

    #[test]
    fn transforms_are_canonical_and_invert() {
        let plan = CrtPlan::try_new(2048).unwrap();
        // the fused product agrees with the product then the inverse
        let (a, b): (Vec<u64>, Vec<u64>) = (0..2048u64)
            .map(|i| {
                (
                    split(i * 0x9e37_79b9 % MODULUS),
                    split((MODULUS - 1 - i * i) % MODULUS),
                )
            })
            .unzip();
        let mut fused = vec![0; 2048];
        plan.mul_inv(&a, &b, &mut fused);
        let mut apart = vec![0; 2048];
        plan.mul_accumulate(&mut apart, &a, &b);
        plan.inv(&mut apart);
        assert_eq!(fused, apart);
        let values: Vec<u64> = (0..2048u64)
            .map(|i| (i * 0x1234_5678_9abc + 977) % MODULUS)
            .chain([MODULUS - 1])
            .skip(1)
            .collect();
        let mut buf = values.clone();
        plan.fwd(&mut buf);
        assert!(buf.iter().all(|&w| is_reduced(w)));
        plan.normalize(&mut buf);
        assert!(buf.iter().all(|&w| is_reduced(w)));
        plan.inv(&mut buf);
        assert_eq!(buf, values);
    }
}
