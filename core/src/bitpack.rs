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
    pack_iter(values.iter().copied(), values.len(), bits)
}

/// [`pack`] of `count` values as they are computed, without collecting them first.
pub fn pack_iter(values: impl Iterator<Item = u64>, count: usize, bits: u32) -> Vec<u8> {
    debug_assert!((1..=64).contains(&bits));
    let mask = low_mask(bits);
    let mut out = Vec::with_capacity(packed_len(count, bits));
    if bits.is_multiple_of(8) {
        let width = bits as usize / 8;
        for v in values {
            out.extend_from_slice(&(v & mask).to_le_bytes()[..width]);
        }
        return out;
    }
    if bits <= 32 {
        // the common case (responses): a u64 holds what is pending, flushed 4 bytes at a time
        let mut acc: u64 = 0;
        let mut filled: u32 = 0;
        for v in values {
            acc |= (v & mask) << filled;
            filled += bits;
            if filled >= 32 {
                out.extend_from_slice(&(acc as u32).to_le_bytes());
                acc >>= 32;
                filled -= 32;
            }
        }
        out.extend_from_slice(&acc.to_le_bytes()[..filled.div_ceil(8) as usize]);
        return out;
    }
    let mut acc: u128 = 0;
    let mut filled: u32 = 0;
    for v in values {
        acc |= ((v & mask) as u128) << filled;
        filled += bits;
        while filled >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            filled -= 8;
        }
    }
    if filled > 0 {
        out.push(acc as u8);
    }
    out
}

/// Unpacks exactly `count` values of `bits` bits; the byte length must be exact and the padding
/// bits zero, so one message has one encoding.
pub fn unpack(bytes: &[u8], bits: u32, count: usize) -> Result<Vec<u64>> {
    if !(1..=64).contains(&bits) {
        return Err(Error::Malformed(format!(
            "bit width {bits} is not in 1..=64"
        )));
    }
    let expected = packed_len(count, bits);
    if bytes.len() != expected {
        return Err(Error::Malformed(format!(
            "packed data is {} bytes, expected {expected} for {count} values of {bits} bits",
            bytes.len()
        )));
    }
    let mask = low_mask(bits);
    if bits.is_multiple_of(8) {
        // whole bytes (48-bit query bodies): each value is its own little-endian bytes
        let width = bits as usize / 8;
        return Ok(bytes
            .chunks_exact(width)
            .map(|c| {
                let mut le = [0u8; 8];
                le[..width].copy_from_slice(c);
                u64::from_le_bytes(le)
            })
            .collect());
    }
    let mut out = Vec::with_capacity(count);
    let mut acc: u128 = 0;
    let mut filled: u32 = 0;
    let mut input = bytes.iter();
    for _ in 0..count {
        while filled < bits {
            // the length check above guarantees enough bytes
            let byte = input.next().copied().unwrap_or(0);
            acc |= (byte as u128) << filled;
            filled += 8;
        }
        out.push((acc as u64) & mask);
        acc >>= bits;
        filled -= bits;
    }
    if acc != 0 {
        return Err(Error::Malformed("non-zero padding bits".into()));
    }
    Ok(out)
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
    fn high_bits_are_dropped_and_padding_is_checked() {
        assert_eq!(pack(&[0xFF], 4), vec![0x0F]);
        assert!(unpack(&[0xF1], 4, 1).is_err());
        assert_eq!(unpack(&[0x21], 4, 2).unwrap(), vec![1, 2]);
    }
}
