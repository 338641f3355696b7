//! Symmetric 8-bit quantization of f32 vectors, and the way back for scores.
//!
//! A vector `v` becomes `round(v / scale)` in `[-127, 127]` with `scale = max|v| / 127`: zero
//! stays zero, signs are kept, and negation commutes with quantization. A query is quantized
//! with its own scale; a catalog with one scale for all its items, so that every item's integer
//! score is on the same footing and the ranking by exact integer scores is the ranking of the
//! quantized dot products. The f32 score shown to people is `score * query_scale * catalog_scale`.

use crate::params::VALUE_BOUND;
use crate::{Error, Result};

/// A quantized vector: `values[i] * scale` approximates the original `v[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// Values in `[-127, 127]`.
    pub values: Vec<i8>,
    /// The step: one unit of `values` in the original units.
    pub scale: f32,
}

/// A vector quantized to more than 8 bits ([`crate::Precision`]).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWide {
    /// Values within `2^(bits-1) - 1` in absolute value.
    pub values: Vec<i16>,
    /// The step: one unit of `values` in the original units.
    pub scale: f32,
}

/// The scale that maps the largest absolute value among `values` to 127 (1.0 for all zeros).
///
/// Fails on NaN or infinity, naming the position.
pub fn scale_for<'a>(values: impl IntoIterator<Item = &'a f32>) -> Result<f32> {
    scale_for_bound(values, VALUE_BOUND)
}

/// The scale that maps the largest absolute value among `values` to `bound`.
pub fn scale_for_bound<'a>(values: impl IntoIterator<Item = &'a f32>, bound: i32) -> Result<f32> {
    let mut max = 0f32;
    for (index, v) in values.into_iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite { index });
        }
        max = max.max(v.abs());
    }
    Ok(if max > 0.0 { max / bound as f32 } else { 1.0 })
}

/// Quantizes with a given scale (a catalog's), clamping to `[-127, 127]`.
pub fn quantize_with_scale(values: &[f32], scale: f32) -> Result<Vec<i8>> {
    // within +-127, so every value is an i8
    Ok(quantize_wide_with_scale(values, scale, VALUE_BOUND)?
        .into_iter()
        .map(|v| v as i8)
        .collect())
}

/// Quantizes with a given scale to values within `bound` (at most `i16::MAX`), clamping.
pub fn quantize_wide_with_scale(values: &[f32], scale: f32, bound: i32) -> Result<Vec<i16>> {
    let bound = bound.min(i32::from(i16::MAX)) as f32;
    values
        .iter()
        .enumerate()
        .map(|(index, v)| {
            if !v.is_finite() {
                return Err(Error::NonFinite { index });
            }
            Ok((v / scale).round().clamp(-bound, bound) as i16)
        })
        .collect()
}

/// Quantizes a vector with its own scale to `bits`-bit values (a query at a precision's query
/// bits).
pub fn quantize_bits(values: &[f32], bits: u32) -> Result<QuantizedWide> {
    let bound = (1i32 << (bits.clamp(2, 16) - 1)) - 1;
    let scale = scale_for_bound(values, bound)?;
    Ok(QuantizedWide {
        values: quantize_wide_with_scale(values, scale, bound)?,
        scale,
    })
}

/// Quantizes a vector with its own scale (a query's).
pub fn quantize(values: &[f32]) -> Result<Quantized> {
    let scale = scale_for(values)?;
    Ok(Quantized {
        values: quantize_with_scale(values, scale)?,
        scale,
    })
}

/// An exact integer score back in the units of the original vectors.
pub fn dequantize_score(score: i32, query_scale: f32, catalog_scale: f32) -> f32 {
    score as f32 * query_scale * catalog_scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn finite_vec() -> impl Strategy<Value = Vec<f32>> {
        proptest::collection::vec(-1e6f32..1e6f32, 1..200)
    }

    proptest! {
        #[test]
        fn quantized_values_are_within_half_a_step(v in finite_vec()) {
            let q = quantize(&v).unwrap();
            prop_assert_eq!(q.values.len(), v.len());
            for (x, &qx) in v.iter().zip(&q.values) {
                prop_assert!((-127..=127).contains(&i32::from(qx)));
                let err = (x - f32::from(qx) * q.scale).abs();
                prop_assert!(err <= q.scale * 0.5 + x.abs() * 1e-6, "x {} q {} scale {}", x, qx, q.scale);
            }
        }

        #[test]
        fn the_largest_magnitude_maps_to_127(v in finite_vec()) {
            let q = quantize(&v).unwrap();
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            if max > 0.0 {
                prop_assert_eq!(q.values.iter().map(|x| i32::from(*x).abs()).max(), Some(127));
            } else {
                prop_assert!(q.values.iter().all(|&x| x == 0));
            }
        }

        #[test]
        fn negation_commutes_with_quantization(v in finite_vec()) {
            let neg: Vec<f32> = v.iter().map(|x| -x).collect();
            let (q, qn) = (quantize(&v).unwrap(), quantize(&neg).unwrap());
            prop_assert_eq!(q.scale, qn.scale);
            for (a, b) in q.values.iter().zip(&qn.values) {
                prop_assert_eq!(i32::from(*a), -i32::from(*b));
            }
        }

        #[test]
        fn integer_vectors_with_a_127_quantize_to_themselves(
            v in proptest::collection::vec(-127i32..=127, 1..100)
        ) {
            let mut v = v;
            v[0] = 127;
            let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let q = quantize(&f).unwrap();
            prop_assert_eq!(q.scale, 1.0);
            prop_assert_eq!(q.values.iter().map(|&x| i32::from(x)).collect::<Vec<_>>(), v);
        }
    }

    #[test]
    fn non_finite_values_are_named() {
        assert_eq!(
            quantize(&[1.0, f32::NAN]),
            Err(Error::NonFinite { index: 1 })
        );
        assert_eq!(
            quantize(&[f32::INFINITY]),
            Err(Error::NonFinite { index: 0 })
        );
    }

    #[test]
    fn wide_quantization_uses_every_bit_and_agrees_with_8_bits() {
        let q = quantize_bits(&[-4094.0, 2.0, 200.0, 0.0], 12).unwrap();
        assert_eq!(q.values, vec![-2047, 1, 100, 0]);
        assert_eq!(q.scale, 2.0);
        let v = [0.5f32, -1.0, 0.25, 0.0];
        let eight = quantize_bits(&v, 8).unwrap();
        let narrow = quantize(&v).unwrap();
        assert_eq!(eight.scale, narrow.scale);
        let as_wide: Vec<i16> = narrow.values.iter().map(|&x| i16::from(x)).collect();
        assert_eq!(eight.values, as_wide);
        assert_eq!(
            quantize_bits(&[f32::NAN], 12),
            Err(Error::NonFinite { index: 0 })
        );
    }

    #[test]
    fn scores_scale_back() {
        assert_eq!(dequantize_score(-200, 0.5, 0.25), -25.0);
    }
}
