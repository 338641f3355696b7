//! Parquet catalogs, as data pipelines write them (pyarrow, pandas, polars, Spark): a column
//! `id` (string or integer), an optional column `title` (string) and a column `vector` (a list,
//! large list or fixed-size list of float32, or of float64, narrowed). Any other columns are
//! not read. Rows are checked as the text formats' lines are, errors naming the file and row.
//!
//! What the footer promises is checked before any row is decoded: the row count, and that the
//! vector column holds no more values than rows x the largest dimension.

use std::fs::File;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, Float32Array, Float64Array};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;
use veilrank_core::reference::MAX_ITEMS;
use veilrank_core::V1_128;

use crate::catalog_file::{Builder, RawCatalog};
use crate::error::CatalogLoadError;

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8192;

/// Reads and validates a Parquet catalog file.
pub fn load(path: &Path) -> Result<RawCatalog, CatalogLoadError> {
    let file = File::open(path).map_err(|e| error(path, None, format!("cannot open: {e}")))?;
    read(file, path)
}

/// Reads and validates a Parquet catalog from `input`; errors name `path`.
pub fn read<R: ChunkReader + 'static>(
    input: R,
    path: &Path,
) -> Result<RawCatalog, CatalogLoadError> {
    // The decoder is a large body of code fed the file's bytes: should it panic on a corrupt
    // file, that is the file's fault, reported as such, not a crash of the loader.
    catch_unwind(AssertUnwindSafe(|| decode(input, path))).unwrap_or_else(|_| {
        Err(error(
            path,
            None,
            "the Parquet decoder failed on this file (is it corrupt?)".into(),
        ))
    })
}

fn error(path: &Path, row: Option<u64>, message: String) -> CatalogLoadError {
    CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message: match row {
            Some(row) => format!("row {row}: {message}"),
            None => message,
        },
    }
}

fn decode<R: ChunkReader + 'static>(input: R, path: &Path) -> Result<RawCatalog, CatalogLoadError> {
    let fail = |message: String| error(path, None, message);
    let reader = ParquetRecordBatchReaderBuilder::try_new(input)
        .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
    let schema = reader.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let column = |name: &str| names.iter().position(|n| *n == name);
    let (Some(id), Some(vector)) = (column("id"), column("vector")) else {
        return Err(fail(format!(
            "a Parquet catalog needs the columns \"id\" and \"vector\" (and may have \"title\"); \
             this file has {names:?}"
        )));
    };
    let title = column("title");
    check_types(&schema, id, title, vector).map_err(&fail)?;

    // the footer's promises, before anything is decoded
    let metadata = reader.metadata().clone();
    let rows = usize::try_from(metadata.file_metadata().num_rows()).unwrap_or(usize::MAX);
    if rows > MAX_ITEMS {
        return Err(fail(format!(
            "{rows} rows: a catalog has at most {MAX_ITEMS} items"
        )));
    }
    let leaf = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().parts().first().map(String::as_str) == Some("vector"))
        .ok_or_else(|| fail("the vector column has no values column".into()))?;
    let values: i64 = metadata
        .row_groups()
        .iter()
        .map(|g| g.column(leaf).num_values())
        .sum();
    let most = (rows as u64).saturating_mul(V1_128.max_dim as u64);
    if !u64::try_from(values).is_ok_and(|v| v <= most) {
        return Err(fail(format!(
            "the vector column holds {values} values for {rows} rows: more than {} per row",
            V1_128.max_dim
        )));
    }

    let roots: Vec<usize> = [Some(id), title, Some(vector)]
        .into_iter()
        .flatten()
        .collect();
    let mask = ProjectionMask::roots(reader.parquet_schema(), roots);
    let batches = reader
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut builder = Builder::default();
    let mut row = 0u64;
    for batch in batches {
        let batch =
            batch.map_err(|e| fail(format!("cannot decode the rows after row {row}: {e}")))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| fail(format!("the decoded rows lack the column {name:?}")))
        };
        let ids = texts(column("id")?.as_ref(), "id").map_err(&fail)?;
        let mut titles = match title {
            Some(_) => texts(column("title")?.as_ref(), "title").map_err(&fail)?,
            None => Vec::new(),
        };
        // no title column: every title empty
        titles.resize(ids.len(), None);
        let vectors = Vectors::of(column("vector")?.as_ref()).map_err(&fail)?;
        for (i, (id, title)) in ids.into_iter().zip(titles).enumerate() {
            row += 1;
            let at = |message: String| error(path, Some(row), message);
            let id = id.ok_or_else(|| at("the id is null".into()))?;
            let vector = vectors.row(i).map_err(at)?;
            builder
                .item(id, title.unwrap_or_default(), vector)
                .map_err(at)?;
        }
    }
    builder.finish().map_err(fail)
}

