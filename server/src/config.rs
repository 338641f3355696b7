//! Command-line flags, each also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Serve encrypted recommendation scoring over HTTP.
///
/// With no arguments: the embedded demo catalog on 127.0.0.1:8080, profiles stored under
/// ./veilrank-data, no API keys.
#[derive(Parser, Debug, Clone)]
#[command(name = "veilrank-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "VEILRANK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// A catalog to serve, as `PATH`, `ID=PATH` or `ID@PRECISION=PATH` (.jsonl, .ndjson, .csv,
    /// .parquet, or .npy with its .ids; the id defaults to the file's stem; the precision to
    /// `--precision`). Repeat for several catalogs; the demo catalog when none is given.
    #[arg(long = "catalog", env = "VEILRANK_CATALOGS", value_delimiter = ',', value_parser = CatalogSource::parse)]
    pub catalogs: Vec<CatalogSource>,
    /// The catalog the single-catalog routes (`/v1/catalog`, `/v1/score`) serve: the first one
    /// given when absent.
    #[arg(long, env = "VEILRANK_DEFAULT_CATALOG")]
    pub default_catalog: Option<String>,
    /// Value bits of catalogs and of their queries, `CATALOG/QUERY` (each 8 to 16): wider values
    /// rank as float32 does more often, at more server time and response bytes (README,
    /// "Ranking fidelity"; `veilrank-bench fidelity` measures a catalog). 8/8 is what clients
    /// made before precisions speak, and what shards and split catalogs serve.
    #[arg(long, env = "VEILRANK_PRECISION", default_value_t = veilrank_core::Precision::RECOMMENDED)]
    pub precision: veilrank_core::Precision,
    /// Items in the generated demo catalog.
    #[arg(long, env = "VEILRANK_DEMO_ITEMS", default_value_t = crate::demo::DEFAULT_ITEMS)]
    pub demo_items: usize,
    /// Directory of the profile database and the audit log (created if missing).
    #[arg(long, env = "VEILRANK_DATA_DIR", default_value = "veilrank-data")]
    pub data_dir: PathBuf,
    /// Keep profiles in memory only: nothing is written to disk, everything is gone at exit.
    #[arg(long, env = "VEILRANK_EPHEMERAL", conflicts_with = "database")]
    pub ephemeral: bool,
    /// Store profiles and the audit trail in PostgreSQL (`postgres://user:password@host/db`),
    /// shared by every replica, instead of the embedded database and `audit.jsonl` in the data
    /// directory (which is then not used).
    #[arg(long, env = "VEILRANK_DATABASE", value_parser = crate::store::DatabaseUrl::parse)]
    pub database: Option<crate::store::DatabaseUrl>,
    /// PEM file of CA certificates that may sign the database's certificate, besides Mozilla's
    /// roots (a private CA). TLS is used as the URL's `sslmode` says: `sslmode=require` insists
    /// on it; when used, the certificate and host name are always verified.
    #[arg(long, env = "VEILRANK_DATABASE_CA_FILE", requires = "database")]
    pub database_ca_file: Option<PathBuf>,
    /// Connections to PostgreSQL, at most.
    #[arg(long, env = "VEILRANK_DATABASE_CONNECTIONS", default_value_t = 16)]
    pub database_connections: u32,
    /// Longest a stored profile lives, whatever its use (e.g. `30d`, `12h`).
    #[arg(long, env = "VEILRANK_PROFILE_LIFETIME", default_value = "30d", value_parser = humantime::parse_duration)]
    pub profile_lifetime: Duration,
    /// A profile unused for this long expires (e.g. `7d`); off when absent.
    #[arg(long, env = "VEILRANK_PROFILE_IDLE_EXPIRY", value_parser = humantime::parse_duration)]
    pub profile_idle_expiry: Option<Duration>,
    /// How often expired profiles are purged.
    #[arg(long, env = "VEILRANK_PURGE_INTERVAL", default_value = "1m", value_parser = humantime::parse_duration)]
    pub purge_interval: Duration,
    /// File of API keys, one `NAME:KEY[:REQUESTS_PER_MINUTE]` per line (`#` comments).
    #[arg(long, env = "VEILRANK_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// API keys, comma-separated `NAME:KEY[:REQUESTS_PER_MINUTE]`; with none (here or in a
    /// file) `/v1` is open to anyone. Prefer the file or the environment: other local users can
    /// read a command line.
    #[arg(
        long,
        env = "VEILRANK_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Requests per minute each API key may make, unless its entry says otherwise.
    #[arg(long, env = "VEILRANK_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,
    /// Key for the `/admin` routes (catalog reload); the admin routes are off without one.
    /// Prefer the file or the environment: other local users can read a command line.
    #[arg(long, env = "VEILRANK_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// File holding the key for the `/admin` routes (white space around it dropped).
    #[arg(long, env = "VEILRANK_ADMIN_KEY_FILE", conflicts_with = "admin_key")]
    pub admin_key_file: Option<PathBuf>,
    /// The scoring kernel (ifma, avx2, neon, portable) instead of the fastest this CPU runs: to
    /// compare kernels on one machine, or to rule one out. Startup fails where it cannot run.
    #[arg(long, env = "VEILRANK_KERNEL")]
    pub kernel: Option<veilrank_engine::Kernel>,
    /// The modulus every catalog is scored under (ifma50, crt54, wide62) instead of the one the
    /// kernel computes fastest under (ifma50 with AVX-512 IFMA, crt54 elsewhere) among those its
    /// noise allows. Pin it on every shard of a fleet of mixed CPUs (their gateway joins their
    /// hints, which must agree) and for clients from before crt54. Startup fails where the
    /// catalog's noise does not fit it or the kernel does not cover it.
    #[arg(long, env = "VEILRANK_MODULUS")]
    pub modulus: Option<veilrank_core::ntt::ServerPrime>,
    /// Serve only shard K of S (`K/S`, K from 0) of every catalog, behind a gateway
    /// (`--upstream`): the whole file is read (every shard needs the whole catalog's scale and
    /// version), only the shard's blocks are prepared and scored.
    #[arg(long, env = "VEILRANK_SHARD")]
    pub shard: Option<veilrank_engine::Shard>,
    /// Run as a gateway in front of shard servers (`--shard K/S`) instead of serving catalog
    /// files: one `--upstream` per shard, in shard order, each the comma-separated base URLs of
    /// that shard's replicas (`VEILRANK_UPSTREAMS`: shards separated by `;`).
    #[arg(
        long = "upstream",
        env = "VEILRANK_UPSTREAMS",
        value_delimiter = ';',
        value_parser = crate::gateway::Upstream::parse,
        conflicts_with_all = ["catalogs", "shard"]
    )]
    pub upstreams: Vec<crate::gateway::Upstream>,
    /// How long a gateway waits for a shard replica to start answering (to score, and to send
    /// its response's head) before it tries the shard's next replica; also bounds connecting.
    #[arg(long, env = "VEILRANK_UPSTREAM_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: Duration,
    /// Write every `--catalog` cut in `--split-shards` parts into this directory, then exit:
    /// per part a `.npy`, its `.ids` and a `.part.json` sidecar, which a shard serves with
    /// `--catalog ID=DIR/ID.K-of-S.npy`, reading only its part.
    #[arg(long, env = "VEILRANK_SPLIT_INTO", requires = "split_shards")]
    pub split_into: Option<PathBuf>,
    /// How many parts `--split-into` cuts each catalog in.
    #[arg(long, env = "VEILRANK_SPLIT_SHARDS", requires = "split_into")]
    pub split_shards: Option<usize>,
    /// Queries decoded at once (profile reads and uploads); the rest wait in line.
    #[arg(long, env = "VEILRANK_MAX_CONCURRENT_SCORES", default_value_t = 2)]
    pub max_concurrent_scores: usize,
    /// Most queries scored together in one pass over a catalog (1: one at a time).
    #[arg(long, env = "VEILRANK_MAX_BATCH", default_value_t = 16)]
    pub max_batch: usize,
    /// Longest a busy server holds a pass open for queries still arriving, in milliseconds
    /// (never more than an eighth of the last pass; 0: never).
    #[arg(long, env = "VEILRANK_MAX_BATCH_WAIT_MS", default_value_t = 10)]
    pub max_batch_wait_ms: u64,
    /// Milliseconds a query waits for a scoring slot before it gets 503.
    #[arg(long, env = "VEILRANK_QUEUE_TIMEOUT_MS", default_value_t = 10_000)]
    pub queue_timeout_ms: u64,
    /// Seconds a request may take in all before it gets 408.
    #[arg(long, env = "VEILRANK_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Connections open at once; more wait to be accepted. Keep it under the open-file limit
    /// (`ulimit -n`; the server raises its soft limit to the hard one).
    #[arg(long, env = "VEILRANK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// The longest a request's headers may take to arrive, counted from the connection's opening
    /// or its previous response (so also how long a kept-alive connection may sit idle).
    #[arg(long, env = "VEILRANK_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Do not serve the demo page (`/demo/`, where a browser encrypts, the server scores and the
    /// browser decrypts).
    #[arg(long, env = "VEILRANK_NO_DEMO_PAGE")]
    pub no_demo_page: bool,
    /// An origin (`https://app.example.com`, or `*` for any) whose pages may call `/v1` from a
    /// browser; repeat for several. Without any, browsers allow only the server's own origin.
    #[arg(
        long = "cors-origin",
        env = "VEILRANK_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
}

