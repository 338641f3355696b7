//! How many bits a catalog's values and a query's values have: a property of each catalog.
//!
//! One 64-bit ciphertext carries 8-bit values at every dimension, but not 12-bit catalog values
//! (the encryption noise grows with the catalog's values while the room for it shrinks,
//! `docs/design/precision.md`). A wider catalog is therefore split in limbs: each value
//! `v = sum_l limb_l 2^(s l)`, every limb balanced within `2^(s-1)`, and each limb scored as a
//! catalog row of its own against the same query. The client decrypts every row exactly and adds
//! the limbs back: the score of the wide catalog, exactly, with the noise of a narrow one.
//!
//! Limb counts are powers of two, so that an item's limbs never straddle a block of N rows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Value bits of a catalog and of its queries, each from [`Precision::MIN_BITS`] to
/// [`Precision::MAX_BITS`]. Values are signed and symmetric: `b` bits bound them by
/// `2^(b-1) - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PrecisionBits", into = "PrecisionBits")]
pub struct Precision {
    catalog_bits: u8,
    query_bits: u8,
}

/// The serialized form, checked on the way in.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct PrecisionBits {
    catalog_bits: u32,
    query_bits: u32,
}

impl TryFrom<PrecisionBits> for Precision {
    type Error = Error;
    fn try_from(b: PrecisionBits) -> Result<Self> {
        Self::try_new(b.catalog_bits, b.query_bits)
    }
}

impl From<Precision> for PrecisionBits {
    fn from(p: Precision) -> Self {
        Self {
            catalog_bits: p.catalog_bits(),
            query_bits: p.query_bits(),
        }
    }
}

impl Precision {
    /// 8-bit values on both sides, in one limb: the format of every client before precisions.
    pub const BASELINE: Self = Self {
        catalog_bits: 8,
        query_bits: 8,
    };
    /// The cheapest precision whose rankings reach recall@10 >= 0.995 against float32 on the
    /// study data at d = 64, 128 and 384 (README, "Ranking fidelity"): the server's default.
    pub const RECOMMENDED: Self = Self {
        catalog_bits: 12,
        query_bits: 10,
    };
    /// The fewest bits of either side.
    pub const MIN_BITS: u32 = 8;
    /// The most bits of either side.
    pub const MAX_BITS: u32 = 16;

    /// A precision of `catalog_bits` and `query_bits`, each within `MIN_BITS..=MAX_BITS`.
    pub fn try_new(catalog_bits: u32, query_bits: u32) -> Result<Self> {
        for bits in [catalog_bits, query_bits] {
            if !(Self::MIN_BITS..=Self::MAX_BITS).contains(&bits) {
                return Err(Error::UnsupportedPrecision(format!(
                    "{catalog_bits}/{query_bits}: value bits must be {} to {}",
                    Self::MIN_BITS,
                    Self::MAX_BITS
                )));
            }
        }
        Ok(Self {
            catalog_bits: catalog_bits as u8,
            query_bits: query_bits as u8,
        })
    }

    /// Every precision, 8/8 first.
    pub fn all() -> impl Iterator<Item = Self> {
        (Self::MIN_BITS..=Self::MAX_BITS).flat_map(|c| {
            (Self::MIN_BITS..=Self::MAX_BITS).map(move |q| Self {
                catalog_bits: c as u8,
                query_bits: q as u8,
            })
        })
    }

    /// Bits of the catalog's values.
    #[must_use]
    pub fn catalog_bits(self) -> u32 {
        u32::from(self.catalog_bits)
    }

    /// Bits of a query's values.
    #[must_use]
    pub fn query_bits(self) -> u32 {
        u32::from(self.query_bits)
    }

    /// Largest absolute catalog value.
    #[must_use]
    pub fn catalog_bound(self) -> i32 {
        (1 << (self.catalog_bits() - 1)) - 1
    }

    /// Largest absolute query value.
    #[must_use]
    pub fn query_bound(self) -> i32 {
        (1 << (self.query_bits() - 1)) - 1
    }

