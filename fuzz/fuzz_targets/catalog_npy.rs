//! A NumPy matrix (`.npy`) of a catalog: what decodes holds exactly the values its header
//! promises, and never more than the bytes could.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use veilrank_server::catalog_npy::read_matrix_from;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = read_matrix_from(data, data.len() as u64, Path::new("fuzz.npy")) {
        assert_eq!(m.values.len(), m.rows * m.dim);
        assert!(m.values.len() * 2 <= data.len());
    }
});
