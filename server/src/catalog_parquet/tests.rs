use std::path::Path;
use std::sync::Arc;

use arrow_array::types::{Float32Type, Float64Type, Int32Type};
use arrow_array::{
    ArrayRef, FixedSizeListArray, Float32Array, Int64Array, LargeListArray, ListArray, RecordBatch,
    StringArray,
};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::*;

type Rows = Vec<Option<Vec<Option<f32>>>>;

fn parquet(columns: Vec<(&str, ArrayRef)>, compression: Compression, group: usize) -> Bytes {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(group))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    Bytes::from(out)
}

fn list(rows: Rows) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(rows))
}

fn ids(ids: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(ids.to_vec()))
}

fn load_bytes(bytes: Bytes) -> Result<RawCatalog, CatalogLoadError> {
    read(bytes, Path::new("c.parquet"))
}

fn load_err(columns: Vec<(&str, ArrayRef)>) -> String {
    let e = load_bytes(parquet(columns, Compression::SNAPPY, 1 << 20)).unwrap_err();
    let e = e.to_string();
    assert!(e.starts_with("c.parquet: "), "{e}");
    e
}

#[test]
fn lists_of_float32_with_titles_load_under_every_compression() {
    let vectors = || {
        list(vec![
            Some(vec![Some(1.0), Some(-2.5)]),
            Some(vec![Some(0.0), Some(3.0)]),
        ])
    };
    for compression in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4_RAW,
        Compression::GZIP(parquet::basic::GzipLevel::default()),
    ] {
        let bytes = parquet(
            vec![
                (
                    "title",
                    Arc::new(StringArray::from(vec![Some("Alpha"), None])) as ArrayRef,
                ),
                ("id", ids(&[Some("a"), Some("b")])),
                (
                    "popularity",
                    Arc::new(Int64Array::from(vec![5, 6])) as ArrayRef,
                ),
                ("vector", vectors()),
            ],
            compression,
            1 << 20,
        );
        let catalog = load_bytes(bytes).unwrap();
        assert_eq!(catalog.dim, 2, "{compression:?}");
        let got: Vec<(&str, &str, &[f32])> = catalog
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.title.as_str(), i.vector.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![("a", "Alpha", &[1.0, -2.5][..]), ("b", "", &[0.0, 3.0][..])],
            "{compression:?}"
        );
    }
}

#[test]
fn fixed_size_lists_integer_ids_and_float64_load() {
    let fixed = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        vec![
            Some(vec![Some(1.0), Some(2.0), Some(3.0)]),
            Some(vec![Some(4.0), Some(5.0), Some(6.0)]),
        ],
        3,
    );
    let catalog = load_bytes(parquet(
        vec![
            ("id", Arc::new(Int64Array::from(vec![7, 70])) as ArrayRef),
            ("vector", Arc::new(fixed) as ArrayRef),
        ],
        Compression::SNAPPY,
        1 << 20,
    ))
    .unwrap();
    assert_eq!(catalog.items[1].id, "70");
    assert_eq!(catalog.items[1].title, "");
    assert_eq!(catalog.items[1].vector, vec![4.0, 5.0, 6.0]);

    let wide = LargeListArray::from_iter_primitive::<Float64Type, _, _>(vec![Some(vec![
        Some(0.1f64),
        Some(-1e10),
    ])]);
    let catalog = load_bytes(parquet(
        vec![
            ("id", ids(&[Some("x")])),
            ("vector", Arc::new(wide) as ArrayRef),
        ],
        Compression::SNAPPY,
        1 << 20,
    ))
    .unwrap();
    assert_eq!(
        catalog.items[0].vector,
        vec![0.1f64 as f32, -1e10f64 as f32]
    );
}

#[test]
fn many_row_groups_and_batches_keep_every_row_in_order() {
    let n = 20_000usize;
    let names: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    let rows: Rows = (0..n)
        .map(|i| Some(vec![Some(i as f32), Some(-(i as f32)), Some(0.5)]))
        .collect();
    let bytes = parquet(
        vec![
            ("id", Arc::new(StringArray::from(names.clone())) as ArrayRef),
            ("vector", list(rows.clone())),
        ],
        Compression::SNAPPY,
        3_001,
    );
    let catalog = load_bytes(bytes).unwrap();
    assert_eq!(catalog.items.len(), n);
    for (i, item) in catalog.items.iter().enumerate() {
        assert_eq!(item.id, names[i]);
        assert_eq!(item.vector, vec![i as f32, -(i as f32), 0.5]);
    }
    // a bad row deep in the file is named by its row number (1-based), across batches
    let mut bad = rows;
    bad[17_000] = Some(vec![Some(1.0), Some(f32::NAN), Some(0.0)]);
    let e = load_err(vec![
        ("id", Arc::new(StringArray::from(names)) as ArrayRef),
        ("vector", list(bad)),
    ]);
    assert!(
        e.contains("row 17001: ") && e.contains("value 1 is not a finite"),
        "{e}"
    );
}

