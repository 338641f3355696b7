//! The router, and starting and stopping a server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use veilrank_core::V1_128;

use crate::catalog::ServedCatalog;
use crate::catalog_file::{self, RawCatalog};
use crate::config::Config;
use crate::demo;
use crate::error::{Result, ServerError};
use crate::routes;
use crate::state::AppState;

/// The router: routes, body limit sized to the largest legal query, timeouts, tracing.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let body_limit = state.catalog.query_size_limit();
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/v1/catalog", get(routes::manifest))
        .route("/v1/catalog/items", get(routes::items))
        .route(
            "/v1/score",
            post(routes::score).layer(DefaultBodyLimit::max(body_limit)),
        )
        .fallback(routes::not_found)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Loads the configured catalog (file or demo) and validates it; fast, no preparation.
pub fn load_catalog(config: &Config) -> Result<ServedCatalog> {
    let (id, raw): (String, RawCatalog) = match &config.catalog {
        Some(path) => {
            let raw = catalog_file::load(path)?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("catalog")
                .to_string();
            (config.catalog_id.clone().unwrap_or(stem), raw)
        }
        None => (
            config
                .catalog_id
                .clone()
                .unwrap_or_else(|| demo::CATALOG_ID.to_string()),
            demo::catalog(config.demo_items),
        ),
    };
    ServedCatalog::new(&id, raw, V1_128)
}

/// A server running on a tokio task.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (the catalog).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// The preparation task, until someone has waited for it.
    prepared: Option<JoinHandle<Result<()>>>,
}

impl RunningServer {
    /// The base URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the catalog is prepared; fails if preparation failed.
    pub async fn ready(&mut self) -> Result<()> {
        match self.prepared.take() {
            Some(task) => task
                .await
                .map_err(|e| ServerError::Io(std::io::Error::other(e)))?,
            None if self.state.catalog.prepared().is_some() => Ok(()),
            None => Err(ServerError::Io(std::io::Error::other(
                "catalog preparation failed earlier",
            ))),
        }
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
        Ok(())
    }
}

/// Starts a server on `config.addr` (port 0 picks a free port): binds, serves health at once,
/// prepares the catalog on the blocking pool, and serves scoring once it is ready.
pub async fn start(config: &Config, catalog: ServedCatalog) -> Result<RunningServer> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let state = AppState {
        catalog: Arc::new(catalog),
        scoring: Arc::new(Semaphore::new(config.max_concurrent_scores.max(1))),
        queue_timeout: Duration::from_millis(config.queue_timeout_ms),
    };
    let catalog = state.catalog.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        tracing::info!(
            catalog = %catalog.reference.id,
            items = catalog.items.len(),
            dim = catalog.dim,
            "preparing catalog"
        );
        let prepared = catalog
            .prepare()
            .inspect_err(|e| tracing::error!(error = %e, "catalog preparation failed"))?;
        tracing::info!(
            catalog = %catalog.reference.id,
            version = %catalog.reference.version.to_hex(),
            prime = prepared.noise_plan().prime.name(),
            response_bits = prepared.noise_plan().response_bits,
            log2_failure = prepared.noise_plan().log2_failure,
            prepared_mb = prepared.prepared_bytes() as f64 / 1e6,
            ms = started.elapsed().as_millis() as u64,
            "catalog ready"
        );
        Ok(())
    });
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(
        state.clone(),
        Duration::from_secs(config.request_timeout_secs),
    );
    let task = tokio::spawn(serve(listener, app, async {
        let _ = rx.await;
    }));
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        task,
        prepared: Some(prepared),
    })
}

/// Starts the demo catalog with `items` items on a free loopback port and waits until it is
/// ready: what `veilrank demo` and the tests run.
pub async fn start_demo_on_loopback(items: usize) -> Result<RunningServer> {
    let config = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        demo_items: items,
        ..Config::demo()
    };
    let catalog = load_catalog(&config)?;
    let mut server = start(&config, catalog).await?;
    server.ready().await?;
    Ok(server)
}

/// Serves until `shutdown` resolves, then drains requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
