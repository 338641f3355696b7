//! Plaintext scoring: the oracle every encrypted result is checked against. (The fast baseline
//! the benchmarks compare with is the engine's, `veilrank_engine::baseline`.)

use rayon::prelude::*;

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

/// One exact dot product.
#[inline]
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}