#[test]
fn bad_rows_are_named() {
    let two = |a: f32, b: f32| Some(vec![Some(a), Some(b)]);
    let cases: Vec<(Vec<Option<&str>>, Rows, &str)> = vec![
        (
            vec![Some("a"), None],
            vec![two(1.0, 2.0), two(3.0, 4.0)],
            "row 2: the id is null",
        ),
        (
            vec![Some("a"), Some("b")],
            vec![two(1.0, 2.0), None],
            "row 2: the vector is null",
        ),
        (
            vec![Some("a"), Some("b")],
            vec![two(1.0, 2.0), Some(vec![Some(1.0), None])],
            "row 2: vector value 1 is null",
        ),
        (
            vec![Some("a"), Some("b")],
            vec![two(1.0, 2.0), Some(vec![Some(1.0)])],
            "row 2: vector has 1 values, the catalog's dimension is 2",
        ),
        (
            vec![Some("a"), Some("a")],
            vec![two(1.0, 2.0), two(3.0, 4.0)],
            "row 2: duplicate item id \"a\"",
        ),
        (
            vec![Some("a")],
            vec![Some(vec![Some(f32::INFINITY), Some(1.0)])],
            "row 1: vector value 0 is not a finite number",
        ),
        (
            vec![Some("")],
            vec![two(1.0, 2.0)],
            "row 1: item id must be 1 to",
        ),
        (vec![], vec![], "the catalog has no items"),
    ];
    for (names, vectors, expected) in cases {
        let e = load_err(vec![("id", ids(&names)), ("vector", list(vectors))]);
        assert!(e.contains(expected), "{expected:?} in {e}");
    }
}

#[test]
fn columns_of_the_wrong_shape_are_refused_before_any_row() {
    let vectors = || list(vec![Some(vec![Some(1.0)])]);
    let e = load_err(vec![("key", ids(&[Some("a")])), ("vector", vectors())]);
    assert!(
        e.contains("needs the columns \"id\" and \"vector\"") && e.contains("key"),
        "{e}"
    );
    let e = load_err(vec![("id", ids(&[Some("a")])), ("embedding", vectors())]);
    assert!(e.contains("this file has [\"id\", \"embedding\"]"), "{e}");
    let ints = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let e = load_err(vec![
        ("id", ids(&[Some("a")])),
        ("vector", Arc::new(ints) as ArrayRef),
    ]);
    assert!(
        e.contains("values are Int32, not float32 or float64"),
        "{e}"
    );
    let e = load_err(vec![
        ("id", ids(&[Some("a")])),
        (
            "vector",
            Arc::new(Float32Array::from(vec![1.0])) as ArrayRef,
        ),
    ]);
    assert!(e.contains("vector column is Float32, not a list"), "{e}");
    let e = load_err(vec![
        ("id", Arc::new(Float32Array::from(vec![1.0])) as ArrayRef),
        ("vector", vectors()),
    ]);
    assert!(
        e.contains("id column is Float32, not a string or integer"),
        "{e}"
    );
    let e = load_err(vec![
        ("id", ids(&[Some("a")])),
        ("title", Arc::new(Float32Array::from(vec![1.0])) as ArrayRef),
        ("vector", vectors()),
    ]);
    assert!(e.contains("title column is Float32"), "{e}");
    let wide = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        vec![Some(vec![Some(0.0); 1025])],
        1025,
    );
    let e = load_err(vec![
        ("id", ids(&[Some("a")])),
        ("vector", Arc::new(wide) as ArrayRef),
    ]);
    assert!(
        e.contains("1025 values; the dimension must be 1 to 1024"),
        "{e}"
    );
    let long = list(vec![Some(vec![Some(0.0); 1025])]);
    let e = load_err(vec![("id", ids(&[Some("a")])), ("vector", long)]);
    assert!(
        e.contains("1025 values for 1 rows: more than 1024 per row"),
        "{e}"
    );
}

#[test]
fn bytes_that_are_not_parquet_are_refused() {
    let good = parquet(
        vec![
            ("id", ids(&[Some("a")])),
            ("vector", list(vec![Some(vec![Some(1.0)])])),
        ],
        Compression::SNAPPY,
        1 << 20,
    );
    for bad in [
        Bytes::new(),
        Bytes::from_static(b"PAR1"),
        Bytes::from_static(b"id,title,f0\na,A,1\n"),
        good.slice(..good.len() - 9),
        good.slice(8..),
    ] {
        let e = load_bytes(bad).unwrap_err().to_string();
        // the footer unreadable, or the pages it points to
        assert!(
            e.starts_with("c.parquet: not a readable Parquet file")
                || e.starts_with("c.parquet: cannot decode the rows after row 0: "),
            "{e}"
        );
    }
    // every single corrupted byte: an error naming the file, or a catalog of whole items, never
    // a panic out of the loader; and the corruption is noticed somewhere
    let mut refused = 0;
    for i in 0..good.len() {
        let mut bytes = good.to_vec();
        bytes[i] ^= 0x5a;
        match load_bytes(Bytes::from(bytes)) {
            Ok(catalog) => {
                assert!(!catalog.items.is_empty(), "byte {i}");
                assert!(catalog
                    .items
                    .iter()
                    .all(|item| item.vector.len() == catalog.dim));
            }
            Err(e) => {
                assert!(e.to_string().starts_with("c.parquet: "), "byte {i}: {e}");
                refused += 1;
            }
        }
    }
    assert!(
        refused > good.len() / 4,
        "only {refused} of {} corruptions refused",
        good.len()
    );
}

#[test]
fn a_parquet_file_loads_through_the_catalog_loader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.parquet");
    let bytes = parquet(
        vec![
            ("id", ids(&[Some("a")])),
            ("vector", list(vec![Some(vec![Some(1.0), Some(2.0)])])),
        ],
        Compression::SNAPPY,
        1 << 20,
    );
    std::fs::write(&path, &bytes).unwrap();
    let catalog = crate::catalog_file::load(&path).unwrap();
    assert_eq!(catalog.items[0].vector, vec![1.0, 2.0]);
    let e = crate::catalog_file::load(&dir.path().join("missing.parquet"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.parquet: cannot open"), "{e}");
}
