//! What the HTTP client hands back ([`Scores`], [`Recommendations`]), and the catalog version
//! ([`View`]) that scores were decrypted under.

use std::sync::Arc;

use tokio::sync::OnceCell;
use veilrank_core::api::ItemInfo;
use veilrank_core::Hint;

use super::report::Report;
use crate::session::{RankedItem, Session};

/// Decrypted scores of every item.
pub struct Scores {
    /// Exact integer scores, in catalog order.
    pub raw: Vec<i32>,
    /// The query's quantization scale.
    pub query_scale: f32,
    /// Timings and sizes.
    pub report: Report,
    /// The catalog version they were scored on.
    pub(super) view: Arc<View>,
}

impl std::fmt::Debug for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scores")
            .field("items", &self.raw.len())
            .field("query_scale", &self.query_scale)
            .field("report", &self.report)
            .field("content_version", &self.content_version())
            .finish()
    }
}

impl Scores {
    /// The content version of the catalog the scores are for.
    pub fn content_version(&self) -> &str {
        &self.view.session.manifest().content_version
    }
}

/// The answer to [`Client::recommend`].
#[derive(Clone, Debug)]
pub struct Recommendations {
    /// The best items, best first.
    pub items: Vec<RankedItem>,
    /// Timings and sizes.
    pub report: Report,
}

/// One version of the catalog as the client knows it: its session and, once fetched, its items
/// and its hint (each fetched once, however many requests need it at the same time).
pub(super) struct View {
    pub(super) session: Session,
    pub(super) items: OnceCell<Arc<Vec<ItemInfo>>>,
    pub(super) hint: OnceCell<Arc<Hint>>,
}

impl View {
    pub(super) fn new(session: Session) -> Self {
        Self {
            session,
            items: OnceCell::new(),
            hint: OnceCell::new(),
        }
    }
}
