//! veilrank's client SDK: the app keeps the secret key, encrypts the user's preferences, and
//! decrypts and ranks the scores the server computed without seeing them.
//!
//! Two layers: [`Session`], sans-IO (bytes in, bytes out, no runtime: what the web SDK and the
//! mobile bindings build on), and with the default feature `http`, [`Client`], which speaks
//! HTTP to a veilrank server over it.
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

mod error;
#[cfg(feature = "http")]
mod http;
pub mod keystore;
mod profile;
mod session;

pub use error::{ClientError, Result};
#[cfg(feature = "http")]
pub use http::client::Client;
#[cfg(feature = "http")]
pub use http::options::ConnectOptions;
#[cfg(feature = "http")]
pub use http::query::{EncryptedQuery, EncryptedScores};
#[cfg(feature = "http")]
pub use http::report::{Report, ServerTiming};
#[cfg(feature = "http")]
pub use http::scores::{Recommendations, Scores};
pub use profile::Profile;
pub use session::{QueryBytes, RankedItem, Session};
pub use veilrank_core::SecretKey;
