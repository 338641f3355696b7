//! Bit unpacking of untrusted bytes: the width and count come from the message (here, from the
//! first bytes); what unpacks packs back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::bitpack;

fuzz_target!(|data: &[u8]| {
    let [bits, c0, c1, c2, rest @ ..] = data else {
        return;
    };
    let bits = u32::from(*bits % 64) + 1;
    let count = usize::from(*c0) | usize::from(*c1) << 8 | usize::from(*c2) << 16;
    if let Ok(values) = bitpack::unpack(rest, bits, count) {
        assert_eq!(values.len(), count);
        assert_eq!(bitpack::pack(&values, bits), rest);
    }
    // a count far beyond the bytes is refused before anything is allocated
    assert!(bitpack::unpack(rest, bits, usize::MAX / 2).is_err());
});
