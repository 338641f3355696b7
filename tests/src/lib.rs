//! Helpers for veilrank's end-to-end tests: in-process servers on loopback port 0 with
//! catalogs whose quantization is exact, so results can be compared with plaintext integers.

pub mod gateway;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_server::catalog_file::{RawCatalog, RawItem};
use veilrank_server::catalogs::Catalogs;
use veilrank_server::{Config, RunningServer};

/// A catalog of integer vectors in [-127, 127] in which some value is +-127, so that the
/// catalog's quantization scale is 1 and its quantized values are the integers themselves.
pub fn integer_catalog(dim: usize, values: Vec<i8>) -> RawCatalog {
    assert_eq!(values.len() % dim, 0);
    assert!(
        values.iter().any(|v| v.unsigned_abs() == 127),
        "needs a +-127 for scale 1"
    );
    let items = values
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, row)| RawItem {
            id: format!("i{i}"),
            title: format!("item {i}"),
            vector: row.iter().map(|&v| f32::from(v)).collect(),
        })
        .collect();
    RawCatalog {
        dim,
        items,
        topics: Vec::new(),
    }
}

/// Random values in [-127, 127], the first set to 127.
pub fn random_values(seed: u64, len: usize) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<i8> = (0..len).map(|_| rng.random_range(-127i8..=127)).collect();
    if let Some(first) = v.first_mut() {
        *first = 127;
    }
    v
}

/// The in-process test configuration: a free loopback port, profiles in memory, and precision
/// 8/8, at which [`integer_catalog`]s quantize to themselves (`tests/tests/precision.rs` and the
/// demo's tests cover the wider default).
pub fn test_config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("literal address"),
        precision: veilrank_core::Precision::BASELINE,
        ..Config::demo()
    }
}

/// `base` with the profiles in PostgreSQL, in an empty schema of `test`'s own, when
/// `VEILRANK_TEST_DATABASE` names a database (`.ci/run` starts one); `None` otherwise, said where
/// a reader of the test output sees it. Blocking: call it off the async executor.
pub fn on_postgres(base: Config, test: &str, data_dir: &std::path::Path) -> Option<Config> {
    use std::io::Write;
    let Ok(url) = std::env::var("VEILRANK_TEST_DATABASE") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} on PostgreSQL: VEILRANK_TEST_DATABASE is not set \
             (.ci/run starts a PostgreSQL and sets it)"
        );
        return None;
    };
    let schema = format!("e2e_{test}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("the test database");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("a schema of the test's own");
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}options=-csearch_path%3D{schema}");
    Some(Config {
        ephemeral: false,
        data_dir: data_dir.to_path_buf(),
        database: Some(veilrank_server::store::DatabaseUrl::parse(&url).expect("a valid URL")),
        // the test database's TLS CA (.ci/postgres serves TLS): the server connects over it
        database_ca_file: std::env::var_os("VEILRANK_TEST_DATABASE_CA").map(Into::into),
        ..base
    })
}

/// Starts a server on a free loopback port with `catalog` (id "test") and waits until it is
/// ready.
pub async fn serve(catalog: RawCatalog) -> RunningServer {
    serve_with(&test_config(), catalog).await
}

/// [`serve`] with a configuration of the test's own.
pub async fn serve_with(config: &Config, catalog: RawCatalog) -> RunningServer {
    try_serve_with(config, catalog)
        .await
        .expect("server starts")
}

/// [`serve_with`], its start's error returned (the catalog must be valid).
pub async fn try_serve_with(
    config: &Config,
    catalog: RawCatalog,
) -> Result<RunningServer, veilrank_server::error::ServerError> {
    let params = veilrank_core::V1_128.with_precision(config.precision);
    let catalog = veilrank_server::catalog::ServedCatalog::new("test", catalog, params)
        .expect("valid test catalog")
        .with_pins(config.pins())
        .with_shard(config.shard.unwrap_or_else(veilrank_engine::Shard::whole))
        .expect("a whole catalog takes any shard");
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "test").expect("one catalog");
    let mut server = veilrank_server::start(config, catalogs).await?;
    server.ready().await.expect("catalog prepares");
    Ok(server)
}