/// Where a catalog comes from: `ID@PRECISION=PATH`, `ID=PATH` or `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSource {
    /// The catalog's id.
    pub id: String,
    /// Its file.
    pub path: PathBuf,
    /// Its precision, when not the server's `--precision`.
    pub precision: Option<veilrank_core::Precision>,
}

impl CatalogSource {
    /// Parses `ID@PRECISION=PATH`, `ID=PATH` or `PATH` (the id is then the file's stem).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut precision = None;
        let (id, path) = match s.split_once('=') {
            Some((id, path)) => {
                let id = match id.split_once('@') {
                    Some((id, p)) => {
                        precision = Some(p.parse().map_err(|e| format!("catalog {id:?}: {e}"))?);
                        id
                    }
                    None => id,
                };
                (id.to_string(), PathBuf::from(path))
            }
            None => {
                let path = PathBuf::from(s);
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .ok_or_else(|| format!("{s:?} has no file name to take an id from"))?
                    .to_string();
                (stem, path)
            }
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "catalog id {id:?} must be letters, digits, '-', '_' or '.'"
            ));
        }
        if path.as_os_str().is_empty() {
            return Err(format!("catalog {id:?} has an empty path"));
        }
        Ok(Self {
            id,
            path,
            precision,
        })
    }
}

