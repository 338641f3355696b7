//! The AES-128-CTR stream that tfhe draws ciphertext masks and encryption noise from,
//! regenerated in bulk.
//!
//! tfhe-csprng keys AES with a seed's little-endian bytes and counts blocks from zero with a
//! little-endian 128-bit counter; tfhe reads each uniform `u64` of a native-modulus mask from 8
//! little-endian bytes of that stream, and each t-uniform noise sample from the next
//! `ceil((b + 2) / 8)` bytes. tfhe reads the stream one byte per call; here it comes from the
//! `aes` crate (the one tfhe-csprng builds on), many blocks per call, so that AES-NI, VAES or the
//! ARMv8 AES instructions stay pipelined (and a portable bitsliced AES elsewhere). Tests pin both
//! uses to tfhe: the masks to `decompress_into_glwe_ciphertext_list`, the noise to
//! `encrypt_seeded_glwe_ciphertext_list` ([`crate::encrypt`]).

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Block};

/// AES blocks per call: 1 KB of stream, large enough to keep the pipeline full and small
/// enough to stay on the stack.
const BLOCKS: usize = 64;

/// Bytes of one AES block.
const BLOCK_BYTES: usize = 16;

/// Calls `f` with consecutive chunks of the stream seeded by `seed`, `out.len()` bytes in all
/// (each chunk a whole number of blocks but the last).
fn chunks(seed: u128, len: usize, mut f: impl FnMut(&[u8])) {
    let cipher = Aes128::new(&Array::from(seed.to_le_bytes()));
    let mut blocks = [Block::default(); BLOCKS];
    let mut counter: u128 = 0;
    let mut left = len;
    while left > 0 {
        let used = left.div_ceil(BLOCK_BYTES).min(BLOCKS);
        for block in &mut blocks[..used] {
            *block = Array::from(counter.to_le_bytes());
            counter = counter.wrapping_add(1);
        }
        cipher.encrypt_blocks(&mut blocks[..used]);
        let bytes = Array::slice_as_flattened(&blocks[..used]);
        let take = bytes.len().min(left);
        f(&bytes[..take]);
        left -= take;
    }
}

/// Fills `out` with the first `out.len()` bytes of the stream seeded by `seed`.
pub(crate) fn fill_bytes(seed: u128, out: &mut [u8]) {
    let mut at = 0;
    chunks(seed, out.len(), |bytes| {
        out[at..][..bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    });
}

/// Writes `f(m)` for the first `out.len()` words `m` of the stream seeded by `seed` (a mask).
///
/// `f` is where the caller folds its own per-coefficient step (the switch to the server's
/// prime), so the stream is read once.
pub(crate) fn fill_words_with(seed: u128, out: &mut [u64], f: impl Fn(u64) -> u64) {
    let len = out.len() * 8;
    let mut words = out.iter_mut();
    chunks(seed, len, |bytes| {
        // the chunk first: zip pulls its left side first and would lose a word at the chunk's end
        for (w, o) in bytes.chunks_exact(8).zip(words.by_ref()) {
            let mut le = [0u8; 8];
            le.copy_from_slice(w);
            *o = f(u64::from_le_bytes(le));
        }
    });
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
    fn masks_match_tfhe_at_the_production_size() {
        for seed in [0, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let mut ours = vec![0u64; 2048];
            fill_words_with(seed, &mut ours, |m| m);
            assert_eq!(ours, tfhe_mask(seed, 2048), "seed {seed:#x}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Every length, including ones that end inside a block or inside a chunk.
        #[test]
        fn masks_match_tfhe_at_any_size(seed in any::<u128>(), log_n in 0u32..12) {
            let n = 1usize << log_n;
            let mut ours = vec![0u64; n];
            fill_words_with(seed, &mut ours, |m| m);
            prop_assert_eq!(ours, tfhe_mask(seed, n));
        }

        #[test]
        fn the_map_sees_every_word_once(seed in any::<u128>(), len in 0usize..300) {
            let mut plain = vec![0u64; len];
            fill_words_with(seed, &mut plain, |m| m);
            let mut mapped = vec![0u64; len];
            fill_words_with(seed, &mut mapped, |m| m ^ 0x5555);
            prop_assert!(plain.iter().zip(&mapped).all(|(p, m)| p ^ 0x5555 == *m));
        }

        #[test]
        fn bytes_and_words_are_one_stream(seed in any::<u128>(), len in 0usize..3000) {
            let mut bytes = vec![0u8; len];
            fill_bytes(seed, &mut bytes);
            let mut words = vec![0u64; len.div_ceil(8)];
            fill_words_with(seed, &mut words, |m| m);
            let flat: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            prop_assert_eq!(&bytes[..], &flat[..len]);
        }
    }
}
