//! Criterion benchmarks: loading a 1,000,000 x 64 catalog of random float32 from each binary
//! format (Parquet as pyarrow writes it: a list column, snappy; NumPy with its ids file), in
//! one run, through the server's loader: read, decode, check every row and id.
//!
//! `cargo bench -p veilrank-bench --bench catalog_load`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray};
use criterion::{criterion_group, criterion_main, Criterion};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_server::catalog_file;

const ITEMS: usize = 1_000_000;
const DIM: usize = 64;
const CHUNK: usize = 65_536;

fn write_parquet(path: &Path, values: &[f32]) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).expect("parquet file");
    let mut writer = None;
    for (c, rows) in values.chunks(CHUNK * DIM).enumerate() {
        let ids: Vec<String> = (0..rows.len() / DIM)
            .map(|i| format!("item-{}", c * CHUNK + i))
            .collect();
        let vectors = ListArray::from_iter_primitive::<Float32Type, _, _>(
            rows.chunks(DIM)
                .map(|row| Some(row.iter().copied().map(Some).collect::<Vec<_>>())),
        );
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(StringArray::from(ids)) as ArrayRef),
            ("vector", Arc::new(vectors) as ArrayRef),
        ])
        .expect("batch");
        let writer = writer.get_or_insert_with(|| {
            ArrowWriter::try_new(
                file.try_clone().expect("file"),
                batch.schema(),
                Some(props.clone()),
            )
            .expect("writer")
        });
        writer.write(&batch).expect("written");
    }
    writer.expect("rows").close().expect("closed");
}

fn write_npy(path: &Path, values: &[f32]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("npy file"));
    veilrank_server::catalog_npy::write_f32_header(&mut out, ITEMS, DIM).expect("written");
    for v in values {
        out.write_all(&v.to_le_bytes()).expect("written");
    }
    let mut ids = std::io::BufWriter::new(
        std::fs::File::create(path.with_extension("ids")).expect("ids file"),
    );
    for i in 0..ITEMS {
        writeln!(ids, "item-{i}").expect("written");
    }
}

fn catalog_load(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let values: Vec<f32> = (0..ITEMS * DIM)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let parquet = dir.path().join("catalog.parquet");
    let npy = dir.path().join("catalog.npy");
    write_parquet(&parquet, &values);
    write_npy(&npy, &values);
    drop(values);
    let mut group = c.benchmark_group("load_1m_x64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(25));
    for (name, path) in [("parquet", &parquet), ("npy", &npy)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let catalog = catalog_file::load(path).expect("loads");
                assert_eq!(catalog.items.len(), ITEMS);
                black_box(catalog)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, catalog_load);
criterion_main!(benches);