impl Config {
    /// The kernel and modulus every catalog is prepared on.
    pub fn pins(&self) -> veilrank_engine::Pins {
        veilrank_engine::Pins::NONE
            .with_kernel(self.kernel)
            .with_modulus(self.modulus)
    }

    /// The connection limit and the header timeout.
    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
        }
    }

    /// The defaults, as if run with no arguments and no environment, except that profiles are
    /// kept in memory: what the in-process demo and tests start from.
    pub fn demo() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            catalogs: Vec::new(),
            default_catalog: None,
            precision: veilrank_core::Precision::RECOMMENDED,
            demo_items: crate::demo::DEFAULT_ITEMS,
            data_dir: PathBuf::from("veilrank-data"),
            ephemeral: true,
            database: None,
            database_connections: 16,
            database_ca_file: None,
            profile_lifetime: Duration::from_secs(30 * 24 * 3600),
            profile_idle_expiry: None,
            purge_interval: Duration::from_secs(60),
            api_keys_file: None,
            api_keys: Vec::new(),
            rate_limit_per_minute: 600,
            admin_key: None,
            admin_key_file: None,
            kernel: None,
            modulus: None,
            shard: None,
            upstreams: Vec::new(),
            split_into: None,
            split_shards: None,
            upstream_timeout: Duration::from_secs(10),
            max_concurrent_scores: 2,
            max_batch: 16,
            max_batch_wait_ms: 10,
            queue_timeout_ms: 10_000,
            request_timeout_secs: 60,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            no_demo_page: false,
            cors_origins: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_sources_parse() {
        assert_eq!(
            CatalogSource::parse("films=/data/f.csv").unwrap(),
            CatalogSource {
                id: "films".into(),
                path: "/data/f.csv".into(),
                precision: None,
            }
        );
        let wide = CatalogSource::parse("films@12/10=/data/f.npy").unwrap();
        assert_eq!(
            (wide.id.as_str(), wide.precision.map(|p| p.to_string())),
            ("films", Some("12/10".into()))
        );
        assert!(CatalogSource::parse("films@12/20=/data/f.npy").is_err());
        assert!(CatalogSource::parse("films@=/data/f.npy").is_err());
        assert_eq!(
            CatalogSource::parse("/data/books.jsonl").unwrap().id,
            "books"
        );
        assert!(CatalogSource::parse("bad id=/x.csv").is_err());
        assert!(CatalogSource::parse("x=").is_err());
    }

    #[test]
    fn the_defaults_parse() {
        let config = Config::try_parse_from(["veilrank-server"]).unwrap();
        assert_eq!(config.profile_lifetime, Duration::from_secs(30 * 24 * 3600));
        assert!(!config.ephemeral);
        assert_eq!(config.data_dir, PathBuf::from("veilrank-data"));
    }
}
