//! What the fuzz targets share: the catalog every message is made for, so that the seed corpus
//! (`veilrank-e2e`'s `fuzz_seeds` example) and the targets agree on it.

use std::sync::OnceLock;

use veilrank_core::{CatalogRef, ContentVersion, Hint, ReferenceCatalog, SecretKey, V1_128};

/// Dimension of the fuzzed catalog.
pub const DIM: usize = 4;
/// Items in the fuzzed catalog.
pub const ITEMS: usize = 40;

/// The catalog the seeds were made for: id "fuzz", content version all zeros.
pub fn catalog() -> CatalogRef {
    CatalogRef {
        id: "fuzz".into(),
        version: ContentVersion([0; 32]),
    }
}

/// Its values: a fixed pattern, the same as the seeds'.
pub fn values() -> Vec<i8> {
    (0..DIM * ITEMS)
        .map(|i| ((i * 37) % 255) as u8 as i8)
        .collect()
}

/// The prepared catalog and a key, made once per process (any key: a response decrypted under
/// the wrong one must still cost an error or garbage, never a crash).
pub fn fixture() -> &'static (ReferenceCatalog, SecretKey) {
    static FIXTURE: OnceLock<(ReferenceCatalog, SecretKey)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let catalog = ReferenceCatalog::prepare(&V1_128, DIM, &values()).expect("valid catalog");
        let key = SecretKey::generate(&V1_128).expect("randomness");
        (catalog, key)
    })
}

/// The hint of the fuzzed catalog.
pub fn hint() -> &'static Hint {
    fixture().0.hint()
}
