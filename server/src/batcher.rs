//! Micro-batching: concurrent queries against one catalog version share one pass over it.
//!
//! Scoring one query streams the whole prepared catalog from memory (8 bytes per item-feature),
//! and the arithmetic per query is small next to that. One worker thread takes every query that
//! is waiting when it becomes free (up to `max_batch`), scores those of the same catalog version
//! together ([`PreparedCatalog::score_batch`](veilrank_core::PreparedCatalog::score_batch)) on the
//! rayon pool, and answers each. Nothing waits on purpose: a query that arrives at an idle
//! server is scored at once, alone; batches form only while the server is busy, which is when
//! they pay. Each response depends on its own query only.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rayon::prelude::*;
use tokio::sync::oneshot;
use veilrank_core::query::ExpandedQuery;
use veilrank_core::wire;

use crate::catalog::ServedCatalog;
use crate::error::AppError;
use crate::metrics::Metrics;

/// Scored, encoded, and how it went.
#[derive(Debug)]
pub struct Scored {
    /// The encoded response message.
    pub encoded: Vec<u8>,
    /// Queries scored in the same pass.
    pub batch: usize,
    /// Time spent waiting for the worker (a batch in progress).
    pub waited: Duration,
    /// Time of the pass over the catalog, shared by the batch (encoding not included).
    pub scoring: Duration,
}

struct Job {
    catalog: Arc<ServedCatalog>,
    query: ExpandedQuery,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Scored, AppError>>,
}

/// The handle the request handlers send queries through.
pub struct Batcher {
    sender: SyncSender<Job>,
}

impl Batcher {
    /// Starts the worker thread. At most `max_batch` queries share a pass; at most `queue`
    /// wait, and beyond that a query is told to come back (503).
    pub fn start(max_batch: usize, queue: usize, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(queue.max(1));
        std::thread::Builder::new()
            .name("veilrank-batcher".into())
            .spawn(move || work(&receiver, max_batch.max(1), &metrics))?;
        Ok(Self { sender })
    }

    /// Scores an expanded query against `catalog` (the version it was expanded for).
    pub async fn score(
        &self,
        catalog: Arc<ServedCatalog>,
        query: ExpandedQuery,
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
fn work(receiver: &Receiver<Job>, max_batch: usize, metrics: &Metrics) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
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
    let queries: Vec<&ExpandedQuery> = jobs.iter().map(|j| &j.query).collect();
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
    let scored = started.elapsed();
    jobs.into_par_iter()
        .zip(responses)
        .for_each(|(job, response)| {
            let answer = wire::encode_response(&catalog.params, &catalog.reference, &response)
                .map(|encoded| Scored {
                    encoded,
                    batch,
                    waited: started.saturating_duration_since(job.enqueued),
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
