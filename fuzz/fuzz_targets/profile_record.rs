//! A stored profile's record as read back from the database: its metadata, and its sealed
//! content opened with a token (which must fail for anything the token did not seal).
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_server::store::{decode_meta, ProfileId};
use veilrank_server::token::AccessToken;

fuzz_target!(|data: &[u8]| {
    let _ = decode_meta(data);
    let token = AccessToken::parse(&"5a".repeat(32)).expect("a valid token");
    let id = ProfileId([9; 16]);
    assert!(
        token.open(&id, data).is_none(),
        "bytes the token never sealed opened"
    );
});
