//! One query to every shard at once, and their parts streamed back as one response.
//!
//! Each shard answers with a whole response message for its blocks. The gateway waits for every
//! shard's head (so that a missing shard or a version mismatch is a clean 503, never a partial
//! response), checks each head against the view of that version, writes a head naming the whole
//! catalog, then streams each shard's bytes after its head in shard order. A later shard's bytes
//! wait in its connection (TCP backpressure) while an earlier one streams: nothing is joined in
//! memory.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{BoxStream, StreamExt};
use veilrank_core::response::Response as Scores;
use veilrank_core::wire::{self, ContentVersion, ResponseHead};

use super::joined::{server_timing, Joined, Part};
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
    /// The replica that answered.
    replica: reqwest::Url,
}

impl Gateway {
    /// Scores an encrypted query (as the client sent it) on every shard of catalog `id`.
    pub async fn score(&self, id: &str, query: Bytes) -> Result<Response, Failure> {
        let started = Instant::now();
        let head_len =
            wire::response_head_len(&self.params, id).map_err(|_| AppError::unknown_catalog(id))?;
        let first_answers = futures_util::future::try_join_all(
            (0..self.shards.len()).map(|k| self.ask(k, id, &query, head_len, None)),
        )
        .await?;
        let answers = self
            .one_version(id, &query, head_len, first_answers)
            .await?;
        let upstream = started.elapsed();
        let version = answers[0].head.catalog.version;
        let view = self.view(id, Some(version)).await?;
        let mut total = 0u64;
        for (k, answer) in answers.iter().enumerate() {
            total += self.check(k, answer, &answers[0].head.response, &view)? as u64;
        }
        let first = &answers[0].head.response;
        let params = self.params.with_precision(view.manifest.precision);
        let rows = params.precision.rows(view.manifest.item_count);
        let head = Scores {
            bits: first.bits,
            dim: first.dim,
            items: rows as u32,
            nonce: first.nonce,
            hint: view.hint_id,
            blocks: Vec::new(),
        };
        let blocks = rows.div_ceil(params.polynomial_size);
        let head = wire::encode_response_head(&params, &view.catalog, &head, blocks)
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

    /// Answers all on one content version: as they are where they agree; otherwise the shards
    /// on another version are asked again, on their other replicas, for the version the gateway
    /// serves now, then for each other version seen; 503 `catalog_changing` when no version has
    /// a replica on every shard (a catalog replaced replica by replica, with every shard keeping
    /// a replica of one version, is served without a failed query).
    async fn one_version(
        &self,
        id: &str,
        query: &Bytes,
        head_len: usize,
        mut answers: Vec<Answer>,
    ) -> Result<Vec<Answer>, Failure> {
        let first = answers[0].head.catalog.version;
        if answers.iter().all(|a| a.head.catalog.version == first) {
            return Ok(answers);
        }
        let mut targets: Vec<ContentVersion> = self.current(id).into_iter().collect();
        for answer in &answers {
            if !targets.contains(&answer.head.catalog.version) {
                targets.push(answer.head.catalog.version);
            }
        }
        'target: for target in targets {
            let mut again = Vec::new();
            for (k, answer) in answers.iter().enumerate() {
                if answer.head.catalog.version != target {
                    again.push((k, answer.replica.clone()));
                }
            }
            let asked = futures_util::future::join_all(
                again
                    .iter()
                    .map(|(k, skip)| self.ask_for(*k, id, query, head_len, target, skip)),
            )
            .await;
            let mut found = Vec::new();
            for ((k, _), answer) in again.into_iter().zip(asked) {
                match answer {
                    Some(answer) => found.push((k, answer)),
                    None => continue 'target,
                }
            }
            for (k, answer) in found {
                answers[k] = answer;
            }
            return Ok(answers);
        }
        tracing::warn!(catalog = %id, "no catalog version has a replica on every shard");
        Err(changing(id).into())
    }

    /// Shard `k`'s answer on version `want` from a replica other than `skip`, if one has it.
    async fn ask_for(
        &self,
        k: usize,
        id: &str,
        query: &Bytes,
        head_len: usize,
        want: ContentVersion,
        skip: &reqwest::Url,
    ) -> Option<Answer> {
        self.ask(k, id, query, head_len, Some((want, skip)))
            .await
            .ok()
    }

    /// Shard `k`'s answer to the query, from the first replica that gives one within the
    /// upstream timeout (and, with `want`, on that version, from another replica than the one
    /// named); a 4xx (the query's fault) is passed on without trying the others.
    async fn ask(
        &self,
        k: usize,
        id: &str,
        query: &Bytes,
        head_len: usize,
        want: Option<(ContentVersion, &reqwest::Url)>,
    ) -> Result<Answer, Failure> {
        let mut last = String::new();
        for base in self.replicas_for(id, k) {
            if want.is_some_and(|(_, skip)| skip == base) {
                continue;
            }
            let attempt = self.attempt(k, base, id, query, head_len);
            match tokio::time::timeout(self.head_timeout, attempt).await {
                Ok(Ok(answer)) => match want {
                    Some((version, _)) if answer.head.catalog.version != version => {
                        // not a failure: that replica serves the other version
                        last = format!("{base}: another catalog version");
                        continue;
                    }
                    _ => return Ok(answer),
                },
                Ok(Err(Attempt::Fail(failure))) => return Err(failure),
                Ok(Err(Attempt::Retry(why))) => last = format!("{base}: {why}"),
                Err(_) => {
                    last = format!("{base}: no response head in {:?}", self.head_timeout);
                }
            }
            self.replica_failed(k, &last);
        }
        if want.is_some() {
            // looking for one version among the replicas: not having it is no outage
            return Err(changing(id).into());
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
        let head = wire::peek(&read)
            .map(|header| self.params_of(&header.fingerprint))
            .and_then(|params| wire::decode_response_head(&params, id, &read))
            .map_err(|e| Attempt::Fail(bad_upstream(k, &e.to_string()).into()))?;
        self.saw(id, base, head.catalog.version);
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
            replica: base.clone(),
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
            && head.items as usize == view.manifest.precision.rows(part.items)
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

/// Why one replica gave no answer: try the next, or give up (the query's fault, or ours).
enum Attempt {
    Retry(String),
    Fail(Failure),
}
