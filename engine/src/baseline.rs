//! The plaintext baseline: the same quantized scores as `veilrank_core::plain::scores`, with the
//! best i8 dot product of this CPU, so that the encrypted path is compared with a worthy
//! baseline: AVX-512 VNNI (`vpdpbusd`), AVX-512BW or AVX2 (`vpmaddwd` on widened values, or
//! `vpmaddubsw`), NEON's `sdot`; the portable oracle elsewhere. Same results on every path.

use veilrank_core::plain;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

/// An i8 dot-product path.
#[derive(Clone, Copy)]
enum Path {
    #[cfg(target_arch = "x86_64")]
    Vnni(x86::Vnni),
    #[cfg(target_arch = "x86_64")]
    Avx512(pulp::x86::V4),
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
    #[cfg(target_arch = "aarch64")]
    Sdot(neon::Dotprod),
    Portable,
}

impl Path {
    /// The fastest path this CPU runs for `dim` (each SIMD path takes whole vectors of a row).
    fn best(dim: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if dim.is_multiple_of(64) {
                if let Some(simd) = x86::Vnni::try_new() {
                    return Path::Vnni(simd);
                }
            }
            if dim.is_multiple_of(32) {
                if let Some(simd) = pulp::x86::V4::try_new() {
                    return Path::Avx512(simd);
                }
                if let Some(simd) = pulp::x86::V3::try_new() {
                    return Path::Avx2(simd);
                }
            }
        }
        #[cfg(target_arch = "aarch64")]
        if dim.is_multiple_of(16) {
            if let Some(simd) = neon::Dotprod::try_new() {
                return Path::Sdot(simd);
            }
        }
        let _ = dim;
        Path::Portable
    }

    /// The bytes of a row one vector holds: a path takes the dimensions it divides.
    fn width(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Vnni(_) => 64,
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) | Path::Avx2(_) => 32,
            #[cfg(target_arch = "aarch64")]
            Path::Sdot(_) => 16,
            Path::Portable => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Vnni(_) => "avx512-vnni",
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) => "avx512-vpmaddwd",
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(_) => "avx2-vpmaddubsw",
            #[cfg(target_arch = "aarch64")]
            Path::Sdot(_) => "neon-sdot",
            Path::Portable => "portable",
        }
    }

    fn scores(self, matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
        debug_assert!(dim.is_multiple_of(self.width()));
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Vnni(simd) => x86::vnni(simd, matrix, dim, query),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(simd) => x86::avx512(simd, matrix, dim, query),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(simd) => x86::avx2(simd, matrix, dim, query),
            #[cfg(target_arch = "aarch64")]
            Path::Sdot(simd) => neon::sdot(simd, matrix, dim, query),
            Path::Portable => plain::scores(matrix, dim, query),
        }
    }
}

/// The exact i8 dot products of `query` with every row of `matrix` (`items * dim`, item-major,
/// values in -127..=127 as quantization makes them), on the current rayon pool.
pub fn scores(matrix: &[i8], dim: usize, query: &[i8]) -> Vec<i32> {
    if query.len() != dim || dim == 0 {
        return plain::scores(matrix, dim, query);
    }
    Path::best(dim).scores(matrix, dim, query)
}

/// The kernel [`scores`] uses for `dim` on this CPU.
#[must_use]
pub fn kernel_name(dim: usize) -> &'static str {
    Path::best(dim).name()
}

/// One output per row of `matrix`, in parallel blocks of rows: `block` scores a block (its
/// outputs, its rows) with the SIMD path's own loop.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn by_blocks(matrix: &[i8], dim: usize, block: impl Fn(&mut [i32], &[i8]) + Sync) -> Vec<i32> {
    use rayon::prelude::*;
    const ROWS: usize = 4096;
    let mut out = vec![0i32; matrix.len() / dim];
    out.par_chunks_mut(ROWS)
        .zip(matrix.par_chunks(ROWS * dim))
        .for_each(|(out, rows)| block(out, rows));
    out
}

#[cfg(test)]
mod tests;