    /// Rows each item is scored as: 1 up to 8 catalog bits, 2 up to 12, 4 up to 16.
    #[must_use]
    pub fn limbs(self) -> usize {
        match self.catalog_bits {
            ..=8 => 1,
            9..=12 => 2,
            _ => 4,
        }
    }

    /// The weight of limb `l` is `2^(limb_shift l)`.
    #[must_use]
    pub fn limb_shift(self) -> u32 {
        match self.limbs() {
            1 => 0,
            2 => 6,
            _ => 4,
        }
    }

    /// Largest absolute value of a limb: what the noise analysis bounds a catalog row by.
    #[must_use]
    pub fn limb_bound(self) -> i32 {
        match self.limbs() {
            1 => self.catalog_bound(),
            _ => 1 << (self.limb_shift() - 1),
        }
    }

    /// Catalog rows of `items` items.
    #[must_use]
    pub fn rows(self, items: usize) -> usize {
        items * self.limbs()
    }

    /// Splits `value` (within the catalog bound) in its limbs, least significant first, each
    /// in `[-2^(s-1), 2^(s-1)]`.
    pub fn split(self, value: i16, limbs: &mut [i8]) {
        debug_assert_eq!(limbs.len(), self.limbs());
        let shift = self.limb_shift();
        let mut rest = i32::from(value);
        let last = limbs.len() - 1;
        for (l, limb) in limbs.iter_mut().enumerate() {
            if l == last {
                *limb = rest as i8;
            } else {
                let base = 1i32 << shift;
                let digit = (rest + base / 2).rem_euclid(base) - base / 2;
                *limb = digit as i8;
                rest = (rest - digit) >> shift;
            }
        }
    }

    /// The catalog rows of item-major `values` (`items * dim`, within the catalog bound): item
    /// `i`'s limb `l` is row `i * limbs + l`, so an item's rows share a block.
    #[must_use]
    pub fn rows_of(self, values: &[i16], dim: usize) -> Vec<i8> {
        let limbs = self.limbs();
        let mut rows = vec![0i8; values.len() * limbs];
        let mut digits = vec![0i8; limbs];
        for (item, row) in values
            .chunks_exact(dim.max(1))
            .zip(rows.chunks_exact_mut(dim.max(1) * limbs))
        {
            for (f, &v) in item.iter().enumerate() {
                self.split(v, &mut digits);
                for (l, &d) in digits.iter().enumerate() {
                    row[l * dim + f] = d;
                }
            }
        }
        rows
    }

    /// The values of item-major `rows` (`items * limbs * dim`, as [`Self::rows_of`] makes
    /// them): each item's limbs added back, `items * dim` values.
    #[must_use]
    pub fn values_of(self, rows: &[i8], dim: usize) -> Vec<i16> {
        let (limbs, dim) = (self.limbs(), dim.max(1));
        let mut digits = vec![0i32; limbs];
        let mut values = Vec::with_capacity(rows.len() / limbs);
        for item in rows.chunks_exact(dim * limbs) {
            for f in 0..dim {
                for (l, d) in digits.iter_mut().enumerate() {
                    *d = i32::from(item[l * dim + f]);
                }
                // within the catalog bound: an i16
                values.push(self.combine(&digits) as i16);
            }
        }
        values
    }

    /// The score of an item from the scores of its limbs, least significant first.
    #[must_use]
    pub fn combine(self, limb_scores: &[i32]) -> i64 {
        let shift = self.limb_shift();
        limb_scores
            .iter()
            .rev()
            .fold(0i64, |acc, &s| (acc << shift) + i64::from(s))
    }

    /// The largest absolute score of `dim` products: scores are `i32`, so this must stay below
    /// 2^31 ([`crate::ParameterSet::plaintext_bits`] refuses more).
    #[must_use]
    pub fn max_score(self, dim: usize) -> u64 {
        dim as u64 * self.catalog_bound() as u64 * self.query_bound() as u64
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.catalog_bits, self.query_bits)
    }
}

impl FromStr for Precision {
    type Err = Error;

