//! A query encrypted and not yet sent, and the scores downloaded and not yet decrypted: the
//! steps of [`super::client::Client::score`] apart, for load tests that replay a query.

use std::time::Duration;

use bytes::Bytes;

use super::report::Report;

/// A query encrypted for the catalog version current when it was made. It can be sent at once
/// or later, and more than once (load tests replay it): the server learns nothing more from a
/// repeated ciphertext than that it is the same one.
#[derive(Clone)]
pub struct EncryptedQuery {
    // shared, not copied, by each send of a replayed query
    pub(crate) body: Bytes,
    pub(crate) scale: f32,
    pub(crate) encrypt: Duration,
}

impl EncryptedQuery {
    /// Bytes sent per query.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Never: a query holds at least its header.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl std::fmt::Debug for EncryptedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedQuery")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The server's answer to an [`EncryptedQuery`], not yet decrypted.
pub struct EncryptedScores {
    // as downloaded: a response is megabytes, and a copy of it costs as much as its decoding
    pub(crate) bytes: Bytes,
    pub(crate) scale: f32,
    /// Timings and sizes so far (encryption, upload, server, download).
    pub report: Report,
}

impl std::fmt::Debug for EncryptedScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedScores")
            .field("bytes", &self.bytes.len())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}
