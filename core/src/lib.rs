#![doc = include_str!("../README.md")]

pub mod api;
pub mod bitpack;
pub mod catalog;
mod error;
pub mod hint;
mod kernel;
pub mod key;
mod mask;
pub mod noise;
pub mod ntt;
pub mod params;
pub mod plain;
pub mod quantize;
pub mod query;
pub mod rank;
pub mod response;
mod store;
mod switch;
pub mod wire;

pub use catalog::PreparedCatalog;
pub use error::{Error, Result};
pub use hint::Hint;
pub use key::SecretKey;
pub use params::{ParameterSet, V1_128};
pub use query::Query;
pub use response::Response;
pub use wire::{CatalogRef, ContentVersion};