    /// `"12/10"`: catalog bits, then query bits.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::UnsupportedPrecision(format!(
                "{s:?} is not a precision: write catalog bits/query bits, e.g. 12/10"
            ))
        };
        let (c, q) = s.trim().split_once('/').ok_or_else(bad)?;
        let c = c.trim().parse().map_err(|_| bad())?;
        let q = q.trim().parse().map_err(|_| bad())?;
        Self::try_new(c, q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_precision() -> impl Strategy<Value = Precision> {
        (8u32..=16, 8u32..=16).prop_map(|(c, q)| Precision::try_new(c, q).unwrap())
    }

    proptest! {
        #[test]
        fn limbs_add_back_to_the_value_and_stay_within_their_bound(
            p in any_precision(), raw in any::<i16>()
        ) {
            let bound = p.catalog_bound();
            let value = (i32::from(raw) % (bound + 1)) as i16;
            let mut limbs = vec![0i8; p.limbs()];
            p.split(value, &mut limbs);
            let as_scores: Vec<i32> = limbs.iter().map(|&l| i32::from(l)).collect();
            prop_assert_eq!(p.combine(&as_scores), i64::from(value));
            for &l in &limbs {
                prop_assert!(i32::from(l).abs() <= p.limb_bound(), "{} {:?}", value, limbs);
            }
        }
    }

    #[test]
    fn the_extremes_of_every_catalog_width_split_within_bounds() {
        for c in 8..=16 {
            let p = Precision::try_new(c, 8).unwrap();
            for value in [p.catalog_bound(), -p.catalog_bound(), 0, 1, -1] {
                let mut limbs = vec![0i8; p.limbs()];
                p.split(value as i16, &mut limbs);
                let s: Vec<i32> = limbs.iter().map(|&l| i32::from(l)).collect();
                assert_eq!(p.combine(&s), i64::from(value), "{p} {value}");
                assert!(s.iter().all(|l| l.abs() <= p.limb_bound()), "{p} {s:?}");
            }
        }
    }

    #[test]
    fn rows_hold_each_items_limbs_in_order() {
        let p = Precision::try_new(12, 10).unwrap();
        // two items of dimension 2: 2047 = 32 * 64 - 1, -100 = -2 * 64 + 28
        let rows = p.rows_of(&[2047, -100, 0, 1], 2);
        assert_eq!(rows, vec![-1, 28, 32, -2, 0, 1, 0, 0]);
        assert_eq!(Precision::BASELINE.rows_of(&[5, -127], 1), vec![5, -127]);
        assert_eq!(p.values_of(&rows, 2), vec![2047, -100, 0, 1]);
    }

    proptest! {
        #[test]
        fn rows_give_back_their_values(p in any_precision(), raw in prop::collection::vec(any::<i16>(), 12)) {
            let bound = p.catalog_bound();
            let values: Vec<i16> = raw.iter().map(|&v| (i32::from(v) % (bound + 1)) as i16).collect();
            prop_assert_eq!(p.values_of(&p.rows_of(&values, 3), 3), values);
        }
    }

    #[test]
    fn precisions_parse_print_and_refuse_what_is_out_of_range() {
        let p: Precision = "12/10".parse().unwrap();
        assert_eq!((p.catalog_bits(), p.query_bits(), p.limbs()), (12, 10, 2));
        assert_eq!((p.catalog_bound(), p.query_bound()), (2047, 511));
        assert_eq!(p.to_string(), "12/10");
        assert_eq!(Precision::BASELINE.limb_bound(), 127);
        for bad in ["12", "7/8", "8/17", "a/b", "12/10/1", ""] {
            assert!(
                matches!(
                    bad.parse::<Precision>(),
                    Err(Error::UnsupportedPrecision(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(Precision::all().count(), 81);
        assert_eq!(Precision::all().next(), Some(Precision::BASELINE));
        assert!(Precision::all().any(|x| x == p));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"catalog_bits":12,"query_bits":10}"#);
        assert_eq!(serde_json::from_str::<Precision>(&json).unwrap(), p);
        assert!(
            serde_json::from_str::<Precision>(r#"{"catalog_bits":40,"query_bits":8}"#).is_err()
        );
    }
}
