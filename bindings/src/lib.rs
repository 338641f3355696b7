//! veilrank's client for Android, iOS and Python apps: the Rust SDK ([`veilrank_client`])
//! exported with UniFFI. One definition here; `uniffi-bindgen` generates the Kotlin, Swift and
//! Python sources from the built library, and each platform adds a thin idiomatic layer
//! (`bindings/python/`, `bindings/kotlin/`, `bindings/swift/`).
//!
//! Two ways in, as in the Rust SDK:
//! - [`Client`]: HTTP to a veilrank server, blocking (call it off the UI thread: Kotlin's
//!   `Dispatchers.IO`, a Swift `Task.detached`, a Python thread);
//! - [`Session`]: sans-IO, bytes in and bytes out, for apps that bring their own HTTP stack.
//!
//! The secret key never leaves the app: [`SecretKey::to_bytes`] is for the platform keystore.

mod client;
mod error;
mod key;
mod profile;
mod records;
mod runtime;
mod session;

pub use client::{Client, ConnectOptions};
pub use error::{error_from_response, Result, VeilrankError};
pub use key::SecretKey;
pub use profile::Profile;
pub use records::{CatalogInfo, EncryptedQuery, ItemInfo, ProfileInfo, RankedItem};
pub use session::{Hint, Session};

uniffi::setup_scaffolding!("veilrank");
