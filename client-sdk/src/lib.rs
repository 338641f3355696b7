//! veilrank's client SDK: the app keeps the secret key, encrypts the user's preferences, and
//! decrypts and ranks the scores the server computed without seeing them.
//!
//! ```no_run
//! # async fn run() -> veilrank_client::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! let key = Arc::new(veilrank_client::keystore::load("veilrank.key".as_ref())?);
//! let client = veilrank_client::Client::connect("http://127.0.0.1:8080", Duration::from_secs(5)).await?;
//! let prefs = client.preferences_from_topics(&["jazz", "documentary"])?;
//! for item in client.recommend(&key, &prefs, 10).await?.items {
//!     println!("{} {} {:.3}", item.rank, item.title, item.score);
//! }
//! # Ok(()) }
//! ```

pub mod client;
mod error;
pub mod keystore;

pub use client::{
    Client, ConnectOptions, EncryptedQuery, EncryptedScores, Profile, RankedItem, Recommendations,
    Report, Scores, ServerTiming,
};
pub use error::{ClientError, Result};
pub use veilrank_core::SecretKey;
