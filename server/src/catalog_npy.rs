//! NumPy catalogs: a 2-D `.npy` matrix of float32 or float16 (one row per item, C order, as
//! `numpy.save` writes it) and beside it, with the same stem, a `.ids` file of one line per row:
//! the item's id, or its id, a tab and its title. Validated as completely as the text formats,
//! errors naming the file and the row or line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use veilrank_core::V1_128;

use crate::catalog_file::{Builder, RawCatalog};
use crate::error::CatalogLoadError;

/// The longest `.npy` header accepted: NumPy writes under 200 bytes for a 2-D array.
///
/// The header is parsed here, strictly, in one pass: npyz's parser (py_literal, a backtracking
/// PEG) took seconds on a 118-byte header of nested brackets that the fuzzer found, and it
/// allocated whatever header length the preamble stated.
const MAX_HEADER_BYTES: u64 = 1 << 16;

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
    read_matrix_from(BufReader::new(file), size, path)
}

/// [`read_matrix`] of `size` bytes from `input`; errors name `path`.
pub fn read_matrix_from(
    input: impl Read,
    size: u64,
    path: &Path,
) -> Result<NpyMatrix, CatalogLoadError> {
    let error = |message: String| CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    // the preamble: magic, version, header length (u16 in version 1, u32 in 2 and 3)
    let mut input = input;
    let mut preamble = Vec::with_capacity(12);
    (&mut input)
        .take(12)
        .read_to_end(&mut preamble)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    let (header_len, consumed) = match preamble.as_slice() {
        [0x93, b'N', b'U', b'M', b'P', b'Y', 1, _, a, b, ..] => {
            (u64::from(u16::from_le_bytes([*a, *b])), 10)
        }
        [0x93, b'N', b'U', b'M', b'P', b'Y', 2 | 3, _, a, b, c, d] => {
            (u64::from(u32::from_le_bytes([*a, *b, *c, *d])), 12)
        }
        _ => {
            return Err(error(
                "not a .npy file (no NumPy format 1 to 3 preamble)".into(),
            ))
        }
    };
    if header_len > MAX_HEADER_BYTES || header_len > size {
        return Err(error(format!(
            "a header of {header_len} bytes: at most {MAX_HEADER_BYTES}, and within the file"
        )));
    }
    let mut input = std::io::Cursor::new(preamble[consumed..].to_vec()).chain(input);
    let mut header = Vec::new();
    (&mut input)
        .take(header_len)
        .read_to_end(&mut header)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    let header =
        std::str::from_utf8(&header).map_err(|_| error("the header is not text".into()))?;
    let header = Header::parse(header).map_err(|m| error(format!("header: {m}")))?;
    let [rows, dim] = header.shape[..] else {
        return Err(error(format!(
            "a 2-D array (items x dimension) was expected, its shape is {:?}",
            header.shape
        )));
    };
    if header.fortran_order {
        return Err(error("Fortran order: save the array in C order".into()));
    }
    let width: u64 = match header.descr.as_str() {
        "<f2" => 2,
        "<f4" => 4,
        other => {
            return Err(error(format!(
                "float32 (<f4) or float16 (<f2) values expected, not {other}"
            )))
        }
    };
    let bytes = rows.checked_mul(dim).and_then(|n| n.checked_mul(width));
    let Some(bytes) = bytes.filter(|&b| b <= size) else {
        return Err(error(format!(
            "the header's shape {rows} x {dim} needs more bytes than the file's {size}"
        )));
    };
    let (Ok(rows), Ok(dim), Ok(len)) = (
        usize::try_from(rows),
        usize::try_from(dim),
        usize::try_from(bytes),
    ) else {
        return Err(error("too large for this machine".into()));
    };
    let mut data = vec![0u8; len];
    input
        .read_exact(&mut data)
        .map_err(|e| error(format!("the values end early: {e}")))?;
    let values = if width == 2 {
        data.chunks_exact(2)
            .map(|b| f32::from(half::f16::from_le_bytes([b[0], b[1]])))
            .collect()
    } else {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    Ok(NpyMatrix { rows, dim, values })
}

/// Writes the header of a float32 `.npy` matrix of `rows x cols` (format 1.0, the header padded
/// to 64 bytes as `numpy.save` pads it); the values follow, little-endian, row-major.
pub fn write_f32_header(
    out: &mut impl std::io::Write,
    rows: usize,
    cols: usize,
) -> std::io::Result<()> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + length (2) + header, ending in a newline
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    out.write_all(b"\x93NUMPY\x01\x00")?;
    let len = u16::try_from(header.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(header.as_bytes())
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

/// What a `.npy` header says: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

impl Header {
    /// The dictionary NumPy writes, keys in any order, white space anywhere between tokens.
    fn parse(text: &str) -> Result<Self, String> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let inner = compact
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .ok_or("not a dictionary")?;
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        let mut rest = inner;
        while !rest.is_empty() {
            let (key, after) = rest
                .strip_prefix('\'')
                .and_then(|s| s.split_once("':"))
                .ok_or("a key in quotes was expected")?;
            // the value runs to the next comma outside parentheses
            let end = if after.starts_with('(') {
                after.find(')').map(|i| i + 1).ok_or("unclosed shape")?
            } else {
                after.find(',').unwrap_or(after.len())
            };
            let (value, tail) = after.split_at(end);
            rest = tail.strip_prefix(',').unwrap_or(tail);
            if !tail.is_empty() && !tail.starts_with(',') {
                return Err(format!("unexpected text after {key}"));
            }
            match key {
                "descr" => {
                    let d = value
                        .strip_prefix('\'')
                        .and_then(|v| v.strip_suffix('\''))
                        .ok_or("descr is not a string")?;
                    descr = Some(d.to_string());
                }
                "fortran_order" => {
                    fortran_order = Some(match value {
                        "False" => false,
                        "True" => true,
                        _ => return Err("fortran_order is not True or False".into()),
                    });
                }
                "shape" => {
                    let dims = value
                        .strip_prefix('(')
                        .and_then(|v| v.strip_suffix(')'))
                        .ok_or("shape is not a tuple")?;
                    shape = Some(
                        dims.split(',')
                            .filter(|d| !d.is_empty())
                            .map(|d| d.parse::<u64>().map_err(|_| format!("shape entry {d:?}")))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        match (descr, fortran_order, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Self {
                descr,
                fortran_order,
                shape,
            }),
            _ => Err("descr, fortran_order and shape are all needed".into()),
        }
    }
}

#[cfg(test)]
mod tests;
