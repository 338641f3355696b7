//! A Parquet catalog: an error or a catalog whose every item has the catalog's dimension, never
//! a panic out of the loader (the decoder's own panics are caught and reported as corruption).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use veilrank_server::catalog_parquet::read;

fuzz_target!(|data: &[u8]| {
    // The loader catches the decoder's panics; libfuzzer-sys' hook would abort on them before
    // that. A panic that escapes the loader still aborts: fuzz_target! catches it and aborts.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(catalog) = read(
        bytes::Bytes::copy_from_slice(data),
        Path::new("fuzz.parquet"),
    ) {
        assert!(!catalog.items.is_empty());
        assert!(catalog.items.iter().all(|i| i.vector.len() == catalog.dim));
    }
});
