//! veilrank's HTTP service: scores encrypted preference vectors against a catalog without
//! learning the preferences, the scores or the ranking.
//!
//! The binary `veilrank-server` wraps [`app::start`]; tests and the `veilrank demo` command start
//! the same server in-process.

pub mod app;
pub mod audit;
pub mod auth;
pub mod batcher;
pub mod body;
pub mod catalog;
pub mod catalog_file;
pub mod catalog_npy;
pub mod catalog_parquet;
pub mod catalog_part;
pub mod catalogs;
pub mod config;
pub mod connections;
pub mod demo;
pub mod error;
pub mod gateway;
pub mod hint;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod private_files;
pub mod profile_record;
pub mod retention;
pub mod routes;
pub mod state;
pub mod store;
pub mod token;
pub mod web;

pub use app::{load_catalogs, router, start, start_demo_on_loopback, RunningServer};
pub use config::Config;
pub use error::{AppError, ServerError};
