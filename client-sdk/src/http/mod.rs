//! The HTTP client (feature `http`): reqwest on tokio, over the sans-IO [`crate::Session`].

pub(crate) mod client;
pub(crate) mod options;
mod profiles;
pub(crate) mod query;
pub(crate) mod report;
pub(crate) mod scores;
mod transport;
