//! What the tests that run on every kernel share: random values and a catalog prepared on each
//! kernel this CPU runs.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use veilrank_core::V1_128;
use veilrank_engine::{Kernel, PreparedCatalog};

/// Random catalog or query values over the whole 8-bit range.
pub fn random_values(rng: &mut ChaCha8Rng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.random_range(-127i8..=127)).collect()
}

/// The catalog prepared on every kernel this CPU runs that covers its prime
/// (`scheme.rs`'s `report_the_kernels_in_use` says which ran).
pub fn on_every_kernel(dim: usize, values: &[i8]) -> Vec<PreparedCatalog> {
    let prepared: Vec<_> = Kernel::ALL
        .into_iter()
        .filter_map(|kernel| {
            match PreparedCatalog::prepare_on(&V1_128, dim, values, Some(kernel), &|_, _| {}) {
                Ok(catalog) => {
                    assert_eq!(catalog.kernel(), kernel);
                    Some(catalog)
                }
                Err(veilrank_core::Error::KernelUnavailable { .. }) => None,
                Err(e) => panic!("{kernel}: {e}"),
            }
        })
        .collect();
    assert!(prepared.iter().any(|c| c.kernel() == Kernel::Portable));
    prepared
}
