//! Fixed-width bit packing: coefficients that carry only `w` significant bits travel as `w` bits.
//!
//! Values are written least-significant bit first into a little-endian bit stream; the last byte
//! is zero-padded. Both uploads (48-bit bodies) and responses (w-bit coefficients) use it.

use crate::{Error, Result};

/// Bytes needed for `count` values of `bits` bits.
pub fn packed_len(count: usize, bits: u32) -> usize {
    (count * bits as usize).div_ceil(8)
}

/// Packs the low `bits` bits of each value (`1 <= bits <= 64`).
pub fn pack(values: &[u64], bits: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(packed_len(values.len(), bits));
    pack_extend(values, bits, &mut out);
    out
}

/// Appends [`pack`]'s bytes to `out`: exactly [`packed_len`] bytes, written once (a response is
/// megabytes, and zero-filling its buffer first cost as much as packing it).
///
/// Groups of 8 values are exactly `bits` bytes, so for widths up to 32 (responses) each group
/// is packed in registers with shifts known at compile time, and only a tail of fewer than 8
/// values goes bit by bit.
pub fn pack_extend(values: &[u64], bits: u32, out: &mut Vec<u8>) {
    debug_assert!((1..=64).contains(&bits));
    out.reserve(packed_len(values.len(), bits));
    let mut whole = values.len() / 8 * 8;
    macro_rules! grouped {
        ($($w:literal)*) => {
            match bits {
                $($w => pack_groups::<$w>(&values[..whole], out),)*
                _ if bits.is_multiple_of(8) => {
                    // whole bytes (48-bit query bodies): each value is its low little-endian bytes
                    match bits / 8 {
                        5 => pack_bytes::<5>(values, out),
                        6 => pack_bytes::<6>(values, out),
                        7 => pack_bytes::<7>(values, out),
                        _ => pack_bytes::<8>(values, out),
                    }
                    return;
                }
                _ => whole = 0,
            }
        };
    }
    grouped!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
    // the groups end on a byte boundary; the rest goes bit by bit into zeroed bytes
    let tail = &values[whole..];
    let start = out.len();
    out.resize(start + packed_len(tail.len(), bits), 0);
    pack_bits(tail, bits, &mut out[start..]);
}

/// Groups of 8 values of `W <= 32` bits, each group appended as its `W` bytes.
#[inline(always)]
fn pack_groups<const W: usize>(values: &[u64], out: &mut Vec<u8>) {
    let mask = low_mask(W as u32);
    for group in values.chunks_exact(8) {
        // 8 W <= 256 bits; the fifth word only keeps the unrolled code branch-free
        let mut words = [0u64; 5];
        for (k, &v) in group.iter().enumerate() {
            let v = v & mask;
            let (word, shift) = (k * W / 64, k * W % 64);
            words[word] |= v << shift;
            if shift + W > 64 {
                words[word + 1] |= v >> (64 - shift);
            }
        }
        let mut le = [0u8; 32];
        for (chunk, word) in le.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&le[..W]);
    }
}

/// Each value as its low `W` little-endian bytes, into one zero-filled extension of `out`
/// (one `extend` per value was a third of a query's packing time in WebAssembly).
#[inline(always)]
fn pack_bytes<const W: usize>(values: &[u64], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + W * values.len(), 0);
    for (chunk, v) in out[start..].chunks_exact_mut(W).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes()[..W]);
    }
}

/// Bit by bit into `out`, which is zero.
fn pack_bits(values: &[u64], bits: u32, out: &mut [u8]) {
    let mask = low_mask(bits);
    let mut bit = 0;
    for &v in values {
        let v = u128::from(v & mask) << (bit % 8);
        for (k, byte) in out[bit / 8..]
            .iter_mut()
            .take((bits as usize).div_ceil(8) + 1)
            .enumerate()
        {
            *byte |= (v >> (8 * k)) as u8;
        }
        bit += bits as usize;
    }
}

/// Unpacks exactly `count` values of `bits` bits; the byte length must be exact and the padding
/// bits zero, so one message has one encoding.
pub fn unpack(bytes: &[u8], bits: u32, count: usize) -> Result<Vec<u64>> {
    // the count may come from the network: the bytes must be there before it is allocated
    check_len(bytes, bits, count)?;
    let mut out = vec![0u64; count];
    unpack_into(bytes, bits, &mut out)?;
    Ok(out)
}

