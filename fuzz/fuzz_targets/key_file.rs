//! A key file's bytes (magic, version, parameter set, checksum), as the SDK reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_core::{SecretKey, V1_128};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = SecretKey::try_from_bytes(&V1_128, data) {
        assert_eq!(
            &key.to_bytes()[..],
            data,
            "a key read from bytes it does not write"
        );
    }
});
