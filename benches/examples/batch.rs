//! The engine alone: a pass of B queries over an M x 64 catalog on T threads, per query.
//!
//! `cargo run --release -p veilrank-bench --example batch -- 1000000 8 2` (M, B, T); run it
//! with B = 1 and B = 8 to see what micro-batching buys without the clients' work. A fourth
//! argument `shared` makes all B entries of the batch the same expanded query, so its tiles
//! stay in cache: the difference is what re-reading B distinct queries costs the pass. A
//! kernel's name (`ifma`, `avx2`, `neon`, `portable`) among the arguments scores on that kernel,
//! a modulus's (`ifma50`, `crt54`, `wide62`) under that modulus.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
use std::time::Instant;
use veilrank_bench::{pool, random_i8};
use veilrank_core::ntt::ServerPrime;
use veilrank_core::{Query, SecretKey, V1_128};
use veilrank_engine::{ExpandedQuery, Kernel, Pins, PreparedCatalog};

fn main() {
    let items: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |s| s.parse().unwrap());
    let batch: usize = std::env::args().nth(2).map_or(1, |s| s.parse().unwrap());
    let threads: usize = std::env::args().nth(3).map_or(1, |s| s.parse().unwrap());
    let rest: Vec<String> = std::env::args().skip(4).collect();
    let shared = rest.iter().any(|s| s == "shared");
    let kernel = rest.iter().find_map(|s| s.parse::<Kernel>().ok());
    let modulus = rest.iter().find_map(|s| s.parse::<ServerPrime>().ok());
    let pins = Pins::NONE.with_kernel(kernel).with_modulus(modulus);
    let dim = 64;
    let values = random_i8(1, items * dim);
    let started = Instant::now();
    let catalog = PreparedCatalog::prepare_on(&V1_128, dim, &values, pins, &|_, _| {}).unwrap();
    println!(
        "prepared (with the hint) in {:.2} s, {} kernel, modulus {}",
        started.elapsed().as_secs_f64(),
        catalog.kernel(),
        catalog.noise_plan().prime
    );
    let key = SecretKey::generate(&V1_128).unwrap();
    let prime = catalog.noise_plan().prime;
    let qs: Vec<_> = (0..batch)
        .map(|i| {
            let query = Query::encrypt(&key, &random_i8(2 + i as u64, dim)).unwrap();
            ExpandedQuery::expand(&query, &V1_128, dim, prime).unwrap()
        })
        .collect();
    let refs: Vec<_> = if shared {
        qs.iter().map(|_| &qs[0]).collect()
    } else {
        qs.iter().collect()
    };
    let p = pool(threads);
    let t = Instant::now();
    let reps = 20;
    for _ in 0..reps {
        p.install(|| catalog.score_batch(&refs).unwrap());
    }
    let e = t.elapsed().as_secs_f64() / reps as f64;
    println!("batch {batch} threads {threads}: {:.1} ms per batch, {:.2} ms per query, {:.2} ns/if/core per query", e*1e3, e*1e3/batch as f64, e*1e9*threads as f64/(items*dim*batch) as f64);
}
