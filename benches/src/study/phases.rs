//! The per-query phase histograms of a study, one set per client, merged at the end.

use std::time::Duration;

use hdrhistogram::Histogram;
use veilrank_client::Report;

/// Per-query phase histograms, in microseconds.
pub(super) struct Phases {
    pub(super) total: Histogram<u64>,
    pub(super) encrypt: Histogram<u64>,
    pub(super) upload: Histogram<u64>,
    pub(super) server: Histogram<u64>,
    pub(super) server_score: Histogram<u64>,
    pub(super) server_share: Histogram<u64>,
    pub(super) expand: Histogram<u64>,
    pub(super) queue: Histogram<u64>,
    pub(super) download: Histogram<u64>,
    pub(super) decrypt_rank: Histogram<u64>,
    pub(super) batches: u64,
    pub(super) upload_bytes: usize,
    pub(super) download_bytes: usize,
}

impl Phases {
    pub(super) fn new() -> Result<Self, String> {
        let h = || Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string());
        Ok(Self {
            total: h()?,
            encrypt: h()?,
            upload: h()?,
            server: h()?,
            server_score: h()?,
            server_share: h()?,
            expand: h()?,
            queue: h()?,
            download: h()?,
            decrypt_rank: h()?,
            batches: 0,
            upload_bytes: 0,
            download_bytes: 0,
        })
    }

    pub(super) fn record(&mut self, total: Duration, r: &Report) {
        let us = |d: Duration| (d.as_micros() as u64).max(1);
        let _ = self.total.record(us(total));
        let _ = self.encrypt.record(us(r.encrypt));
        let _ = self.upload.record(us(r.upload));
        let _ = self.download.record(us(r.download));
        let _ = self.decrypt_rank.record(us(r.decrypt + r.rank));
        if let Some(s) = r.server {
            let _ = self.server.record(us(s.total));
            let _ = self.server_score.record(us(s.score));
            let _ = self
                .server_share
                .record(us(s.score / s.batch.max(1) as u32));
            let _ = self.expand.record(us(s.expand));
            let _ = self.queue.record(us(s.queue));
            self.batches += s.batch as u64;
        }
        self.upload_bytes = r.bytes_sent;
        self.download_bytes = r.bytes_received;
    }

    /// Adds another client's histograms and counts to these.
    pub(super) fn merge(&mut self, other: &Self) -> Result<(), String> {
        for (into, from) in [
            (&mut self.total, &other.total),
            (&mut self.encrypt, &other.encrypt),
            (&mut self.upload, &other.upload),
            (&mut self.server, &other.server),
            (&mut self.server_score, &other.server_score),
            (&mut self.server_share, &other.server_share),
            (&mut self.expand, &other.expand),
            (&mut self.queue, &other.queue),
            (&mut self.download, &other.download),
            (&mut self.decrypt_rank, &other.decrypt_rank),
        ] {
            into.add(from).map_err(|e| e.to_string())?;
        }
        self.batches += other.batches;
        self.upload_bytes = self.upload_bytes.max(other.upload_bytes);
        self.download_bytes = self.download_bytes.max(other.download_bytes);
        Ok(())
    }
}
