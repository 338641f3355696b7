//! What the tests that run on every kernel share: random values and a catalog prepared on each
//! kernel this CPU runs.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use veilrank_core::ntt::SERVER_PRIMES;
use veilrank_core::{ParameterSet, V1_128};
use veilrank_engine::{Kernel, Pins, PreparedCatalog};

/// Random catalog or query values over the whole 8-bit range.
pub fn random_values(rng: &mut ChaCha8Rng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.random_range(-127i8..=127)).collect()
}

/// The catalog prepared on every kernel this CPU runs, under every modulus that kernel covers
/// and the catalog's noise allows (`scheme.rs`'s `report_the_kernels_in_use` says which ran).
pub fn on_every_kernel(dim: usize, values: &[i8]) -> Vec<PreparedCatalog> {
    on_every_kernel_at(&V1_128, dim, values)
}

/// The catalog prepared on every kernel this CPU runs, each under the modulus a server would
/// choose for it (the kernel's fastest that the catalog's noise allows): one catalog per kernel,
/// for the tests whose many catalogs make every modulus too slow under emulation (the store's
/// and `scheme.rs`'s tests cover every kernel under every modulus).
pub fn on_each_kernel_at(params: &ParameterSet, dim: usize, values: &[i8]) -> Vec<PreparedCatalog> {
    let prepared: Vec<_> = Kernel::ALL
        .into_iter()
        .filter_map(|kernel| {
            match PreparedCatalog::prepare_on(params, dim, values, kernel, &|_, _| {}) {
                Ok(catalog) => Some(catalog),
                Err(veilrank_core::Error::KernelUnavailable { .. }) => None,
                Err(e) => panic!("{kernel}: {e}"),
            }
        })
        .collect();
    assert!(prepared.iter().any(|c| c.kernel() == Kernel::Portable));
    prepared
}

/// [`on_every_kernel`] at the precision of `params`.
pub fn on_every_kernel_at(
    params: &ParameterSet,
    dim: usize,
    values: &[i8],
) -> Vec<PreparedCatalog> {
    let prepared: Vec<_> = Kernel::ALL
        .into_iter()
        .flat_map(|kernel| SERVER_PRIMES.map(|modulus| (kernel, modulus)))
        .filter_map(|(kernel, modulus)| {
            let pins = Pins::from(kernel).with_modulus(Some(modulus));
            match PreparedCatalog::prepare_on(params, dim, values, pins, &|_, _| {}) {
                Ok(catalog) => {
                    assert_eq!(catalog.kernel(), kernel);
                    assert_eq!(catalog.noise_plan().prime, modulus);
                    Some(catalog)
                }
                Err(
                    veilrank_core::Error::KernelUnavailable { .. }
                    | veilrank_core::Error::NoiseBudget { .. },
                ) => None,
                Err(e) => panic!("{kernel} under {modulus}: {e}"),
            }
        })
        .collect();
    assert!(prepared.iter().any(|c| c.kernel() == Kernel::Portable));
    prepared
}
