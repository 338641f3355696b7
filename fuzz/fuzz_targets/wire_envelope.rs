//! The envelope every wire message starts with: magic, version, kind, fingerprint, catalog.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::wire;

fuzz_target!(|data: &[u8]| {
    let _ = wire::peek(data);
});
