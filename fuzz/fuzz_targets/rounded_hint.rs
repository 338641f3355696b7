//! A catalog's rounded hint, as the client decodes it and decrypts a real response with it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veilrank_core::noise::max_hint_bits;
use veilrank_core::{wire, Query, Response, V1_128};
use veilrank_fuzz::{catalog, fixture, ITEMS};

/// One response of the fuzzed catalog, scored once per process.
fn response() -> &'static Response {
    static RESPONSE: OnceLock<Response> = OnceLock::new();
    RESPONSE.get_or_init(|| {
        let (reference, key) = fixture();
        let query = Query::encrypt(key, &[1i8, -2, 3, -4]).expect("a query");
        reference.score(&query).expect("scored")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(hint) = wire::decode_hint(&V1_128, &catalog(), ITEMS, data) {
        assert_eq!(hint.items(), ITEMS);
        if let Some(bits) = hint.rounding() {
            assert!(bits >= 1 && bits <= max_hint_bits(&V1_128, hint.prime()));
        }
        if let Ok(scores) = response().decrypt(&fixture().1, &hint, ITEMS) {
            assert_eq!(scores.len(), ITEMS);
        }
    }
});
