//! What one query cost: the time of each step and the bytes each way, and the server's own
//! account of its time (`Server-Timing`).

use std::time::Duration;

/// Where the time and the bytes of one query went.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Client: quantization and encryption.
    pub encrypt: Duration,
    /// The HTTP round trip (upload, server, download).
    pub round_trip: Duration,
    /// Of the round trip: from sending until the response headers, less the server's time
    /// (sending the query, and the network both ways for the headers).
    pub upload: Duration,
    /// Of the round trip: receiving the response body.
    pub download: Duration,
    /// The server's time, as it reports it (`Server-Timing`).
    pub server: Option<ServerTiming>,
    /// Client: downloading and decoding the catalog's hint, when this query was the first of
    /// its catalog version to need it (zero afterwards: it is kept per version).
    pub hint: Duration,
    /// Bytes of the hint downloaded for this query (zero when it was already kept).
    pub hint_bytes: usize,
    /// Client: decryption.
    pub decrypt: Duration,
    /// Client: ranking.
    pub rank: Duration,
    /// Bytes of the query body sent.
    pub bytes_sent: usize,
    /// Bytes of the response body received.
    pub bytes_received: usize,
}

/// Where the server's time went, as it reports it in `Server-Timing`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct ServerTiming {
    /// Decoding the query and moving it to the transform domain.
    pub expand: Duration,
    /// Waiting for the pass over the catalog in progress.
    pub queue: Duration,
    /// The pass over the catalog (shared by the batch).
    pub score: Duration,
    /// All of the server's time for this query.
    pub total: Duration,
    /// Queries scored in the same pass.
    pub batch: usize,
}

impl ServerTiming {
    /// Parses `expand;dur=.., queue;dur=.., score;dur=.., total;dur=.., batch;desc=".."`; the
    /// score is required, the rest default to zero (older servers send the score alone).
    pub fn parse(value: &str) -> Option<Self> {
        let duration = |name: &str| {
            timing_metric(value, name, "dur=")?
                .parse::<f64>()
                .ok()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_secs_f64(ms / 1e3))
        };
        let score = duration("score")?;
        Some(Self {
            expand: duration("expand").unwrap_or_default(),
            queue: duration("queue").unwrap_or_default(),
            score,
            total: duration("total").unwrap_or(score),
            batch: timing_metric(value, "batch", "desc=")
                .and_then(|d| d.trim_matches('"').parse().ok())
                .unwrap_or(1),
        })
    }
}

/// The value of parameter `key` (`dur=`, `desc=`) of metric `name` in a `Server-Timing` header.
fn timing_metric<'a>(value: &'a str, name: &str, key: &str) -> Option<&'a str> {
    value.split(',').find_map(|metric| {
        let mut parts = metric.trim().split(';');
        (parts.next()? == name).then_some(())?;
        parts.find_map(|p| p.trim().strip_prefix(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_is_parsed() {
        let full = ServerTiming::parse(
            "expand;dur=3.5, queue;dur=1, score;dur=12.5, total;dur=17, batch;desc=\"4\"",
        )
        .unwrap();
        assert_eq!(
            full,
            ServerTiming {
                expand: Duration::from_micros(3_500),
                queue: Duration::from_millis(1),
                score: Duration::from_micros(12_500),
                total: Duration::from_millis(17),
                batch: 4,
            }
        );
        let alone = ServerTiming::parse("db;dur=1, score;desc=x;dur=2").unwrap();
        assert_eq!(
            (alone.score, alone.total, alone.batch),
            (Duration::from_millis(2), Duration::from_millis(2), 1)
        );
        assert_eq!(ServerTiming::parse("score;dur=-1"), None);
        assert_eq!(ServerTiming::parse("other;dur=3"), None);
    }
}
