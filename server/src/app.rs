//! The router, and starting and stopping a server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use veilrank_core::V1_128;
use veilrank_engine::Shard;

use crate::audit::Audit;
use crate::auth::{self, AdminKey, ApiKeys};
use crate::batcher::{BatchPolicy, Batcher};
use crate::catalog::ServedCatalog;
use crate::catalogs::Catalogs;
use crate::config::Config;
use crate::connections;
use crate::demo;
use crate::error::{Result, ServerError};
use crate::metrics::{self, Metrics};
use crate::retention;
use crate::routes::{self, ops, Access};
use crate::state::{AppState, Retention};
use crate::store::Store;
use crate::web::{self, WebOptions};

/// The router: every endpoint of [`routes::endpoints`] behind the check its access needs, request
/// metrics, timeouts, tracing. Bodies are limited per route, by the catalog they are for.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let mut router = Router::new();
    for endpoint in routes::endpoints() {
        let handler = match endpoint.access {
            Access::Public => endpoint.handler,
            Access::App => endpoint
                .handler
                .route_layer(from_fn_with_state(state.clone(), auth::require_api_key)),
            Access::Admin => endpoint
                .handler
                .route_layer(from_fn_with_state(state.clone(), auth::require_admin)),
        };
        router = router.route(endpoint.path, handler);
    }
    if state.web.demo_page {
        router = router.merge(web::demo_routes());
    }
    let cors = state.web.cors();
    let router = router
        .fallback(ops::not_found)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(crate::error::uniform_errors))
        .layer(TraceLayer::new_for_http());
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Loads and validates the configured catalogs (files, or the demo catalog); fast, no
/// preparation.
pub fn load_catalogs(config: &Config) -> Result<Catalogs> {
    if !config.upstreams.is_empty() {
        return Ok(Catalogs::none());
    }
    let mut catalogs = Vec::new();
    for source in &config.catalogs {
        let params = V1_128.with_precision(source.precision.unwrap_or(config.precision));
        let mut catalog =
            ServedCatalog::load(&source.id, &source.path, params)?.with_pins(config.pins());
        if let Some(shard) = config.shard {
            catalog = catalog.with_shard(shard)?;
        }
        catalogs.push((catalog, Some(source.path.clone())));
    }
    if catalogs.is_empty() {
        let raw = demo::catalog(config.demo_items);
        catalogs.push((
            ServedCatalog::new(
                demo::CATALOG_ID,
                raw,
                V1_128.with_precision(config.precision),
            )?
            .with_pins(config.pins())
            .with_shard(config.shard.unwrap_or_else(Shard::whole))?,
            None,
        ));
    }
    let default = config
        .default_catalog
        .clone()
        .unwrap_or_else(|| catalogs[0].0.reference.id.clone());
    Catalogs::try_new(catalogs, &default)
}

/// A server running on a tokio task.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (catalogs, profiles).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    purger: JoinHandle<()>,
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
            None if self.state.catalogs.ready() => Ok(()),
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
        self.purger.abort();
        self.task
            .await
            .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
        Ok(())
    }
}

/// Opens the profile store and the audit log the configuration asks for: in memory and the
/// service log; redb and `audit.jsonl` in the data directory; or PostgreSQL for both.
pub fn open_store(config: &Config) -> Result<(Arc<Store>, Audit)> {
    if config.ephemeral {
        return Ok((Arc::new(Store::in_memory()?), Audit::log_only()));
    }
    if let Some(url) = &config.database {
        let store = Arc::new(Store::connect(
            url,
            config.database_connections,
            config.database_ca_file.as_deref(),
        )?);
        let audit = Audit::in_database(store.clone());
        return Ok((store, audit));
    }
    let store = Arc::new(Store::open(&config.data_dir)?);
    let audit = Audit::open(&config.data_dir)?;
    Ok((store, audit))
}

