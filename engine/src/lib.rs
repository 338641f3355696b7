//! veilrank's server-side engine: a quantized catalog prepared once in the transform domain,
//! encrypted queries expanded into it, and scoring passes of one or many queries over it, on
//! the fastest kernel the CPU has.
//!
//! The client never needs this crate: everything a client does is in `veilrank-core`, which is
//! portable. This crate may be as CPU-specific as it likes; every SIMD path sits behind
//! `cfg(target_arch)` and a run-time feature check, beside a portable path that compiles and
//! runs everywhere. Its results are checked against `veilrank_core::reference`, the obvious
//! computation, and against the plaintext scores.
//!
//! Errors are the scheme's ([`veilrank_core::Error`]): everything that can go wrong here is a
//! shape or size that the protocol itself defines.

pub mod baseline;
pub mod catalog;
mod crt;
pub mod expand;
#[cfg(target_arch = "x86_64")]
mod ifma;
mod kernel;
mod pass;
pub mod pins;
pub mod shard;
mod split;
mod store;
mod switch;

pub use catalog::PreparedCatalog;
pub use expand::ExpandedQuery;
pub use kernel::Kernel;
pub use pins::Pins;
pub use shard::{Shard, Whole};
pub use veilrank_core::{Error, Result};

/// The scoring kernel this CPU runs for the modulus `prime` by default ([`Kernel::best`]).
#[must_use]
pub fn kernel_name(prime: veilrank_core::ntt::ServerPrime) -> &'static str {
    Kernel::best(prime).name()
}
