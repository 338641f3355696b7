//! The IFMA kernel's reduction of its lazy sums mod q, on eight lanes.

use super::Ifma;

/// Exact vector reduction of `hi * 2^52 + lo` modulo a prime `2^50 < q < 2^52` for which
/// `c = 2^52 mod q` is small (`ifma50`: c = 53245), with `lo < 2^62` and `hi < 2^62` — the lazy
/// sums of at most 1024 products of values below q.
///
/// With `hi = h1 2^52 + h0` (after carrying `lo`'s top bits into `hi`):
/// `hi 2^52 + lo = lo + h0 c + h1 c^2 (mod q)`; `h0 c` is itself split by IFMA into
/// `p1 2^52 + p0 = p1 c + p0`. Every term then fits 52 bits, the sum is below 2^54, one more
/// fold brings it below 4q, and two conditional subtractions (`min(r, r - kq)`) below q.
#[derive(Clone, Copy)]
pub(crate) struct VecReducer {
    q: u64,
    c: u64,
    c2: u64,
}

impl VecReducer {
    /// `None` where the bounds above do not hold for `q`.
    pub(crate) fn try_new(q: u64) -> Option<Self> {
        let c = (1u64 << 52).checked_rem(q)?;
        let fits = q > 1 << 50 && q < 1 << 52 && c < 1 << 20 && 4 * c < q;
        fits.then(|| Self {
            q,
            c,
            c2: ((c as u128 * c as u128) % q as u128) as u64,
        })
    }

    #[inline(always)]
    pub(super) fn reduce(
        &self,
        simd: Ifma,
        lo: core::arch::x86_64::__m512i,
        hi: core::arch::x86_64::__m512i,
    ) -> core::arch::x86_64::__m512i {
        let (a, m) = (simd.avx512f, simd.avx512ifma);
        let mask = a._mm512_set1_epi64(((1u64 << 52) - 1) as i64);
        let c = a._mm512_set1_epi64(self.c as i64);
        let c2 = a._mm512_set1_epi64(self.c2 as i64);
        let q = a._mm512_set1_epi64(self.q as i64);
        let two_q = a._mm512_set1_epi64((2 * self.q) as i64);
        let zero = a._mm512_setzero_si512();

        let hi = a._mm512_add_epi64(hi, a._mm512_srli_epi64::<52>(lo));
        let lo = a._mm512_and_si512(lo, mask);
        let (h1, h0) = (a._mm512_srli_epi64::<52>(hi), a._mm512_and_si512(hi, mask));
        // lo + p0 + p1 c + h1 c^2 < 2^52 + 2^52 + 2^40 + 2^50
        let s = m._mm512_madd52lo_epu64(lo, h0, c);
        let p1 = m._mm512_madd52hi_epu64(zero, h0, c);
        let s = m._mm512_madd52lo_epu64(s, p1, c);
        let s = m._mm512_madd52lo_epu64(s, h1, c2);
        // s = s1 2^52 + s0 = s0 + s1 c < 2^52 + 3c < 4q
        let r =
            m._mm512_madd52lo_epu64(a._mm512_and_si512(s, mask), a._mm512_srli_epi64::<52>(s), c);
        let r = a._mm512_min_epu64(r, a._mm512_sub_epi64(r, two_q));
        a._mm512_min_epu64(r, a._mm512_sub_epi64(r, q))
    }

    /// [`Self::reduce`] on eight lanes, for tests.
    #[cfg(test)]
    fn reduce_lanes(&self, simd: Ifma, lo: [u64; 8], hi: [u64; 8]) -> [u64; 8] {
        simd.vectorize(
            #[inline(always)]
            || pulp::cast(self.reduce(simd, pulp::cast(lo), pulp::cast(hi))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use veilrank_core::ntt::ServerPrime;

    proptest! {
        #[test]
        fn vector_reduction_is_exact(
            lo in prop::array::uniform8(0u64..(1 << 62)),
            hi in prop::array::uniform8(0u64..(1 << 62)),
        ) {
            let q = ServerPrime::Ifma50.modulus();
            let reducer = VecReducer::try_new(q).expect("ifma50 fits the vector reduction");
            let Some(simd) = Ifma::try_new() else {
                crate::kernel::skipped("vector_reduction_is_exact", "AVX-512 IFMA");
                return Ok(());
            };
            {
                let got = reducer.reduce_lanes(simd, lo, hi);
                for k in 0..8 {
                    let expected = (((hi[k] as u128) << 52) + lo[k] as u128) % q as u128;
                    prop_assert_eq!(got[k] as u128, expected);
                }
            }
        }
    }

    #[test]
    fn vector_reduction_applies_to_ifma50_only() {
        assert!(VecReducer::try_new(ServerPrime::Ifma50.modulus()).is_some());
        assert!(VecReducer::try_new(ServerPrime::Wide62.modulus()).is_none());
    }

    #[test]
    fn worst_case_sums_reduce_exactly() {
        let q = ServerPrime::Ifma50.modulus();
        let reducer = VecReducer::try_new(q).expect("fits");
        let Some(simd) = Ifma::try_new() else {
            return crate::kernel::skipped("worst_case_sums_reduce_exactly", "AVX-512 IFMA");
        };
        // 1024 products of (q-1)^2: the largest lazy sums the kernel can produce
        let p = (q as u128 - 1) * (q as u128 - 1);
        let (lo, hi) = ((p & ((1 << 52) - 1)) as u64 * 1024, (p >> 52) as u64 * 1024);
        let got = reducer.reduce_lanes(simd, [lo; 8], [hi; 8]);
        let expected = (p * 1024 % q as u128) as u64;
        assert_eq!(got, [expected; 8]);
    }
}
