//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::audit::Audit;
use crate::auth::{AdminKey, ApiKeys};
use crate::batcher::Batcher;
use crate::catalogs::Catalogs;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::web::WebOptions;

/// How long stored profiles live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Longest a profile lives, whatever its use.
    pub lifetime: Duration,
    /// A profile unused for this long expires.
    pub idle: Option<Duration>,
    /// How often expired profiles are purged.
    pub purge_interval: Duration,
}

/// Shared state: catalogs, profiles, access, and the gate in front of the CPU-heavy scoring.
#[derive(Clone)]
pub struct AppState {
    /// The served catalogs.
    pub catalogs: Arc<Catalogs>,
    /// Permits for concurrent blocking jobs (decoding queries, profile I/O).
    pub scoring: Arc<Semaphore>,
    /// How long a request waits for a permit before it is told to come back.
    pub queue_timeout: Duration,
    /// Where decoded queries go to be expanded and scored, in batches while the server is busy.
    pub batcher: Arc<Batcher>,
    /// Stored profiles.
    pub store: Arc<Store>,
    /// The audit log of profile events.
    pub audit: Arc<Audit>,
    /// The retention policy.
    pub retention: Retention,
    /// The apps that may call `/v1`.
    pub api_keys: Arc<ApiKeys>,
    /// The key of `/admin`.
    pub admin_key: Arc<AdminKey>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The demo page and CORS.
    pub web: Arc<WebOptions>,
    /// In the gateway role, the shards that hold the catalogs (`catalogs` is then empty).
    pub gateway: Option<Arc<crate::gateway::Gateway>>,
}
