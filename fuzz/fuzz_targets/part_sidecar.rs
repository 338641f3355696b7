//! A split catalog part's sidecar, as a shard reads it beside its `.npy`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_server::catalog_part::parse_sidecar;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(facts) = parse_sidecar(text) {
            assert!(facts.shard().is_ok());
            assert!(facts.scale > 0.0);
            let _ = facts.whole();
        }
    }
});
