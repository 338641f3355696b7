//! A response, as the client decodes and decrypts it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::{wire, V1_128};
use veilrank_fuzz::{catalog, fixture, hint, ITEMS};

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = wire::decode_response(&V1_128, &catalog(), ITEMS, data) {
        let scores = response.decrypt(&fixture().1, hint(), ITEMS);
        if let Ok(scores) = scores {
            assert_eq!(scores.len(), ITEMS);
        }
    }
});
