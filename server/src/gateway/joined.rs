//! The joined response body: the gateway's head, then each shard's bytes after its head, in
//! order, with the exact length; and the `Server-Timing` that goes with it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use http_body::{Frame, SizeHint};

/// The gateway's `Server-Timing`: the slowest shard's phases (`expand`, `queue`, `score`,
/// `batch`, its `total` as `shard`), and the gateway's own `total` (until every shard's head),
/// so that a client sees both the shards' work and what the gateway adds.
pub(super) fn server_timing<'a>(
    shards: impl Iterator<Item = Option<&'a str>>,
    total: std::time::Duration,
    count: usize,
) -> String {
    let total_of = |timing: &str| {
        timing.split(',').find_map(|metric| {
            let mut parts = metric.trim().split(';');
            (parts.next()? == "total").then_some(())?;
            parts.find_map(|p| p.trim().strip_prefix("dur=")?.parse::<f64>().ok())
        })
    };
    let slowest = shards
        .flatten()
        .filter_map(|t| Some((total_of(t)?, t)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut metrics: Vec<String> = Vec::new();
    if let Some((shard_total, timing)) = slowest {
        metrics.extend(
            timing
                .split(',')
                .map(str::trim)
                .filter(|m| !m.starts_with("total;") && !m.is_empty())
                .map(str::to_string),
        );
        metrics.push(format!("shard;dur={shard_total:.3}"));
    }
    metrics.push(format!("shards;desc=\"{count}\""));
    metrics.push(format!("total;dur={:.3}", total.as_secs_f64() * 1e3));
    metrics.join(", ")
}

/// A shard's bytes after its head.
pub(super) struct Part {
    pub(super) rest: Option<Bytes>,
    pub(super) chunks: BoxStream<'static, reqwest::Result<Bytes>>,
    pub(super) remaining: u64,
}

/// The joined response: the gateway's head, then each part in order, with its exact length.
/// A shard that ends early, sends too much or fails mid-way ends the body with an error (the
/// client sees a truncated response, never a wrong one).
pub(super) struct Joined {
    pub(super) head: Option<Bytes>,
    pub(super) parts: VecDeque<Part>,
    pub(super) remaining: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl http_body::Body for Joined {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(head) = this.head.take() {
            this.remaining -= head.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        loop {
            let Some(part) = this.parts.front_mut() else {
                return Poll::Ready(None);
            };
            if part.remaining == 0 {
                this.parts.pop_front();
                continue;
            }
            let chunk = match part.rest.take() {
                Some(rest) => rest,
                None => match part.chunks.poll_next_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) => chunk,
                    Poll::Ready(Some(Err(e))) => {
                        tracing::warn!(error = %e, "a shard failed while streaming");
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    Poll::Ready(None) => {
                        tracing::warn!("a shard's response ended early");
                        return Poll::Ready(Some(Err("a shard's response ended early".into())));
                    }
                },
            };
            if chunk.is_empty() {
                continue;
            }
            if chunk.len() as u64 > part.remaining {
                tracing::error!("a shard sent more than its response");
                return Poll::Ready(Some(Err("a shard sent more than its response".into())));
            }
            part.remaining -= chunk.len() as u64;
            this.remaining -= chunk.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
