//! Criterion benchmarks: the scoring pass of one query over 1,000,000 x 64 on every kernel this
//! CPU runs, under each modulus it covers but the 62-bit prime (`kernel/avx2-crt54`), beside
//! the time to read a buffer the size of the prepared catalog (the memory floor) and plaintext
//! i8 scoring of the same catalog, cache-cold, all on every core, in one run.
//!
//! `cargo bench -p veilrank-bench --bench kernels`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veilrank_bench::{baselines, random_i8};
use veilrank_core::ntt::ServerPrime;
use veilrank_core::{Query, SecretKey, V1_128};
use veilrank_engine::{ExpandedQuery, Kernel, Pins, PreparedCatalog};

const ITEMS: usize = 1_000_000;
const DIM: usize = 64;

fn kernels(c: &mut Criterion) {
    let values = random_i8(1, ITEMS * DIM);
    let query_values = random_i8(2, DIM);
    let key = SecretKey::generate(&V1_128).expect("key");
    let query = Query::encrypt(&key, &query_values).expect("encrypt");
    let mut group = c.benchmark_group("pass_1m_x64");
    group.throughput(Throughput::Elements((ITEMS * DIM) as u64));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    let mut largest = 0;
    let runs = Kernel::ALL.into_iter().flat_map(|kernel| {
        kernel
            .moduli()
            .into_iter()
            .filter(move |&m| kernel.covers(m) && m != ServerPrime::Wide62)
            .map(move |m| (kernel, m))
    });
    for (kernel, modulus) in runs {
        let pins = Pins::from(kernel).with_modulus(Some(modulus));
        let id = format!("{kernel}-{modulus}");
        let prepared = match PreparedCatalog::prepare_on(&V1_128, DIM, &values, pins, &|_, _| {}) {
            Ok(prepared) => prepared,
            Err(e) => {
                eprintln!("SKIPPED pass_1m_x64/kernel/{id}: {e}");
                continue;
            }
        };
        largest = largest.max(prepared.prepared_bytes());
        let prime = prepared.noise_plan().prime;
        let expanded = ExpandedQuery::expand(&query, &V1_128, DIM, prime).expect("expand");
        group.bench_function(BenchmarkId::new("kernel", id), |b| {
            b.iter(|| {
                prepared
                    .score_expanded(black_box(&expanded))
                    .expect("score")
            })
        });
    }
    // the floor and the baseline as the harness measures them, each run after an eviction pass:
    // reading the largest prepared catalog's bytes once, and plaintext i8 scoring, cache-cold
    group.bench_function(BenchmarkId::new("memory_read", largest >> 20), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| baselines::memory_read(largest, 1)).sum())
    });
    let name = veilrank_engine::baseline::kernel_name(DIM);
    group.bench_function(BenchmarkId::new("plaintext_i8", name), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| baselines::plaintext_cold(&values, DIM, &query_values, 1))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
