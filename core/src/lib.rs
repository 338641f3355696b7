#![doc = include_str!("../README.md")]
// The client's half of the scheme runs on phones and in browsers: no unsafe code, no
// CPU-specific code (the server's engine, `veilrank-engine`, has both).
#![forbid(unsafe_code)]

pub mod api;
pub mod bitpack;
pub mod encrypt;
mod error;
pub mod hint;
pub mod key;
pub mod noise;
pub mod ntt;
pub mod params;
pub mod plain;
pub mod precision;
pub mod quantize;
pub mod query;
pub mod rank;
pub mod reference;
pub mod response;
mod stream;
pub mod wire;

pub use encrypt::Encryptor;
pub use error::{Error, Result};
pub use hint::Hint;
pub use key::SecretKey;
pub use params::{ParameterSet, V1_128};
pub use precision::Precision;
pub use query::Query;
pub use reference::ReferenceCatalog;
pub use response::Response;
pub use wire::{CatalogRef, ContentVersion};
