//! `veilrank-server`: serve a catalog (the demo catalog by default) until SIGTERM or Ctrl-C.

use std::io::IsTerminal;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;
use veilrank_server::{app, Config};

/// mimalloc rather than the system allocator, which gave the megabytes a query allocates
/// (expanded query, accumulators, response blocks) back and faulted them in again for the next
/// query. At 1M x 64 with one client the server's time per query fell from 27.4 to 22-23 ms:
/// `veilrank-bench latency --items 1000000 --dim 64 --concurrency 1 --queries 20 --no-naive`,
/// built with and without the `system-allocator` feature. That feature is for the comparison.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // logs on stderr, coloured only for a person at a terminal
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let matches = Config::command().get_matches();
    let config = match Config::from_arg_matches(&matches) {
        Ok(config) => config,
        Err(e) => e.exit(),
    };
    for (flag, id) in [("--api-keys", "api_keys"), ("--admin-key", "admin_key")] {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            tracing::warn!(
                "{flag} on the command line is readable by every local user (/proc/PID/cmdline): \
                 use its file option or environment variable"
            );
        }
    }
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veilrank-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), veilrank_server::ServerError> {
    if let (Some(dir), Some(shards)) = (&config.split_into, config.split_shards) {
        return split(&config, dir, shards);
    }
    raise_open_file_limit(config.max_connections);
    let catalogs = app::load_catalogs(&config)?;
    let mut server = app::start(&config, catalogs).await?;
    #[cfg(unix)]
    let _reloader = app::reload_on_sighup(server.state.catalogs.clone())?;
    tracing::info!(url = %server.url(), "listening");
    tokio::select! {
        ready = server.ready() => {
            ready?;
            app::shutdown_signal().await;
        }
        () = app::shutdown_signal() => {}
    }
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

/// `--split-into`: each catalog file cut in parts for shards that read only their own.
fn split(
    config: &Config,
    dir: &std::path::Path,
    shards: usize,
) -> Result<(), veilrank_server::ServerError> {
    if config.catalogs.is_empty() {
        return Err(veilrank_server::ServerError::Config(
            "--split-into needs the catalogs to split (--catalog)".into(),
        ));
    }
    for source in &config.catalogs {
        // at the precision the catalog is served at: its parts are served at it too
        let precision = source.precision.unwrap_or(config.precision);
        let catalog = veilrank_server::catalog::ServedCatalog::load(
            &source.id,
            &source.path,
            veilrank_core::V1_128.with_precision(precision),
        )?;
        for part in veilrank_server::catalog_part::split(&catalog, shards, dir)? {
            println!("{}", part.display());
        }
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard one: each connection holds a descriptor, and
/// 1,024 (a common soft limit) is the default connection limit alone.
fn raise_open_file_limit(max_connections: usize) {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + 64 => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit is too low for --max-connections: raise it (ulimit -n) or lower \
             --max-connections, or connections will fail to be accepted"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}
