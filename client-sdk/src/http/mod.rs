//! The HTTP client (feature `http`): reqwest on tokio, over the sans-IO [`crate::Session`].

pub(crate) mod client;
mod profiles;
pub(crate) mod report;
mod transport;
