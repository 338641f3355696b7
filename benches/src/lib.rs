//! veilrank's benchmarks: criterion micro-benchmarks (`benches/scoring.rs`) and the latency-study
//! harness (`veilrank-bench latency | sweep | capacity | fidelity`), whose pieces live here.

pub mod baselines;
pub mod capacity;
pub mod fidelity;
pub mod in_process;
pub mod matrix;
pub mod output;
pub mod plots;
pub mod progress;
pub mod study;
pub mod system;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `items * dim` random quantized values, deterministic for a seed.
pub fn random_i8(seed: u64, len: usize) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-127i8..=127)).collect()
}

/// A rayon pool of `threads` threads, to measure one core next to all of them.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("cannot build a {threads}-thread pool: {e}"))
}
