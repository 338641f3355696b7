//! A catalog's hint, as the client decodes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::{wire, V1_128};
use veilrank_fuzz::{catalog, ITEMS};

fuzz_target!(|data: &[u8]| {
    if let Ok(hint) = wire::decode_hint(&V1_128, &catalog(), ITEMS, data) {
        assert_eq!(hint.items(), ITEMS);
    }
});