/// Whether the columns' types are ones this reader takes, before any row is decoded.
fn check_types(
    schema: &arrow_schema::Schema,
    id: usize,
    title: Option<usize>,
    vector: usize,
) -> Result<(), String> {
    let text = |t: &DataType| {
        matches!(
            t,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt32
                | DataType::UInt64
        )
    };
    for (index, name) in [(Some(id), "id"), (title, "title")] {
        if let Some(index) = index {
            let t = schema.field(index).data_type();
            if !text(t) {
                return Err(format!("the {name} column is {t}, not a string or integer"));
            }
        }
    }
    let t = schema.field(vector).data_type();
    let element = match t {
        DataType::List(f) | DataType::LargeList(f) => f.data_type(),
        DataType::FixedSizeList(f, n) => {
            if *n < 1 || *n as usize > V1_128.max_dim {
                return Err(format!(
                    "the vector column's lists have {n} values; the dimension must be 1 to {}",
                    V1_128.max_dim
                ));
            }
            f.data_type()
        }
        other => {
            return Err(format!(
                "the vector column is {other}, not a list of floats"
            ))
        }
    };
    match element {
        DataType::Float32 | DataType::Float64 => Ok(()),
        other => Err(format!(
            "the vector column's values are {other}, not float32 or float64"
        )),
    }
}

/// A column of ids or titles as text, nulls as `None`.
fn texts(column: &dyn Array, name: &str) -> Result<Vec<Option<String>>, String> {
    fn show<T: ToString>(values: impl Iterator<Item = Option<T>>) -> Vec<Option<String>> {
        values.map(|v| v.map(|v| v.to_string())).collect()
    }
    Ok(match column.data_type() {
        DataType::Utf8 => show(column.as_string::<i32>().iter()),
        DataType::LargeUtf8 => show(column.as_string::<i64>().iter()),
        DataType::Utf8View => show(column.as_string_view().iter()),
        DataType::Int32 => show(column.as_primitive::<Int32Type>().iter()),
        DataType::Int64 => show(column.as_primitive::<Int64Type>().iter()),
        DataType::UInt32 => show(column.as_primitive::<UInt32Type>().iter()),
        DataType::UInt64 => show(column.as_primitive::<UInt64Type>().iter()),
        other => {
            return Err(format!(
                "the {name} column is {other}, not a string or integer"
            ))
        }
    })
}

/// The float values under a vector column.
enum Floats<'a> {
    F32(&'a Float32Array),
    F64(&'a Float64Array),
}

/// A batch's vector column: each row's range in the float values, `None` where it is null.
struct Vectors<'a> {
    rows: Vec<Option<Range<usize>>>,
    values: Floats<'a>,
}

impl<'a> Vectors<'a> {
    fn of(column: &'a dyn Array) -> Result<Self, String> {
        fn ranges(
            len: usize,
            valid: impl Fn(usize) -> bool,
            range: impl Fn(usize) -> Range<usize>,
        ) -> Vec<Option<Range<usize>>> {
            (0..len).map(|i| valid(i).then(|| range(i))).collect()
        }
        let (rows, values) = if let Some(list) = column.as_list_opt::<i32>() {
            let offsets = list.value_offsets();
            let range = |i: usize| offsets[i] as usize..offsets[i + 1] as usize;
            (
                ranges(list.len(), |i| list.is_valid(i), range),
                list.values(),
            )
        } else if let Some(list) = column.as_list_opt::<i64>() {
            let offsets = list.value_offsets();
            let range = |i: usize| offsets[i] as usize..offsets[i + 1] as usize;
            (
                ranges(list.len(), |i| list.is_valid(i), range),
                list.values(),
            )
        } else if let Some(list) = column.as_fixed_size_list_opt() {
            let n = list.value_length() as usize;
            let range = |i: usize| list.value_offset_at(i)..list.value_offset_at(i) + n;
            (
                ranges(list.len(), |i| list.is_valid(i), range),
                list.values(),
            )
        } else {
            return Err(format!(
                "the vector column is {}, not a list",
                column.data_type()
            ));
        };
        let values = if let Some(v) = values.as_primitive_opt::<Float32Type>() {
            Floats::F32(v)
        } else if let Some(v) = values.as_primitive_opt::<Float64Type>() {
            Floats::F64(v)
        } else {
            return Err(format!(
                "the vector column's values are {}, not float32 or float64",
                values.data_type()
            ));
        };
        Ok(Self { rows, values })
    }

    /// Row `i`'s vector.
    fn row(&self, i: usize) -> Result<Vec<f32>, String> {
        let range = self.rows[i].clone().ok_or("the vector is null")?;
        let mut out = Vec::with_capacity(range.len());
        // the index of a null value in the row, if any
        let null = |values: &dyn Array| {
            (values.null_count() > 0)
                .then(|| range.clone().position(|j| values.is_null(j)))
                .flatten()
        };
        match &self.values {
            Floats::F32(v) => {
                if let Some(j) = null(v) {
                    return Err(format!("vector value {j} is null"));
                }
                out.extend_from_slice(&v.values()[range]);
            }
            Floats::F64(v) => {
                if let Some(j) = null(v) {
                    return Err(format!("vector value {j} is null"));
                }
                // narrowed: a value beyond f32's range becomes infinite, which the builder
                // refuses, naming its index
                out.extend(v.values()[range].iter().map(|&x| x as f32));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