/// [`unpack`] into `out`, which receives exactly `out.len()` values.
pub fn unpack_into(bytes: &[u8], bits: u32, out: &mut [u64]) -> Result<()> {
    check_len(bytes, bits, out.len())?;
    let mask = low_mask(bits);
    if bits.is_multiple_of(8) {
        // whole bytes (48-bit query bodies): each value is its own little-endian bytes
        match bits / 8 {
            1 => unpack_bytes::<1>(bytes, out),
            2 => unpack_bytes::<2>(bytes, out),
            3 => unpack_bytes::<3>(bytes, out),
            4 => unpack_bytes::<4>(bytes, out),
            5 => unpack_bytes::<5>(bytes, out),
            6 => unpack_bytes::<6>(bytes, out),
            7 => unpack_bytes::<7>(bytes, out),
            _ => unpack_bytes::<8>(bytes, out),
        }
        return Ok(());
    }
    let mut acc: u128 = 0;
    let mut filled: u32 = 0;
    let mut input = bytes.iter();
    for o in out.iter_mut() {
        while filled < bits {
            // the length check above guarantees enough bytes
            let byte = input.next().copied().unwrap_or(0);
            acc |= (byte as u128) << filled;
            filled += 8;
        }
        *o = (acc as u64) & mask;
        acc >>= bits;
        filled -= bits;
    }
    if acc != 0 {
        return Err(Error::Malformed("non-zero padding bits".into()));
    }
    Ok(())
}

/// Checks the width and that `bytes` holds exactly `count` values of it.
fn check_len(bytes: &[u8], bits: u32, count: usize) -> Result<()> {
    if !(1..=64).contains(&bits) {
        return Err(Error::Malformed(format!(
            "bit width {bits} is not in 1..=64"
        )));
    }
    let expected = (count as u128 * u128::from(bits)).div_ceil(8);
    if bytes.len() as u128 != expected {
        return Err(Error::Malformed(format!(
            "packed data is {} bytes, expected {expected} for {count} values of {bits} bits",
            bytes.len()
        )));
    }
    Ok(())
}

/// Values of exactly `W` little-endian bytes; `W` known at compile time so each copy is a
/// couple of moves, not a call to `memcpy` (this is on every query's path).
#[inline(always)]
fn unpack_bytes<const W: usize>(bytes: &[u8], out: &mut [u64]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(W)) {
        let mut le = [0u8; 8];
        le[..W].copy_from_slice(c);
        *o = u64::from_le_bytes(le);
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(bits in 1u32..=64, raw in proptest::collection::vec(any::<u64>(), 0..300)) {
            let values: Vec<u64> = raw.iter().map(|v| v & low_mask(bits)).collect();
            let packed = pack(&values, bits);
            prop_assert_eq!(packed.len(), packed_len(values.len(), bits));
            prop_assert_eq!(unpack(&packed, bits, values.len()).unwrap(), values);
        }

        /// What appending relies on: 8k values end on a byte boundary, so packing more after
        /// them packs both as one sequence.
        #[test]
        fn appending_after_whole_groups_packs_the_concatenation(
            bits in 1u32..=64,
            groups in 0usize..6,
            raw in proptest::collection::vec(any::<u64>(), 0..100),
        ) {
            let head: Vec<u64> = (0..groups * 8).map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
            let mut out = pack(&head, bits);
            pack_extend(&raw, bits, &mut out);
            let all: Vec<u64> = head.iter().chain(&raw).copied().collect();
            prop_assert_eq!(out, pack(&all, bits));
        }

        #[test]
        fn wrong_lengths_are_rejected(bits in 1u32..=64, count in 1usize..100, extra in 1usize..4) {
            let packed = pack(&vec![1u64; count], bits);
            let mut longer = packed.clone();
            longer.extend(std::iter::repeat_n(0u8, extra));
            prop_assert!(unpack(&longer, bits, count).is_err());
            prop_assert!(unpack(&packed[..packed.len() - 1], bits, count).is_err());
        }
    }

    #[test]
    fn a_huge_count_is_an_error_before_any_allocation() {
        // would be a 2^64-byte allocation if the length were checked after it
        assert!(unpack(&[0u8; 8], 64, usize::MAX).is_err());
        assert!(unpack(&[0u8; 8], 24, 1 << 60).is_err());
    }

    #[test]
    fn high_bits_are_dropped_and_padding_is_checked() {
        assert_eq!(pack(&[0xFF], 4), vec![0x0F]);
        assert!(unpack(&[0xF1], 4, 1).is_err());
        assert_eq!(unpack(&[0x21], 4, 2).unwrap(), vec![1, 2]);
    }
}
