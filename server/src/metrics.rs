//! Prometheus metrics: requests by route and status, latency, the scoring queue, profiles stored,
//! catalog sizes, the process's peak memory. Labels are route templates (`/v1/profiles/{id}`),
//! never ids or content.

use std::sync::atomic::AtomicI64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// The response status.
    pub status: String,
}

/// Labels of a route's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template.
    pub route: String,
}

/// Labels of a catalog.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CatalogLabels {
    /// The catalog's id.
    pub catalog: String,
}

/// Labels of a profile event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// The event (created, scored, ...).
    pub event: String,
}

/// Labels of a shard behind a gateway.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    /// The shard's index.
    pub shard: String,
}

/// Labels of a gateway's refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Its error code (shard_unavailable, catalog_changing, bad_upstream).
    pub reason: String,
}

/// Every metric, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    /// Queries waiting for a scoring slot.
    pub queue_depth: Gauge<i64, AtomicI64>,
    /// Scoring jobs running.
    pub scoring: Gauge<i64, AtomicI64>,
    /// Requests refused by a rate limit.
    pub rate_limited: Counter,
    /// Queries per pass over a catalog (micro-batching).
    pub batch_size: Histogram,
    /// Profile lifecycle events.
    pub profile_events: Family<EventLabels, Counter>,
    profiles: Gauge<i64, AtomicI64>,
    catalog_items: Family<CatalogLabels, Gauge<i64, AtomicI64>>,
    catalog_dimension: Family<CatalogLabels, Gauge<i64, AtomicI64>>,
    peak_resident: Gauge<i64, AtomicI64>,
    /// A gateway's requests to a shard replica that failed (each then tried on the next).
    pub replica_failures: Family<ShardLabels, Counter>,
    /// A gateway's requests answered with its own 5xx, by code.
    pub gateway_refusals: Family<ReasonLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("veilrank");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let peak_resident = Gauge::default();
        registry.register(
            "process_peak_resident_bytes",
            "Peak resident memory of the server process since it started (Linux VmHWM)",
            peak_resident.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "scoring_queue_depth",
            "Queries waiting for a scoring slot",
            queue_depth.clone(),
        );
        let scoring = Gauge::default();
        registry.register(
            "scoring_in_progress",
            "Scoring jobs running",
            scoring.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused because their API key was over its rate limit",
            rate_limited.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "scoring_batch_size",
            "Queries scored together in one pass over a catalog",
            batch_size.clone(),
        );
        let profile_events = Family::<EventLabels, Counter>::default();
        registry.register(
            "profile_events",
            "Profile lifecycle events (created, scored, replaced, deleted, expired)",
            profile_events.clone(),
        );
        let profiles = Gauge::default();
        registry.register(
            "profiles_stored",
            "Encrypted profiles stored",
            profiles.clone(),
        );
        let catalog_items = Family::<CatalogLabels, Gauge<i64, AtomicI64>>::default();
        registry.register("catalog_items", "Items per catalog", catalog_items.clone());
        let catalog_dimension = Family::<CatalogLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "catalog_dimension",
            "Vector dimension per catalog",
            catalog_dimension.clone(),
        );
        let replica_failures = Family::<ShardLabels, Counter>::default();
        registry.register(
            "gateway_replica_failures",
            "Requests of a gateway to a shard replica that failed (refused, timed out, 5xx)",
            replica_failures.clone(),
        );
        let gateway_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "gateway_refusals",
            "Requests a gateway answered with its own 5xx, by error code",
            gateway_refusals.clone(),
        );
        Self {
            replica_failures,
            gateway_refusals,
            registry,
            requests,
            latency,
            queue_depth,
            scoring,
            rate_limited,
            batch_size,
            profile_events,
            profiles,
            catalog_items,
            catalog_dimension,
            peak_resident,
        }
    }

    /// Counts a profile event.
    pub fn profile_event(&self, event: crate::audit::Event) {
        self.profile_events
            .get_or_create(&EventLabels {
                event: event.name().into(),
            })
            .inc();
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, state: &AppState) -> String {
        match state.store.count() {
            Ok(n) => {
                self.profiles.set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::error!(error = %e, "cannot count profiles"),
        }
        for catalog in state.catalogs.all() {
            let labels = CatalogLabels {
                catalog: catalog.reference.id.clone(),
            };
            self.catalog_items
                .get_or_create(&labels)
                .set(i64::try_from(catalog.item_count()).unwrap_or(i64::MAX));
            self.catalog_dimension
                .get_or_create(&labels)
                .set(i64::try_from(catalog.dim).unwrap_or(i64::MAX));
        }
        if let Some(bytes) = peak_resident_bytes() {
            self.peak_resident
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot render metrics");
        }
        out
    }
}

/// This process's peak resident set (`VmHWM`), in bytes; `None` where `/proc` does not say.
/// Capacity studies against a running server read it from `/metrics`: a harness on another
/// process cannot see the server's memory otherwise.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Middleware of every route: counts the request and times it under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}
