//! `veilrank-server`: serve a catalog (the demo catalog by default) until SIGTERM or Ctrl-C.

use clap::Parser;
use tracing_subscriber::EnvFilter;
use veilrank_server::{app, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veilrank-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), veilrank_server::ServerError> {
    let catalog = app::load_catalog(&config)?;
    let mut server = app::start(&config, catalog).await?;
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
