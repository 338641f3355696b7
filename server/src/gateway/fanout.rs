//! One query to every shard at once, and their parts streamed back as one response.
//!
//! Each shard answers with a whole response message for its blocks. The gateway waits for every
//! shard's head (so that a missing shard or a version mismatch is a clean 503, never a partial
//! response), checks each head against the view of that version, writes a head naming the whole
//! catalog, then streams each shard's bytes after its head in shard order. A later shard's bytes
//! wait in its connection (TCP backpressure) while an earlier one streams: nothing is joined in
//! memory.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{BoxStream, StreamExt};
use http_body::{Frame, SizeHint};
use veilrank_core::response::Response as Scores;
use veilrank_core::wire::{self, ResponseHead};

use super::{bad_upstream, changing, passed, Failure, Gateway, View};
use crate::error::AppError;

/// A shard's answer, read up to the end of its head.
struct Answer {
    head: ResponseHead,
    /// Bytes after the head already read with it.
    rest: Bytes,
    /// The bytes still to come.
    chunks: BoxStream<'static, reqwest::Result<Bytes>>,
    /// Content-Length minus the head.
    body_len: Option<u64>,
    /// The shard's `Server-Timing`.
    timing: Option<String>,
}

impl Gateway {
    /// Scores an encrypted query (as the client sent it) on every shard of catalog `id`.
    pub async fn score(&self, id: &str, query: Bytes) -> Result<Response, Failure> {
        let started = Instant::now();
        let head_len =
            wire::response_head_len(&self.params, id).map_err(|_| AppError::unknown_catalog(id))?;
        let answers = futures_util::future::try_join_all(
            (0..self.shards.len()).map(|k| self.ask(k, id, &query, head_len)),
        )
        .await?;
        let upstream = started.elapsed();
        let version = answers[0].head.catalog.version;
        if answers.iter().any(|a| a.head.catalog.version != version) {
            tracing::warn!(catalog = %id, "shards answered on different catalog versions");
            return Err(changing(id).into());
        }
        let view = self.view(id, Some(version)).await?;
        let mut total = 0u64;
        for (k, answer) in answers.iter().enumerate() {
            total += self.check(k, answer, &answers[0].head.response, &view)? as u64;
        }
        let first = &answers[0].head.response;
        let items = view.manifest.item_count;
        let head = Scores {
            bits: first.bits,
            dim: first.dim,
            items: items as u32,
            nonce: first.nonce,
            hint: view.hint_id,
            blocks: Vec::new(),
        };
        let blocks = items.div_ceil(self.params.polynomial_size);
        let head = wire::encode_response_head(&self.params, &view.catalog, &head, blocks)
            .map_err(|e| bad_upstream(0, &e.to_string()))?;
        let answers_timing: Vec<Option<String>> =
            answers.iter().map(|a| a.timing.clone()).collect();
        let body = Joined {
            remaining: head.len() as u64 + total,
            head: Some(Bytes::from(head)),
            parts: answers
                .into_iter()
                .map(|a| Part {
                    remaining: a.head.body_len(&self.params).unwrap_or(0) as u64,
                    rest: Some(a.rest),
                    chunks: a.chunks,
                })
                .collect(),
        };
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            Body::new(body),
        )
            .into_response();
        let timing = server_timing(
            answers_timing.iter().map(Option::as_deref),
            upstream,
            self.shards.len(),
        );
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().insert("server-timing", value);
        }
        Ok(response)
    }

    /// Shard `k`'s answer to the query, from the first replica that gives one within the
    /// upstream timeout; a 4xx (the query's fault) is passed on without trying the others.
    async fn ask(
        &self,
        k: usize,
        id: &str,
        query: &Bytes,
        head_len: usize,
    ) -> Result<Answer, Failure> {
        let mut last = String::new();
        for base in self.shards[k].in_turn() {
            let attempt = self.attempt(k, base, id, query, head_len);
            match tokio::time::timeout(self.head_timeout, attempt).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(Attempt::Fail(failure))) => return Err(failure),
                Ok(Err(Attempt::Retry(why))) => last = format!("{base}: {why}"),
                Err(_) => {
                    last = format!("{base}: no response head in {:?}", self.head_timeout);
                }
            }
            self.replica_failed(k, &last);
        }
        Err(self.unavailable(k, &last).into())
    }

    /// One replica's answer, up to the end of its head.
    async fn attempt(
        &self,
        k: usize,
        base: &reqwest::Url,
        id: &str,
        query: &Bytes,
        head_len: usize,
    ) -> Result<Answer, Attempt> {
        let url = base
            .join(&format!("v1/catalogs/{id}/score"))
            .map_err(|_| Attempt::Fail(AppError::unknown_catalog(id).into()))?;
        let mut response = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(query.clone())
            .send()
            .await
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = response.status();
        if status.is_client_error() {
            let passed = passed(response).await.map_or_else(|e| e, Failure::Passed);
            return Err(Attempt::Fail(passed));
        }
        if !status.is_success() {
            return Err(Attempt::Retry(status.to_string()));
        }
        let length = response.content_length();
        let timing = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut read = Vec::with_capacity(head_len);
        while read.len() < head_len {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                Ok(None) => return Err(Attempt::Retry("the answer ended before its head".into())),
                Err(e) => return Err(Attempt::Retry(e.to_string())),
            }
        }
        let head = wire::decode_response_head(&self.params, id, &read)
            .map_err(|e| Attempt::Fail(bad_upstream(k, &e.to_string()).into()))?;
        let rest = Bytes::from(read).slice(head_len..);
        let chunks = futures_util::stream::unfold(response, |mut r| async move {
            match r.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), r)),
                Ok(None) => None,
                Err(e) => Some((Err(e), r)),
            }
        })
        .boxed();
        Ok(Answer {
            head,
            rest,
            chunks,
            body_len: length.map(|n| n.saturating_sub(head_len as u64)),
            timing,
        })
    }

    /// Checks shard `k`'s head against the view of its version and the first shard's head;
    /// returns the bytes that follow it.
    fn check(
        &self,
        k: usize,
        answer: &Answer,
        first: &Scores,
        view: &View,
    ) -> Result<usize, AppError> {
        let head = &answer.head.response;
        let part = &view.parts[k];
        let body = answer.head.body_len(&self.params).unwrap_or(usize::MAX);
        let expected = body != usize::MAX
            && head.bits == first.bits
            && u64::from(head.bits) == u64::from(view.manifest.noise.response_bits)
            && head.dim as usize == view.manifest.dimension
            && head.dim == first.dim
            && head.nonce == first.nonce
            && head.items as usize == part.items
            && head.hint == part.hint
            && answer.body_len.is_none_or(|len| len == body as u64);
        if expected {
            Ok(body)
        } else {
            Err(bad_upstream(
                k,
                &format!(
                    "its response head does not fit its part (items {}, blocks {}, bits {})",
                    head.items, answer.head.blocks, head.bits
                ),
            ))
        }
    }
}

/// The gateway's `Server-Timing`: the slowest shard's phases (`expand`, `queue`, `score`,
/// `batch`, its `total` as `shard`), and the gateway's own `total` (until every shard's head),
/// so that a client sees both the shards' work and what the gateway adds.
fn server_timing<'a>(
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

/// Why one replica gave no answer: try the next, or give up (the query's fault, or ours).
enum Attempt {
    Retry(String),
    Fail(Failure),
}

/// A shard's bytes after its head.
struct Part {
    rest: Option<Bytes>,
    chunks: BoxStream<'static, reqwest::Result<Bytes>>,
    remaining: u64,
}

/// The joined response: the gateway's head, then each part in order, with its exact length.
/// A shard that ends early, sends too much or fails mid-way ends the body with an error (the
/// client sees a truncated response, never a wrong one).
struct Joined {
    head: Option<Bytes>,
    parts: VecDeque<Part>,
    remaining: u64,
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
