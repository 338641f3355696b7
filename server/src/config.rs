//! Command-line flags, each also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Serve encrypted recommendation scoring over HTTP.
///
/// With no arguments: the embedded demo catalog on 127.0.0.1:8080.
#[derive(Parser, Debug, Clone)]
#[command(name = "veilrank-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "VEILRANK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Catalog file (.jsonl, .ndjson or .csv); the demo catalog when absent.
    #[arg(long, env = "VEILRANK_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Catalog id (default: the file's stem, or "demo").
    #[arg(long, env = "VEILRANK_CATALOG_ID")]
    pub catalog_id: Option<String>,
    /// Items in the generated demo catalog.
    #[arg(long, env = "VEILRANK_DEMO_ITEMS", default_value_t = crate::demo::DEFAULT_ITEMS)]
    pub demo_items: usize,
    /// Scoring jobs run at once (each uses every core); the rest wait in line.
    #[arg(long, env = "VEILRANK_MAX_CONCURRENT_SCORES", default_value_t = 2)]
    pub max_concurrent_scores: usize,
    /// Milliseconds a query waits for a scoring slot before it gets 503.
    #[arg(long, env = "VEILRANK_QUEUE_TIMEOUT_MS", default_value_t = 10_000)]
    pub queue_timeout_ms: u64,
    /// Seconds a request may take in all before it gets 408.
    #[arg(long, env = "VEILRANK_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
}

impl Config {
    /// The defaults, as if run with no arguments and no environment.
    pub fn demo() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            catalog: None,
            catalog_id: None,
            demo_items: crate::demo::DEFAULT_ITEMS,
            max_concurrent_scores: 2,
            queue_timeout_ms: 10_000,
            request_timeout_secs: 60,
        }
    }
}
