//! Criterion benchmarks: server scoring of 100,000 x 64 next to plaintext i8 scoring of the same
//! catalog (one core and all cores, same run); client encryption; decryption plus top-10.
//!
//! `cargo bench -p veilrank-bench --bench scoring`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veilrank_bench::{pool, random_i8};
use veilrank_core::{plain, rank, PreparedCatalog, Query, SecretKey, V1_128};

const ITEMS: usize = 100_000;
const DIM: usize = 64;

fn scoring(c: &mut Criterion) {
    let catalog_values = random_i8(1, ITEMS * DIM);
    let query_values = random_i8(2, DIM);
    let catalog = PreparedCatalog::prepare(&V1_128, DIM, &catalog_values).expect("prepare");
    let key = SecretKey::generate(&V1_128).expect("key");
    let query = Query::encrypt(&key, &query_values).expect("encrypt");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut group = c.benchmark_group("score_100k_x64");
    group.throughput(Throughput::Elements((ITEMS * DIM) as u64));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for threads in [1, cores] {
        let pool = pool(threads);
        group.bench_function(BenchmarkId::new("encrypted", format!("{threads}t")), |b| {
            b.iter(|| pool.install(|| catalog.score(black_box(&query)).expect("score")))
        });
        let prime = catalog.noise_plan().prime;
        group.bench_function(
            BenchmarkId::new("expand_query", format!("{threads}t")),
            |b| b.iter(|| pool.install(|| query.expand(&V1_128, DIM, prime).expect("expand"))),
        );
        let expanded = query.expand(&V1_128, DIM, prime).expect("expand");
        group.bench_function(
            BenchmarkId::new("encrypted_kernel", format!("{threads}t")),
            |b| {
                b.iter(|| {
                    pool.install(|| catalog.score_expanded(black_box(&expanded)).expect("score"))
                })
            },
        );
        group.bench_function(
            BenchmarkId::new("plaintext_i8", format!("{threads}t")),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        plain::scores(black_box(&catalog_values), DIM, black_box(&query_values))
                    })
                })
            },
        );
    }
    group.finish();
}

fn client(c: &mut Criterion) {
    let catalog_values = random_i8(1, ITEMS * DIM);
    let query_values = random_i8(2, DIM);
    let catalog = PreparedCatalog::prepare(&V1_128, DIM, &catalog_values).expect("prepare");
    let key = SecretKey::generate(&V1_128).expect("key");
    let response = catalog
        .score(&Query::encrypt(&key, &query_values).expect("encrypt"))
        .expect("score");

    let mut group = c.benchmark_group("client");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("encrypt_d64", |b| {
        b.iter(|| Query::encrypt(&key, black_box(&query_values)).expect("encrypt"))
    });
    group.bench_function("decrypt_top10_100k", |b| {
        b.iter(|| {
            let scores = response
                .decrypt(&key, catalog.hint(), ITEMS)
                .expect("decrypt");
            rank::top_k(&scores, 10)
        })
    });
    group.finish();
}

criterion_group!(benches, scoring, client);
criterion_main!(benches);