/// The state a server with this configuration runs on: keys, store, audit log, metrics, the
/// scoring gate. The catalogs are not prepared here.
pub fn build_state(config: &Config, catalogs: Catalogs) -> Result<AppState> {
    let api_keys = ApiKeys::load(
        &config.api_keys,
        config.api_keys_file.as_deref(),
        config.rate_limit_per_minute,
    )?;
    let admin_key = match (&config.admin_key, &config.admin_key_file) {
        (Some(key), _) => AdminKey::new(Some(key))?,
        (None, Some(path)) => {
            let key = crate::private_files::read_secret(path).map_err(|e| {
                ServerError::Config(format!(
                    "cannot read the admin key from {}: {e}",
                    path.display()
                ))
            })?;
            AdminKey::new(Some(key.trim()))?
        }
        (None, None) => AdminKey::new(None)?,
    };
    let (store, audit) = open_store(config)?;
    let metrics = Arc::new(Metrics::new());
    let gateway = if config.upstreams.is_empty() {
        None
    } else {
        let timeout = Duration::from_secs(config.request_timeout_secs);
        Some(Arc::new(crate::gateway::Gateway::try_new(
            &config.upstreams,
            config.upstream_timeout,
            timeout,
            metrics.clone(),
        )?))
    };

    // room for a few batches waiting behind the one in progress
    let batcher = Batcher::start(
        BatchPolicy {
            max_batch: config.max_batch,
            max_wait: Duration::from_millis(config.max_batch_wait_ms),
            queue: 4 * config.max_batch.max(16),
        },
        metrics.clone(),
    )
    .map_err(ServerError::Io)?;
    Ok(AppState {
        catalogs: Arc::new(catalogs),
        scoring: Arc::new(Semaphore::new(config.max_concurrent_scores.max(1))),
        queue_timeout: Duration::from_millis(config.queue_timeout_ms),
        batcher: Arc::new(batcher),
        store,
        audit: Arc::new(audit),
        retention: Retention {
            lifetime: config.profile_lifetime,
            idle: config.profile_idle_expiry,
            purge_interval: config.purge_interval,
        },
        api_keys: Arc::new(api_keys),
        admin_key: Arc::new(admin_key),
        metrics,
        web: Arc::new(WebOptions::try_new(
            !config.no_demo_page,
            &config.cors_origins,
        )?),
        gateway,
    })
}

/// Starts a server on `config.addr` (port 0 picks a free port): opens the profile store, binds,
/// serves health at once, prepares the catalogs on the blocking pool (scoring answers 503 until
/// then), and purges expired profiles in the background.
pub async fn start(config: &Config, catalogs: Catalogs) -> Result<RunningServer> {
    // off the executor: opening the store is file or database I/O (and PostgreSQL's client is
    // synchronous)
    let owned = config.clone();
    let state = tokio::task::spawn_blocking(move || build_state(&owned, catalogs))
        .await
        .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    if !state.api_keys.enabled() {
        tracing::warn!("no API keys configured: /v1 is open to anyone who can reach it");
    }
    let catalogs = state.catalogs.clone();
    let prepared = tokio::task::spawn_blocking(move || catalogs.prepare_all());
    let purger = retention::spawn(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(
        state.clone(),
        Duration::from_secs(config.request_timeout_secs),
    );
    let task = tokio::spawn(connections::serve(
        listener,
        app,
        config.connection_limits(),
        async {
            let _ = rx.await;
        },
    ));
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        task,
        purger,
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
    let catalogs = load_catalogs(&config)?;
    let mut server = start(&config, catalogs).await?;
    server.ready().await?;
    Ok(server)
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

/// Reloads every catalog from its file on each SIGHUP, until the process ends.
#[cfg(unix)]
pub fn reload_on_sighup(catalogs: Arc<Catalogs>) -> Result<JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading catalogs");
            let catalogs = catalogs.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || catalogs.reload_all()).await {
                tracing::error!(error = %e, "reload task failed");
            }
        }
    }))
}
