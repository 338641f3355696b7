//! NumPy catalogs: a 2-D `.npy` matrix of float32 or float16 (one row per item, C order, as
//! `numpy.save` writes it) and beside it, with the same stem, a `.ids` file of one line per row:
//! the item's id, or its id, a tab and its title. Validated as completely as the text formats,
//! errors naming the file and the row or line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use veilrank_core::V1_128;

use crate::catalog_file::{Builder, RawCatalog};
use crate::error::CatalogLoadError;

/// A matrix read from a `.npy` file: `rows x dim` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyMatrix {
    /// Rows.
    pub rows: usize,
    /// Values per row.
    pub dim: usize,
    /// Every value, row-major, as f32.
    pub values: Vec<f32>,
}

/// The ids file of a `.npy` catalog: the same path with the extension `.ids`.
#[must_use]
pub fn ids_path(npy: &Path) -> PathBuf {
    npy.with_extension("ids")
}

/// Reads a 2-D float32 or float16 matrix in C order. The header's shape is checked against the
/// file's size before anything is allocated for the values.
pub fn read_matrix(path: &Path) -> Result<NpyMatrix, CatalogLoadError> {
    let error = |message: String| CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let file = File::open(path).map_err(|e| error(format!("cannot open: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| error(format!("cannot read: {e}")))?
        .len();
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| error(format!("not a .npy file: {e}")))?;
    let shape = npy.shape().to_vec();
    let [rows, dim] = shape[..] else {
        return Err(error(format!(
            "a 2-D array (items x dimension) was expected, its shape is {shape:?}"
        )));
    };
    if npy.order() != npyz::Order::C {
        return Err(error("Fortran order: save the array in C order".into()));
    }
    let descr = npy.dtype().descr();
    let width: u64 = match descr.trim_matches('\'') {
        "<f2" => 2,
        "<f4" => 4,
        other => {
            return Err(error(format!(
                "float32 (<f4) or float16 (<f2) values expected, not {other}"
            )))
        }
    };
    let bytes = rows.checked_mul(dim).and_then(|n| n.checked_mul(width));
    if bytes.is_none_or(|b| b > size) {
        return Err(error(format!(
            "the header's shape {rows} x {dim} needs more bytes than the file's {size}"
        )));
    }
    let (Ok(rows), Ok(dim)) = (usize::try_from(rows), usize::try_from(dim)) else {
        return Err(error("too large for this machine".into()));
    };
    let values = if width == 2 {
        npy.into_vec::<half::f16>()
            .map_err(|e| error(format!("cannot read the values: {e}")))?
            .into_iter()
            .map(f32::from)
            .collect()
    } else {
        npy.into_vec::<f32>()
            .map_err(|e| error(format!("cannot read the values: {e}")))?
    };
    Ok(NpyMatrix { rows, dim, values })
}

/// Reads a `.npy` catalog and its `.ids` file.
pub fn load(path: &Path) -> Result<RawCatalog, CatalogLoadError> {
    let matrix = read_matrix(path)?;
    let at_row = |row: usize, message: String| CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message: format!("row {row}: {message}"),
    };
    if matrix.dim == 0 || matrix.dim > V1_128.max_dim {
        return Err(at_row(
            0,
            format!(
                "dimension {}: 1 to {} is supported",
                matrix.dim, V1_128.max_dim
            ),
        ));
    }
    let ids = ids_path(path);
    let at_line = |line: u64, message: String| CatalogLoadError {
        path: ids.clone(),
        line: Some(line),
        message,
    };
    let file = File::open(&ids).map_err(|e| CatalogLoadError {
        path: ids.clone(),
        line: None,
        message: format!(
            "cannot open ({e}): a .npy catalog needs its item ids here, one line per row, \
             `id` or `id<TAB>title`"
        ),
    })?;
    let mut builder = Builder::default();
    let mut lines = BufReader::new(file).lines();
    for (row, vector) in matrix.values.chunks_exact(matrix.dim).enumerate() {
        let number = row as u64 + 1;
        let line = match lines.next() {
            Some(line) => line.map_err(|e| at_line(number, format!("cannot read: {e}")))?,
            None => {
                return Err(at_line(
                    number,
                    format!("{row} ids for the matrix's {} rows", matrix.rows),
                ))
            }
        };
        let (id, title) = line.split_once('\t').unwrap_or((line.as_str(), ""));
        if let Some(i) = vector.iter().position(|v| !v.is_finite()) {
            return Err(at_row(row, format!("value {i} is not a finite number")));
        }
        builder
            .item(id.to_string(), title.to_string(), vector.to_vec())
            .map_err(|m| at_line(number, m))?;
    }
    if lines.next().is_some() {
        return Err(at_line(
            matrix.rows as u64 + 1,
            format!("more ids than the matrix's {} rows", matrix.rows),
        ));
    }
    builder.finish().map_err(|message| CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message,
    })
}

#[cfg(test)]
mod tests;
