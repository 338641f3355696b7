//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::catalog::ServedCatalog;

/// Shared state: the catalog and the gate in front of the CPU-heavy scoring.
#[derive(Clone)]
pub struct AppState {
    /// The served catalog.
    pub catalog: Arc<ServedCatalog>,
    /// Permits for concurrent scoring jobs; each job already uses every core.
    pub scoring: Arc<Semaphore>,
    /// How long a request waits for a permit before it is told to come back.
    pub queue_timeout: Duration,
}
