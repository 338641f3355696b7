//! Row-major f32 matrices for the fidelity study: read from `.npy` (float16 or float32) or from
//! any catalog file the server loads, and reduced by PCA.

use std::path::Path;

/// `rows x dim` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    dim: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A matrix of `rows` rows from `data`; an error unless `data` holds whole, finite rows.
    pub fn try_new(dim: usize, data: Vec<f32>) -> Result<Self, String> {
        if dim == 0 || data.is_empty() || !data.len().is_multiple_of(dim) {
            return Err(format!("{} values are not rows of {dim}", data.len()));
        }
        if let Some(at) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!("row {}: not a finite number", at / dim));
        }
        Ok(Self {
            rows: data.len() / dim,
            dim,
            data,
        })
    }

    /// Rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i`.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..][..self.dim]
    }

    /// Every value, row-major.
    #[must_use]
    pub fn values(&self) -> &[f32] {
        &self.data
    }

    /// `n` rows spread evenly (every `rows / n`-th): a sample for a study.
    #[must_use]
    pub fn sample(&self, n: usize) -> Self {
        let n = n.clamp(1, self.rows);
        let step = self.rows / n;
        let data = (0..n).flat_map(|i| self.row(i * step).to_vec()).collect();
        Self {
            rows: n,
            dim: self.dim,
            data,
        }
    }

    /// Reads a matrix: a 2-D `.npy` array of float16 or float32 in C order (no ids needed), or
    /// a catalog file as the server loads it. Errors name the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let name = path.display();
        let is_npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        if !is_npy {
            let catalog = veilrank_server::catalog_file::load(path).map_err(|e| e.to_string())?;
            let data = catalog
                .items
                .into_iter()
                .flat_map(|item| item.vector)
                .collect();
            return Self::try_new(catalog.dim, data).map_err(|e| format!("{name}: {e}"));
        }
        let m = veilrank_server::catalog_npy::read_matrix(path).map_err(|e| e.to_string())?;
        Self::try_new(m.dim, m.values).map_err(|e| format!("{name}: {e}"))
    }
}

/// A projection onto the `dim` principal components of a matrix's rows (centred): rows of
/// other matrices map onto the same axes. Dot products with a user are kept up to a constant per
/// user (the centre's), which leaves every ranking as it was in the reduced space.
pub struct Pca {
    centre: Vec<f32>,
    /// `dim` axes of the source dimension each, row-major.
    axes: Vec<f32>,
    dim: usize,
}

impl Pca {
    /// Fits `dim` axes to `items` (`dim` at most the items' dimension).
    pub fn fit(items: &Matrix, dim: usize) -> Result<Self, String> {
        let d = items.dim();
        if dim == 0 || dim > d {
            return Err(format!("cannot reduce {d} dimensions to {dim}"));
        }
        let n = items.rows() as f64;
        let mut centre = vec![0f64; d];
        for i in 0..items.rows() {
            for (c, &v) in centre.iter_mut().zip(items.row(i)) {
                *c += f64::from(v);
            }
        }
        centre.iter_mut().for_each(|c| *c /= n);
        let centred: Vec<f32> = (0..items.rows())
            .flat_map(|i| {
                items
                    .row(i)
                    .iter()
                    .zip(&centre)
                    .map(|(&v, &c)| v - c as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let x = nalgebra::DMatrix::from_row_slice(items.rows(), d, &centred);
        let covariance = (x.transpose() * &x).map(f64::from) / n;
        let eigen = nalgebra::SymmetricEigen::new(covariance);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let axes = order[..dim]
            .iter()
            .flat_map(|&k| {
                eigen
                    .eigenvectors
                    .column(k)
                    .iter()
                    .map(|&v| v as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Self {
            centre: centre.into_iter().map(|c| c as f32).collect(),
            axes,
            dim,
        })
    }

    /// Items, centred and projected.
    #[must_use]
    pub fn items(&self, m: &Matrix) -> Matrix {
        self.project(m, true)
    }

    /// Users (queries), projected.
    #[must_use]
    pub fn users(&self, m: &Matrix) -> Matrix {
        self.project(m, false)
    }

    fn project(&self, m: &Matrix, centre: bool) -> Matrix {
        let d = self.centre.len();
        let mut data = Vec::with_capacity(m.rows() * self.dim);
        let mut row = vec![0f32; d];
        for i in 0..m.rows() {
            for ((r, &v), &c) in row.iter_mut().zip(m.row(i)).zip(&self.centre) {
                *r = if centre { v - c } else { v };
            }
            for axis in self.axes.chunks_exact(d) {
                data.push(axis.iter().zip(&row).map(|(a, r)| a * r).sum());
            }
        }
        Matrix {
            rows: m.rows(),
            dim: self.dim,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items on the line through (1, 1, 0) plus a little along (0, 0, 1): one component keeps
    /// the line, and a user's ranking of the items along it.
    #[test]
    fn pca_keeps_the_main_axis_and_the_ranking_along_it() {
        let items: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 - 25.0;
                [t, t, if i % 2 == 0 { 0.01 } else { -0.01 }]
            })
            .collect();
        let items = Matrix::try_new(3, items).unwrap();
        let pca = Pca::fit(&items, 1).unwrap();
        let axis = &pca.axes;
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!((axis[0].abs() - half).abs() < 1e-4 && (axis[1] - axis[0]).abs() < 1e-4);
        assert!(axis[2].abs() < 1e-4, "{axis:?}");
        let reduced = pca.items(&items);
        let user = pca.users(&Matrix::try_new(3, vec![1.0, 1.0, 0.0]).unwrap());
        let scores: Vec<f32> = (0..50)
            .map(|i| reduced.row(i)[0] * user.row(0)[0])
            .collect();
        assert!(scores.windows(2).all(|w| w[0] < w[1]), "{scores:?}");
        assert!(Pca::fit(&items, 4).is_err());
    }

    #[test]
    fn a_sample_spreads_over_the_rows() {
        let m = Matrix::try_new(1, (0..10).map(|i| i as f32).collect()).unwrap();
        assert_eq!(m.sample(5).values(), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(m.sample(50).rows(), 10);
    }
}
