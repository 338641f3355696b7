//! Micro-batching: concurrent queries against one catalog version share one pass over it.
//!
//! Scoring one query streams the whole prepared catalog from memory (8 bytes per item-feature),
//! and the arithmetic per query is small next to that. One worker thread takes every query that
//! is waiting when it becomes free (up to `max_batch`), expands them in parallel, scores those
//! of the same catalog version together
//! ([`PreparedCatalog::score_batch`](veilrank_engine::PreparedCatalog::score_batch)) on the rayon
//! pool, and answers each. Nothing waits on purpose: a query that arrives at an idle server is
//! scored at once, alone; batches form only while the server is busy, which is when they pay.
//! Each response depends on its own query only.
//!
//! One exception, under load only: when the last pass was shared, or queries came in during it,
//! the worker holds the next one open for up to an eighth of the last pass's time (at most
//! `max_wait`) until the queries it expects are in: the last pass's clients, who come back for
//! more, and those that arrived meanwhile. Clients that wait for their answers before asking
//! again come back a few milliseconds apart; without the window the first one back starts a
//! pass alone and the others wait for all of it, so batches shrink and alternate. An idle
//! server never waits.
//!
//! Expansion belongs to the worker, not to the request: expanding on the request's thread
//! while a pass holds the rayon pool queued the expansions behind the pass, so queries reached
//! the worker one pass late and batches stayed small. Waiting queries are also smaller
//! unexpanded (the upload) than expanded.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rayon::prelude::*;
use tokio::sync::oneshot;
use veilrank_core::{wire, Query};
use veilrank_engine::ExpandedQuery;

use crate::body::Parts;
use crate::catalog::ServedCatalog;
use crate::error::AppError;
use crate::metrics::Metrics;

/// Scored, encoded, and how it went.
#[derive(Debug)]
pub struct Scored {
    /// The encoded response message, in parts.
    pub encoded: Parts,
    /// Queries scored in the same pass.
    pub batch: usize,
    /// Time spent waiting for the worker (a batch in progress).
    pub waited: Duration,
    /// Time of expanding the batch's queries (in parallel), shared by the batch.
    pub expand: Duration,
    /// Time of the pass over the catalog, shared by the batch (encoding not included).
    pub scoring: Duration,
}

struct Job {
    catalog: Arc<ServedCatalog>,
    query: Query,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Scored, AppError>>,
}

/// How the worker forms batches.
#[derive(Clone, Copy, Debug)]
pub struct BatchPolicy {
    /// Most queries in one pass (1: one at a time).
    pub max_batch: usize,
    /// Longest the worker holds a pass open for queries still arriving, under load.
    pub max_wait: Duration,
    /// Most queries waiting; beyond that a query is told to come back (503).
    pub queue: usize,
}

impl BatchPolicy {
    /// After a pass shared by `last.0` queries that took `last.1`, during which `arrived`
    /// more queries came in: how many queries to wait for, and for how long at most. The
    /// clients just answered are expected back, beside those that came during the pass; the
    /// latter count too, or a window that once closed short would shrink every batch after
    /// it. A pass alone with nothing waiting after it (an idle server) waits for nothing.
    fn window(&self, last: (usize, Duration), arrived: usize) -> (usize, Duration) {
        let want = (last.0 + arrived).min(self.max_batch);
        if want < 2 {
            return (want, Duration::ZERO);
        }
        (want, (last.1 / 8).min(self.max_wait))
    }
}

/// The handle the request handlers send queries through.
pub struct Batcher {
    sender: SyncSender<Job>,
}

impl Batcher {
    /// Starts the worker thread.
    pub fn start(policy: BatchPolicy, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(policy.queue.max(1));
        let policy = BatchPolicy {
            max_batch: policy.max_batch.max(1),
            ..policy
        };
        std::thread::Builder::new()
            .name("veilrank-batcher".into())
            .spawn(move || work(&receiver, policy, &metrics))?;
        Ok(Self { sender })
    }

    /// Scores a decoded query against `catalog` (the version it was decoded for).
    pub async fn score(
        &self,
        catalog: Arc<ServedCatalog>,
        query: Query,
    ) -> Result<Scored, AppError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            catalog,
            query,
            enqueued: Instant::now(),
            reply,
        };
        self.sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy scoring other queries; retry shortly",
            )
            .retry_after(1),
            TrySendError::Disconnected(_) => {
                tracing::error!("the scoring worker is gone");
                AppError::internal()
            }
        })?;
        answer.await.map_err(|_| {
            tracing::error!("the scoring worker dropped a query");
            AppError::internal()
        })?
    }
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

