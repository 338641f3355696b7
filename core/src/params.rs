//! The named, versioned parameter set that client and server must share.

use std::fmt;

use crate::precision::Precision;

/// Largest absolute value of a quantized coordinate at the baseline precision: values live in
/// `[-127, 127]` (symmetric, so negating a vector never overflows).
pub const VALUE_BOUND: i32 = 127;

/// A parameter set: everything both sides must agree on to talk.
///
/// The server's internal choices (which NTT prime it computes under, how many bits it keeps in a
/// response) are not part of it: they are picked per catalog by [`crate::noise`] and announced in
/// each response, so they can improve without a new parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterSet {
    /// Human-readable name, part of the fingerprint.
    pub name: &'static str,
    /// GLWE polynomial size N: also the number of items scored per block.
    pub polynomial_size: usize,
    /// GLWE dimension k.
    pub glwe_dimension: usize,
    /// The encryption noise is t-uniform on `[-2^b, 2^b]` with this `b`.
    pub noise_bound_log2: u32,
    /// Bits of each uploaded ciphertext body kept on the wire (the low bits are rounded away by
    /// the client: public post-processing, so no security is lost; the rounding is in the noise
    /// budget).
    pub upload_body_bits: u32,
    /// Largest supported vector dimension.
    pub max_dim: usize,
    /// The value bits of catalogs and queries ([`Precision::BASELINE`] in [`V1_128`]): each
    /// catalog states its own, and both sides use [`ParameterSet::with_precision`].
    pub precision: Precision,
}

/// The 128-bit parameter set: k = 1, N = 2048, binary key, t-uniform(17) noise at modulus 2^64,
/// the same shape as tfhe's own 2^-128 parameter sets.
pub const V1_128: ParameterSet = ParameterSet {
    name: "veilrank-v1-glwe-n2048-k1-tuniform17-q64",
    polynomial_size: 2048,
    glwe_dimension: 1,
    noise_bound_log2: 17,
    upload_body_bits: 48,
    max_dim: 1024,
    precision: Precision::BASELINE,
};

/// A 32-byte digest of a parameter set; both sides compare it before anything else.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Lower-case hex, as shown in the manifest.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ParameterSet {
    /// This parameter set at another precision: the same keys, another encoding, another
    /// fingerprint (so that clients and servers at different precisions refuse each other's
    /// messages instead of decoding them under the wrong Delta).
    #[must_use]
    pub fn with_precision(&self, precision: Precision) -> Self {
        Self { precision, ..*self }
    }

    /// The fingerprint: a hash over every field, in a fixed textual form. The baseline
    /// precision's form is the one before precisions existed, so that its clients keep working.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut canonical = format!(
            "veilrank-params;name={};N={};k={};noise=tuniform({});key=binary;q=2^64;\
             upload_bits={};max_dim={};value_bound={};encoding=delta(dim)",
            self.name,
            self.polynomial_size,
            self.glwe_dimension,
            self.noise_bound_log2,
            self.upload_body_bits,
            self.max_dim,
            VALUE_BOUND,
        );
        let p = self.precision;
        if p != Precision::BASELINE {
            canonical.push_str(&format!(
                ";catalog_bits={};query_bits={};limbs={};limb_shift={}",
                p.catalog_bits(),
                p.query_bits(),
                p.limbs(),
                p.limb_shift()
            ));
        }
        Fingerprint(*blake3::hash(canonical.as_bytes()).as_bytes())
    }

    /// Checks that `dim` is a supported dimension.
    pub fn check_dim(&self, dim: usize) -> crate::Result<()> {
        if dim == 0 || dim > self.max_dim {
            return Err(crate::Error::UnsupportedDimension {
                found: dim,
                max: self.max_dim,
            });
        }
        Ok(())
    }

    /// Bits p of the plaintext space for dimension `dim`: the smallest p whose signed range
    /// `[-2^(p-1), 2^(p-1))` holds every possible score of one catalog row, `d` times the limb
    /// bound times the query bound (`d * 127^2` at the baseline precision).
    ///
    /// The scaling factor is then Delta = 2^(64 - p): as large as the scores allow, which leaves
    /// the most room for noise (p = 21 at d = 64, p = 25 at d = 1024, baseline precision).
    /// Fails where an item's score (its limbs added) would not fit an `i32`.
    pub fn plaintext_bits(&self, dim: usize) -> crate::Result<u32> {
        self.check_dim(dim)?;
        let p = self.precision;
        if p.max_score(dim) >= 1 << 31 {
            return Err(crate::Error::UnsupportedPrecision(format!(
                "{p} at dimension {dim}: scores up to {} do not fit 32 bits",
                p.max_score(dim)
            )));
        }
        let max_abs = dim as u64 * p.limb_bound() as u64 * p.query_bound() as u64;
        // smallest p with 2^(p-1) > max_abs
        Ok(u64::BITS - max_abs.leading_zeros() + 1)
    }

    /// log2 of the scaling factor Delta at 2^64 for dimension `dim`.
    pub fn delta_log2(&self, dim: usize) -> crate::Result<u32> {
        Ok(64 - self.plaintext_bits(dim)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_bits_hold_the_extreme_scores() {
        for dim in 1..=V1_128.max_dim {
            let p = V1_128.plaintext_bits(dim).unwrap();
            let max_abs = dim as i64 * 127 * 127;
            assert!(max_abs < 1i64 << (p - 1), "dim {dim}: p {p} too small");
            assert!(max_abs >= 1i64 << (p - 2), "dim {dim}: p {p} not minimal");
        }
        assert_eq!(V1_128.plaintext_bits(64).unwrap(), 21);
        assert_eq!(V1_128.plaintext_bits(1024).unwrap(), 25);
    }

    #[test]
    fn dimensions_outside_the_range_are_errors() {
        assert!(V1_128.plaintext_bits(0).is_err());
        assert!(V1_128.plaintext_bits(1025).is_err());
    }

    #[test]
    fn fingerprint_depends_on_every_field() {
        let base = V1_128.fingerprint();
        let other = ParameterSet {
            upload_body_bits: 47,
            ..V1_128
        };
        assert_ne!(base, other.fingerprint());
        assert_eq!(base, V1_128.fingerprint());
        assert_eq!(base.to_hex().len(), 64);
        let wide = V1_128.with_precision(Precision::try_new(12, 10).unwrap());
        assert_ne!(base, wide.fingerprint());
        assert_eq!(V1_128.with_precision(Precision::BASELINE), V1_128);
    }

    /// The baseline's fingerprint is the one clients made before precisions existed have.
    #[test]
    fn the_baseline_fingerprint_is_unchanged() {
        assert_eq!(
            V1_128.fingerprint().to_hex(),
            "1b7d3b9f1dee7e445a6e9c6300573e1b68ec8ef7f9cf06db7c5ade80f9a011ba"
        );
    }

    #[test]
    fn wide_precisions_size_the_plaintext_by_their_limbs() {
        let p = Precision::try_new(12, 10).unwrap();
        // one row: 64 * 32 * 511 < 2^20
        assert_eq!(V1_128.with_precision(p).plaintext_bits(64).unwrap(), 21);
        // 16/16 scores at d = 64 reach 2^36: not an i32
        let widest = V1_128.with_precision(Precision::try_new(16, 16).unwrap());
        assert!(matches!(
            widest.plaintext_bits(64),
            Err(crate::Error::UnsupportedPrecision(_))
        ));
    }
}
