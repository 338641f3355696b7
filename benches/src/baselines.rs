//! The baselines a study puts beside the encrypted path, measured in the same run: plaintext
//! scoring of the same catalog, cache-cold; the time to read the prepared catalog's bytes once
//! (the physical floor of a pass); and tfhe's high-level integer API on a tiny instance
//! (extrapolated; never a product path).

use std::time::{Duration, Instant};

use rayon::prelude::*;

use veilrank_core::plain;

/// Plaintext i8 scoring of `catalog` (`items * dim`) on the global rayon pool, as the server
/// would do it without encryption: the median of `runs`, each after streaming a buffer twice
/// the size of the last-level cache so that the catalog comes from memory, as the encrypted
/// one (eight times larger) does. Also checks the result against the oracle once.
pub fn plaintext_cold(catalog: &[i8], dim: usize, query: &[i8], runs: usize) -> Duration {
    let evict = vec![1u64; (2 * crate::system::last_level_cache_bytes() / 8).min(256 << 20)];
    let fast = veilrank_engine::baseline::scores(catalog, dim, query);
    assert_eq!(
        fast,
        plain::scores(catalog, dim, query),
        "the plaintext baseline must agree with the oracle"
    );
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            std::hint::black_box(evict.iter().fold(0u64, |a, &x| a ^ x));
            let started = Instant::now();
            std::hint::black_box(veilrank_engine::baseline::scores(catalog, dim, query));
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The fastest of `runs` reads of a buffer of `bytes` on the global rayon pool (the threads the
/// server scores on), each after streaming another buffer as large to push it out of the
/// caches: the least time any pass over a prepared catalog of that size can take.
pub fn memory_read(bytes: usize, runs: usize) -> Duration {
    let words = bytes.div_ceil(8).max(1);
    // written, so that every page is really there (not the shared zero page)
    let buffer: Vec<u64> = (0..words as u64).collect();
    let evict: Vec<u64> = (0..words.min(256 << 17) as u64).collect();
    let read = |b: &[u64]| {
        b.par_chunks(1 << 16)
            .map(|c| c.iter().fold(0u64, |a, &x| a.wrapping_add(x)))
            .reduce(|| 0, u64::wrapping_add)
    };
    (0..runs.max(1))
        .map(|_| {
            std::hint::black_box(read(&evict));
            let started = Instant::now();
            std::hint::black_box(read(&buffer));
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// tfhe's high-level integer API measured on a tiny instance.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct NaiveTfhe {
    /// Items of the tiny instance.
    pub items: usize,
    /// Features of the tiny instance.
    pub dim: usize,
    /// Seconds of server work (encrypted scalar multiplications and additions).
    pub seconds: f64,
    /// `seconds / (items * dim)`.
    pub seconds_per_item_feature: f64,
}

/// Scores `items x dim` with `FheInt32`: one encrypted scalar multiplication and addition per
/// item-feature, as a server would with the high-level API. Key generation and encryption are
/// not timed; the decrypted scores are checked against the plaintext.
#[cfg(feature = "naive-baseline")]
pub fn naive_tfhe(items: usize, dim: usize) -> NaiveTfhe {
    use tfhe::prelude::*;
    use tfhe::{generate_keys, set_server_key, ConfigBuilder, FheInt32};

    let (client_key, server_key) = generate_keys(ConfigBuilder::default());
    set_server_key(server_key);
    let prefs: Vec<i32> = (0..dim as i32).map(|i| 3 * i - 5).collect();
    let catalog: Vec<i32> = (0..(items * dim) as i32).map(|i| 7 - 2 * i).collect();
    let encrypted: Vec<FheInt32> = prefs
        .iter()
        .map(|&p| FheInt32::encrypt(p, &client_key))
        .collect();
    let started = Instant::now();
    let scores: Vec<FheInt32> = catalog
        .chunks_exact(dim)
        .map(|row| {
            let mut acc = &encrypted[0] * row[0];
            for (e, &v) in encrypted.iter().zip(row).skip(1) {
                acc += e * v;
            }
            acc
        })
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    for (score, row) in scores.iter().zip(catalog.chunks_exact(dim)) {
        let decrypted: i32 = score.decrypt(&client_key);
        let expected: i32 = row.iter().zip(&prefs).map(|(a, b)| a * b).sum();
        assert_eq!(
            decrypted, expected,
            "tfhe's integer API decrypted a wrong score"
        );
    }
    NaiveTfhe {
        items,
        dim,
        seconds,
        seconds_per_item_feature: seconds / (items * dim) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_of_megabytes_takes_time_and_more_takes_longer() {
        let small = memory_read(1 << 20, 3);
        let large = memory_read(64 << 20, 3);
        assert!(small > Duration::ZERO);
        assert!(large > small, "64 MB in {large:?}, 1 MB in {small:?}");
    }
}