/// The worker: until every handle is gone, take what is waiting and score it.
fn work(receiver: &Receiver<Job>, policy: BatchPolicy, metrics: &Metrics) {
    // the last pass: how many shared it, how long it took
    let mut last = (1usize, Duration::ZERO);
    loop {
        // what came in during the last pass, without waiting
        let mut jobs = Vec::new();
        while jobs.len() < policy.max_batch {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let arrived = jobs.len();
        if jobs.is_empty() {
            match receiver.recv() {
                Ok(job) => jobs.push(job),
                // every handle is gone
                Err(_) => return,
            }
        }
        let (want, window) = policy.window(last, arrived);
        let deadline = Instant::now() + window;
        while jobs.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let batch = jobs.len();
        // one pass per catalog version present
        while let Some(first) = jobs.first() {
            let catalog = first.catalog.clone();
            let (same, rest) = jobs
                .into_iter()
                .partition(|j| Arc::ptr_eq(&j.catalog, &catalog));
            jobs = rest;
            // a panic drops the batch's reply channels (each caller gets 500), not the worker
            if std::panic::catch_unwind(AssertUnwindSafe(|| run(&catalog, same, metrics))).is_err()
            {
                tracing::error!(catalog = %catalog.reference.id, "scoring a batch panicked");
            }
        }
        last = (batch, started.elapsed());
    }
}

fn run(catalog: &ServedCatalog, jobs: Vec<Job>, metrics: &Metrics) {
    let started = Instant::now();
    let batch = jobs.len();
    metrics.batch_size.observe(batch as f64);
    let Some(prepared) = catalog.prepared() else {
        for job in jobs {
            let _ = job.reply.send(Err(AppError::not_ready()));
        }
        return;
    };
    let prime = prepared.noise_plan().prime;
    let expanded: Vec<_> = jobs
        .par_iter()
        .map(|j| ExpandedQuery::expand(&j.query, &catalog.params, catalog.dim, prime))
        .collect();
    let expand = started.elapsed();
    // a query that does not expand gets its error; the others go on
    let (jobs, expanded): (Vec<Job>, Vec<ExpandedQuery>) = jobs
        .into_iter()
        .zip(expanded)
        .filter_map(|(job, expanded)| match expanded {
            Ok(expanded) => Some((job, expanded)),
            Err(e) => {
                let _ = job.reply.send(Err(AppError::from(e)));
                None
            }
        })
        .unzip();
    let scoring_started = Instant::now();
    let queries: Vec<&ExpandedQuery> = expanded.iter().collect();
    let responses = match prepared.score_batch(&queries) {
        Ok(responses) => responses,
        Err(e) => {
            // queries were expanded for this catalog: a mismatch here is a bug, not bad input
            tracing::error!(error = %e, "scoring a batch failed");
            for job in jobs {
                let _ = job.reply.send(Err(AppError::internal()));
            }
            return;
        }
    };
    let scored = scoring_started.elapsed();
    jobs.into_par_iter()
        .zip(responses)
        .for_each(|(job, response)| {
            let answer = wire::encode_response_parts(&catalog.params, &catalog.reference, response)
                .map(|parts| Scored {
                    encoded: parts.into_iter().collect(),
                    batch,
                    waited: started.saturating_duration_since(job.enqueued),
                    expand,
                    scoring: scored,
                })
                .map_err(|e| {
                    tracing::error!(error = %e, "encoding a response failed");
                    AppError::internal()
                });
            // the caller may have gone (timeout, disconnect): nothing to do then
            let _ = job.reply.send(answer);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_batch: usize, max_wait_ms: u64) -> BatchPolicy {
        BatchPolicy {
            max_batch,
            max_wait: Duration::from_millis(max_wait_ms),
            queue: 64,
        }
    }

    #[test]
    fn only_a_busy_server_opens_a_window_of_an_eighth_of_the_pass_at_most() {
        let pass = Duration::from_millis(80);
        // idle: the last pass was alone and nothing came in during it
        assert_eq!(policy(16, 10).window((1, pass), 0), (1, Duration::ZERO));
        // under load: an eighth of the pass, within the cap
        assert_eq!(
            policy(16, 50).window((6, pass), 0),
            (6, Duration::from_millis(10))
        );
        assert_eq!(
            policy(16, 4).window((6, pass), 0),
            (6, Duration::from_millis(4))
        );
        // the clients just answered and those that came during the pass: a short batch
        // (5 answered, 3 arrived meanwhile) grows back to all 8
        assert_eq!(policy(16, 10).window((5, pass), 3).0, 8);
        assert_eq!(
            policy(16, 10).window((1, pass), 1),
            (2, Duration::from_millis(10))
        );
        // never more than a batch holds; 0 turns the window off
        assert_eq!(policy(4, 50).window((6, pass), 2).0, 4);
        assert_eq!(policy(16, 0).window((6, pass), 0).1, Duration::ZERO);
        // one query at a time never waits
        assert_eq!(policy(1, 50).window((6, pass), 3), (1, Duration::ZERO));
    }
}
