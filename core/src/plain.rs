//! Plaintext scoring: the oracle every encrypted result is checked against. (The fast baseline
//! the benchmarks compare with is the engine's, `veilrank_engine::baseline`.)

use rayon::prelude::*;

use crate::precision::Precision;

/// Dot products of the quantized `query` with every row of `matrix` (`items * dim`,
/// item-major), exact in i32, on the current rayon pool. Obvious code: the oracle.
pub fn scores(matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    assert_eq!(query.len(), dim, "query dimension");
    matrix
        .par_chunks_exact(dim)
        .with_min_len(1024)
        .map(|row| dot(row, query))
        .collect()
}

/// Item scores of a catalog stored as rows at `precision` ([`Precision::rows_of`]) against a
/// query of the precision's query bits: each row's dot product, each item's limbs added back.
pub fn item_scores(precision: Precision, rows: &[i8], dim: usize, query: &[i16]) -> Vec<i32> {
    assert_eq!(query.len(), dim, "query dimension");
    let limbs = precision.limbs();
    rows.par_chunks_exact(dim * limbs)
        .with_min_len(512)
        .map(|item| {
            let limb_scores: Vec<i32> = item
                .chunks_exact(dim)
                .map(|row| {
                    row.iter()
                        .zip(query)
                        .map(|(&x, &y)| i32::from(x) * i32::from(y))
                        .sum()
                })
                .collect();
            precision.combine(&limb_scores) as i32
        })
        .collect()
}

/// One exact dot product.
#[inline]
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows' scores with the limbs added back are the wide values' dot products.
    #[test]
    fn item_scores_of_rows_are_the_wide_dot_products() {
        for (c, q) in [(8, 8), (12, 10), (16, 8)] {
            let p = Precision::try_new(c, q).unwrap();
            let (cb, qb) = (p.catalog_bound() as i16, p.query_bound() as i16);
            let dim = 3;
            let values: Vec<i16> = vec![cb, -cb, 0, 1, -1, cb / 3, -cb, -cb, -cb];
            let query: Vec<i16> = vec![qb, -qb, 7];
            let expected: Vec<i32> = values
                .chunks_exact(dim)
                .map(|v| {
                    v.iter()
                        .zip(&query)
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum()
                })
                .collect();
            let rows = p.rows_of(&values, dim);
            assert_eq!(item_scores(p, &rows, dim, &query), expected, "{p}");
        }
    }
}
