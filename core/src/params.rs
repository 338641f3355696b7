//! The named, versioned parameter set that client and server must share.

use std::fmt;

/// Largest absolute value of a quantized coordinate: values live in `[-127, 127]` (symmetric,
/// so negating a vector never overflows).
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
    /// The fingerprint: a hash over every field, in a fixed textual form.
    pub fn fingerprint(&self) -> Fingerprint {
        let canonical = format!(
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
    /// `[-2^(p-1), 2^(p-1))` holds every possible score `d * 127^2` in absolute value.
    ///
    /// The scaling factor is then Delta = 2^(64 - p): as large as the scores allow, which leaves
    /// the most room for noise (p = 21 at d = 64, p = 25 at d = 1024).
    pub fn plaintext_bits(&self, dim: usize) -> crate::Result<u32> {
        self.check_dim(dim)?;
        let max_abs = dim as u64 * (VALUE_BOUND * VALUE_BOUND) as u64;
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
    }
}
