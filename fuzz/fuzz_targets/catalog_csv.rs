//! A catalog file in CSV.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use veilrank_server::catalog_file::{read, Format};

fuzz_target!(|data: &[u8]| {
    let _ = read(data, Format::Csv, Path::new("fuzz.csv"));
});
