//! The mask of a seeded ciphertext, regenerated in bulk on the server: the public masks, once
//! per catalog, for its hint ([`crate::hint`]).
//!
//! tfhe regenerates a seeded GLWE's mask through a byte iterator, one call per byte: when every
//! query had masks of its own, that was more than half of a query's expansion. The stream itself is plain AES-128 in counter mode:
//! tfhe-csprng keys AES with the seed's little-endian bytes and counts blocks from zero with a
//! little-endian 128-bit counter, and tfhe reads each uniform `u64` of a native-modulus mask from
//! 8 little-endian bytes of that stream. The same stream comes here from the `aes` crate (the
//! one tfhe-csprng builds on), many blocks per call so AES-NI/VAES stay pipelined. A test pins it
//! to tfhe's `decompress_into_glwe_ciphertext_list`, and every end-to-end test decrypts through it.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Block};

/// AES blocks per call: 1 KB of stream, large enough to keep the pipeline full and small
/// enough to stay on the stack.
const BLOCKS: usize = 64;

/// `u64`s per AES block.
const WORDS_PER_BLOCK: usize = 2;

/// Writes `f(m)` for the first `out.len()` mask words `m` of the stream seeded by `seed`.
///
/// `f` is where the caller folds its own per-coefficient step (the switch to the server's
/// prime), so the stream is read once.
pub(crate) fn fill_with(seed: u128, out: &mut [u64], f: impl Fn(u64) -> u64) {
    let cipher = Aes128::new(&Array::from(seed.to_le_bytes()));
    let mut blocks = [Block::default(); BLOCKS];
    let mut counter: u128 = 0;
    for chunk in out.chunks_mut(BLOCKS * WORDS_PER_BLOCK) {
        let used = chunk.len().div_ceil(WORDS_PER_BLOCK);
        for block in &mut blocks[..used] {
            *block = Array::from(counter.to_le_bytes());
            counter = counter.wrapping_add(1);
        }
        cipher.encrypt_blocks(&mut blocks[..used]);
        let words = blocks[..used].iter().flat_map(|b| {
            let (lo, hi) = b.split_at(8);
            [le_u64(lo), le_u64(hi)]
        });
        for (o, w) in chunk.iter_mut().zip(words) {
            *o = f(w);
        }
    }
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(bytes);
    u64::from_le_bytes(le)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
    use tfhe::core_crypto::prelude::{
        CiphertextModulus, GlweSize, PolynomialSize, SeededGlweCiphertextList,
    };

    /// The mask tfhe itself regenerates for a seeded GLWE list of one ciphertext (k = 1).
    fn tfhe_mask(seed: u128, n: usize) -> Vec<u64> {
        let seeded = SeededGlweCiphertextList::from_container(
            vec![0u64; n],
            GlweSize(2),
            PolynomialSize(n),
            CompressionSeed::from(Seed(seed)),
            CiphertextModulus::new_native(),
        );
        seeded.decompress_into_glwe_ciphertext_list().as_ref()[..n].to_vec()
    }

    #[test]
    fn matches_tfhe_at_the_production_size() {
        for seed in [0, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let mut ours = vec![0u64; 2048];
            fill_with(seed, &mut ours, |m| m);
            assert_eq!(ours, tfhe_mask(seed, 2048), "seed {seed:#x}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Every length, including ones that end inside a block or inside a chunk.
        #[test]
        fn matches_tfhe_at_any_size(seed in any::<u128>(), log_n in 0u32..12) {
            let n = 1usize << log_n;
            let mut ours = vec![0u64; n];
            fill_with(seed, &mut ours, |m| m);
            prop_assert_eq!(ours, tfhe_mask(seed, n));
        }

        #[test]
        fn the_map_sees_every_word_once(seed in any::<u128>(), len in 0usize..300) {
            let mut plain = vec![0u64; len];
            fill_with(seed, &mut plain, |m| m);
            let mut mapped = vec![0u64; len];
            fill_with(seed, &mut mapped, |m| m ^ 0x5555);
            prop_assert!(plain.iter().zip(&mapped).all(|(p, m)| p ^ 0x5555 == *m));
        }
    }
}
