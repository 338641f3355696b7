//! A shard's response head, as the gateway reads it before joining the parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::{wire, V1_128};
use veilrank_fuzz::catalog;

fuzz_target!(|data: &[u8]| {
    let id = catalog().id;
    if let Ok(head) = wire::decode_response_head(&V1_128, &id, data) {
        assert_eq!(head.catalog.id, id);
        assert!(head.response.blocks.is_empty());
        // a head that decodes has a body length only where its block count fits its items
        if let Some(len) = head.body_len(&V1_128) {
            assert!(len >= head.blocks * 8);
        }
    }
});
