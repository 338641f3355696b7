//! This CPU's IFMA throughput with nothing in the way: 16 independent accumulators in registers,
//! then the same fed by 4 vector loads from L1 per 16 instructions (the kernel's ratio). The
//! ceiling the scoring kernel's rate is compared against in the README.
//!
//! `cargo run --release -p veilrank-bench --example ifma_peak`

#![allow(
    unsafe_code,
    clippy::unwrap_used,
    reason = "the intrinsics after the runtime check below (on x86-64 only); a probe panics on failure"
)]

use std::time::Instant;

#[cfg(target_arch = "x86_64")]
fn main() {
    use core::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn registers(iters: usize, x: __m512i, y: __m512i) -> i64 {
        let mut s = [_mm512_setzero_si512(); 16];
        for _ in 0..iters {
            for acc in &mut s {
                *acc = _mm512_madd52lo_epu64(*acc, x, y);
            }
        }
        s.iter().map(|&v| _mm512_reduce_add_epi64(v)).sum()
    }

    /// One cache line, aligned: a split load would measure the split, not the arithmetic.
    #[repr(align(64))]
    struct Row([i64; 8]);

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn loads(iters: usize, data: &[Row], y: __m512i) -> i64 {
        let mut s = [_mm512_setzero_si512(); 16];
        for it in 0..iters {
            let base = (it * 4) % (data.len() - 4);
            // SAFETY: `base + 3 < data.len()`; each row is 64 bytes, 64-aligned
            let a: [__m512i; 4] = core::array::from_fn(|k| unsafe {
                _mm512_load_si512(data[base + k].0.as_ptr().cast())
            });
            for (k, acc) in s.iter_mut().enumerate() {
                *acc = _mm512_madd52lo_epu64(*acc, a[k % 4], y);
            }
        }
        s.iter().map(|&v| _mm512_reduce_add_epi64(v)).sum()
    }

    if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma")) {
        println!("no AVX-512 IFMA on this CPU");
        return;
    }
    let iters = 50_000_000;
    let data: Vec<Row> = (0..516).map(|i| Row([i; 8])).collect();
    for _ in 0..3 {
        // SAFETY: the features were detected above
        let (x, y) = unsafe { (_mm512_set1_epi64(12345), _mm512_set1_epi64(678)) };
        let t = Instant::now();
        let r = unsafe { registers(iters, x, y) };
        let regs = (iters * 16) as f64 / t.elapsed().as_secs_f64() / 1e9;
        let t = Instant::now();
        let l = unsafe { loads(iters, &data, y) };
        let fed = (iters * 16) as f64 / t.elapsed().as_secs_f64() / 1e9;
        println!(
            "registers {regs:.2} G IFMA/s, with L1 loads {fed:.2} G IFMA/s ({})",
            r ^ l
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("x86_64 only");
}
