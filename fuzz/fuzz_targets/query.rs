//! An uploaded query, as the server decodes it before anything else; what decodes re-encodes
//! to the same bytes (one message, one encoding), under the catalog version it names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::{wire, V1_128};
use veilrank_fuzz::{catalog, DIM};

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = wire::decode_query(&V1_128, &catalog(), DIM, data) {
        // any content version is accepted: a query does not depend on the items
        let named = wire::peek(data)
            .expect("a decoded query has a header")
            .catalog;
        let again = wire::encode_query(&V1_128, &named, &query).expect("a decoded query encodes");
        let first = again.iter().zip(data).position(|(a, b)| a != b);
        assert!(
            again == data,
            "a query decoded from bytes it does not re-encode to: {} and {} bytes, first \
             difference at {first:?}",
            data.len(),
            again.len()
        );
    }
});
