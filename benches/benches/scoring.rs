//! Criterion benchmarks: server scoring of 100,000 x 64 next to plaintext i8 scoring of the same
//! catalog (one core and all cores, same run); client encryption (kept encryptor, fresh one,
//! and tfhe's own seeded encryption of the same ciphertexts, side by side); decryption plus
//! top-10; encoding the rounded hint, and decoding the hint, exact and rounded, side by side.
//!
//! `cargo bench -p veilrank-bench --bench scoring`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veilrank_bench::{pool, random_i8};
use veilrank_core::{
    plain, rank, wire, CatalogRef, ContentVersion, Encryptor, Query, SecretKey, V1_128,
};
use veilrank_engine::{ExpandedQuery, PreparedCatalog};

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
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        ExpandedQuery::expand(&query, &V1_128, DIM, prime).expect("expand")
                    })
                })
            },
        );
        let expanded = ExpandedQuery::expand(&query, &V1_128, DIM, prime).expect("expand");
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

    let encryptor = Encryptor::new(&V1_128, DIM).expect("encryptor");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut group = c.benchmark_group("client");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for threads in [1, cores] {
        let pool = pool(threads);
        group.bench_function(
            BenchmarkId::new("encrypt_d64", format!("{threads}t")),
            |b| b.iter(|| pool.install(|| encryptor.encrypt(&key, black_box(&query_values)))),
        );
        group.bench_function(
            BenchmarkId::new("encrypt_d64_fresh_encryptor", format!("{threads}t")),
            |b| b.iter(|| pool.install(|| Query::encrypt(&key, black_box(&query_values)))),
        );
        group.bench_function(
            BenchmarkId::new("encrypt_d64_tfhe_seeded", format!("{threads}t")),
            |b| b.iter(|| pool.install(|| tfhe_encrypt(black_box(&query_values)))),
        );
        group.bench_function(
            BenchmarkId::new("decrypt_top10_100k", format!("{threads}t")),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        let scores = response
                            .decrypt(&key, catalog.hint(), ITEMS)
                            .expect("decrypt");
                        rank::top_k(&scores, 10)
                    })
                })
            },
        );
    }
    let reference = CatalogRef {
        id: "bench".into(),
        version: ContentVersion([0; 32]),
    };
    let bits = catalog.noise_plan().hint_bits;
    let exact = wire::encode_hint(&V1_128, &reference, catalog.hint()).expect("encode");
    let rounded =
        wire::encode_rounded_hint(&V1_128, &reference, catalog.hint(), bits).expect("encode");
    // the server's side, once per catalog version: the inverse transforms and the rounding
    group.bench_function(BenchmarkId::new("encode_hint_100k", "rounded"), |b| {
        b.iter(|| wire::encode_rounded_hint(&V1_128, &reference, catalog.hint(), bits))
    });
    for (name, bytes) in [("exact", &exact), ("rounded", &rounded)] {
        group.bench_function(BenchmarkId::new("decode_hint_100k", name), |b| {
            b.iter(|| wire::decode_hint(&V1_128, &reference, ITEMS, black_box(bytes)))
        });
    }
    group.finish();
}

/// What encryption cost before the client's own fast path: tfhe's seeded GLWE encryption of
/// each feature (Karatsuba product, byte-wise CSPRNG), the same ciphertexts, in parallel over
/// features as the client did.
fn tfhe_encrypt(values: &[i8]) -> Vec<u64> {
    use rayon::prelude::*;
    use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
    use tfhe::core_crypto::prelude::*;
    let n = V1_128.polynomial_size;
    let delta_log2 = V1_128.delta_log2(values.len()).expect("dim");
    let mut secret_generator = SecretRandomGenerator::<DefaultRandomGenerator>::new(Seed(7));
    let key = allocate_and_generate_new_binary_glwe_secret_key(
        GlweDimension(1),
        PolynomialSize(n),
        &mut secret_generator,
    );
    values
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, &v)| {
            let mut plaintext = vec![0u64; n];
            plaintext[0] = (i64::from(v) as u64) << delta_log2;
            let mut ct = SeededGlweCiphertextList::new(
                0u64,
                GlweSize(2),
                PolynomialSize(n),
                GlweCiphertextCount(1),
                CompressionSeed::from(Seed(i as u128)),
                CiphertextModulus::new_native(),
            );
            let mut seeder = new_seeder();
            encrypt_seeded_glwe_ciphertext_list(
                &key,
                &mut ct,
                &PlaintextList::from_container(plaintext),
                TUniform::<u64>::new(V1_128.noise_bound_log2),
                seeder.as_mut(),
            );
            ct.into_container()
        })
        .collect()
}

criterion_group!(benches, scoring, client);
criterion_main!(benches);
