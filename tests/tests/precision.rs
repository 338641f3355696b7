//! Catalogs at a wider precision over real HTTP through the SDK: exact scores of the wide values,
//! the manifest stating the precision, and clients or stored profiles of another precision
//! refused with a typed error.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_client::{Client, ClientError, SecretKey, Session};
use veilrank_core::quantize::quantize_bits;
use veilrank_core::{plain, wire, Encryptor, Precision, V1_128};
use veilrank_e2e::{serve_with, test_config};
use veilrank_server::catalog_file::{RawCatalog, RawItem};
use veilrank_server::{Config, RunningServer};

fn float_catalog(seed: u64, dim: usize, items: usize) -> RawCatalog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    RawCatalog {
        dim,
        items: (0..items)
            .map(|i| RawItem {
                id: format!("i{i}"),
                title: format!("item {i}"),
                vector: (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
            })
            .collect(),
        topics: Vec::new(),
    }
}

fn wide() -> Precision {
    "12/10".parse().unwrap()
}

fn config_at(precision: Precision) -> Config {
    Config {
        precision,
        ..test_config()
    }
}

/// The plaintext scores of `prefs` at the served catalog's precision.
fn expected(server: &RunningServer, prefs: &[f32]) -> Vec<i32> {
    let catalog = server.state.catalogs.default_catalog();
    let precision = catalog.params.precision;
    let query = quantize_bits(prefs, precision.query_bits()).unwrap();
    plain::item_scores(precision, catalog.quantized(), catalog.dim, &query.values)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_catalog_scores_exactly_over_http() {
    let (dim, items) = (24, 4096);
    let server = serve_with(&config_at(wide()), float_catalog(1, dim, items)).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let manifest = client.manifest();
    assert_eq!(manifest.precision, wide());
    assert_eq!(
        (
            manifest.quantization.bound,
            manifest.quantization.query_bound
        ),
        (2047, 511)
    );
    assert_eq!(manifest.item_count, items);
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..3 {
        let prefs: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let scores = client.score(&key, &prefs).await.unwrap();
        assert_eq!(scores.raw, expected(&server, &prefs));
        // the wide values are in use: some score is beyond what 8/8 values can reach
        assert!(scores
            .raw
            .iter()
            .any(|s| s.unsigned_abs() > (dim * 127 * 127) as u32));
    }
    // the same catalog at 8/8: half the rows (2 blocks against 4), so half the hint
    let narrow = serve_with(&test_config(), float_catalog(1, dim, items)).await;
    let narrow_client = Client::connect(&narrow.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let ratio = manifest.hint_bytes as f64 / narrow_client.manifest().hint_bytes as f64;
    assert!((1.9..=2.1).contains(&ratio), "hint ratio {ratio}");
    // the rounded hint the SDK downloads: noise.hint_bits per coefficient instead of 7 bytes
    let bits = manifest.noise.hint_bits.unwrap();
    let rounded = manifest.rounded_hint_bytes.unwrap();
    assert!(bits < 40, "{bits}");
    assert!(
        rounded < manifest.hint_bytes * 6 / 10,
        "{rounded} against {}",
        manifest.hint_bytes
    );
    narrow.shutdown().await.unwrap();
    server.shutdown().await.unwrap();
}

/// A client made before precisions knows only the 8/8 fingerprint: it refuses the manifest with
/// its typed parameter mismatch, and a query it encrypts is refused by the server with 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_client_is_refused_with_a_typed_error() {
    let dim = 8;
    let server = serve_with(&config_at(wide()), float_catalog(3, dim, 100)).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let mut old = client.manifest();
    // what a client before precisions decodes: no precision field, so 8/8
    old.precision = Precision::BASELINE;
    assert!(matches!(
        Session::new(old.clone()),
        Err(ClientError::ParameterMismatch { .. })
    ));
    let key = SecretKey::generate(&V1_128).unwrap();
    let query = Encryptor::new(&V1_128, dim)
        .unwrap()
        .encrypt(&key, &[1i8; 8])
        .unwrap();
    let catalog = Session::new(client.manifest()).unwrap().catalog().clone();
    let body = wire::encode_query(&V1_128, &catalog, &query).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/score", server.url()))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let text = response.text().await.unwrap();
    assert!(text.contains("parameter_mismatch"), "{text}");
    server.shutdown().await.unwrap();
}

/// [`serve_with`] once the previous server's tasks have let go of the profile database (they
/// end shortly after its shutdown returns).
async fn serve_once_released(config: &Config, raw: RawCatalog) -> RunningServer {
    for _ in 0..100 {
        match veilrank_e2e::try_serve_with(config, raw.clone()).await {
            Ok(server) => return server,
            Err(e) if e.to_string().contains("already open") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the profile database stayed locked for 5 s after the first server's shutdown");
}

/// A profile stored while the catalog was 8/8 cannot be scored once the server serves it at
/// 12/10 (its Delta would be wrong): a typed error, and the profile can be replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_of_another_precision_is_incompatible_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 8;
    let persistent = |precision| Config {
        ephemeral: false,
        data_dir: dir.path().to_path_buf(),
        ..config_at(precision)
    };
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs = vec![0.5f32; dim];
    let first = serve_with(&persistent(Precision::BASELINE), float_catalog(4, dim, 50)).await;
    let client = Client::connect(&first.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let mut profile = client.create_profile(&key, &prefs).await.unwrap();
    let addr = first.addr;
    first.shutdown().await.unwrap();

    let again = Config {
        addr,
        ..persistent(wide())
    };
    let second = serve_once_released(&again, float_catalog(4, dim, 50)).await;
    let client = Client::connect(&second.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let refused = client.score_profile(&profile, &key).await;
    assert!(
        matches!(refused, Err(ClientError::ProfileIncompatible { .. })),
        "{refused:?}"
    );
    client
        .replace_profile(&mut profile, &key, &prefs)
        .await
        .unwrap();
    let scores = client.score_profile(&profile, &key).await.unwrap();
    assert_eq!(scores.raw, expected(&second, &prefs));
    second.shutdown().await.unwrap();
}

/// The gateway in front of `single`'s catalog at 12/10 answers as `single` does, byte for byte:
/// the manifest, both hints, a page of items (`page`), and the SDK's query of `prefs`, whose
/// scores through the gateway are the plaintext ones. Returns the gateway's client and those
/// scores.
async fn answers_as_the_single_server(
    gw: &RunningServer,
    single: &RunningServer,
    page: &str,
    key: &Arc<SecretKey>,
    prefs: &[f32],
) -> (Client, Vec<i32>) {
    use veilrank_e2e::gateway::{assert_same_answers, post_query};
    let items = format!("/v1/catalogs/test/items?{page}");
    let paths = [
        "/v1/catalogs/test",
        "/v1/catalogs/test/hint",
        "/v1/catalogs/test/hint?form=rounded",
        items.as_str(),
    ];
    assert_same_answers(&gw.url(), &single.url(), &paths).await;
    let client = Client::connect(&gw.url(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(client.manifest().precision, wide());
    let query = Session::new(client.manifest())
        .unwrap()
        .encrypt(key, prefs)
        .unwrap();
    let (status, from_gateway, _) = post_query(&gw.url(), query.body.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&from_gateway));
    assert_eq!(from_gateway, post_query(&single.url(), query.body).await.1);
    let scores = client.score(key, prefs).await.unwrap();
    assert_eq!(scores.raw, expected(single, prefs));
    (client, scores.raw)
}

/// A wide catalog behind a gateway: three shards at 12/10 (whole blocks of rows, so whole items),
/// and the gateway answers the manifest, the hint, the items and every response byte for byte
/// as a single server at 12/10; the SDK's scores through it, and a stored profile's, are the
/// plaintext ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_catalog_behind_a_gateway_answers_as_a_single_server() {
    use veilrank_e2e::gateway::get;
    let (dim, items) = (16, 3 * 2048 + 100);
    let raw = float_catalog(7, dim, items);
    let single = serve_with(&config_at(wide()), raw.clone()).await;
    let mut shards = Vec::new();
    for k in 0..3 {
        let config = Config {
            shard: Some(veilrank_engine::Shard::try_new(k, 3).unwrap()),
            ..config_at(wide())
        };
        shards.push(serve_with(&config, raw.clone()).await);
    }
    let upstreams: Vec<String> = shards.iter().map(RunningServer::url).collect();
    let gw = veilrank_e2e::gateway::gateway(&upstreams).await;
    let (_, shard_manifest, _) = get(&format!("{}/v1/catalogs/test", shards[2].url())).await;
    let shard_manifest: veilrank_core::api::Manifest =
        serde_json::from_slice(&shard_manifest).unwrap();
    // the last shard's part, in items: 6,244 rows of 2 limbs from row 8,192 on
    let part = shard_manifest.shard.unwrap();
    assert_eq!((part.first_item, part.items), (4096, items - 4096));
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
    let (client, scores) =
        answers_as_the_single_server(&gw, &single, "offset=4090&limit=20", &key, &prefs).await;
    // a profile stored at the gateway, checked against the shards' precision, scored on them
    let profile = client.create_profile(&key, &prefs).await.unwrap();
    let stored = client.score_profile(&profile, &key).await.unwrap();
    assert_eq!(stored.raw, scores);
    gw.shutdown().await.unwrap();
    for s in shards {
        s.shutdown().await.unwrap();
    }
    single.shutdown().await.unwrap();
}

/// A wide catalog split beforehand (`--split-into`): each part's sidecar carries the precision,
/// three shards serve the parts, and the gateway answers as a single server of the whole catalog
/// at 12/10, byte for byte; a part served at another precision is refused, naming the one to
/// pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_catalog_split_beforehand_answers_as_the_whole_file() {
    use veilrank_e2e::gateway::get;
    use veilrank_server::catalog::ServedCatalog;
    use veilrank_server::config::CatalogSource;
    let (dim, items) = (16, 3 * 2048 + 100);
    let raw = float_catalog(11, dim, items);
    let params = V1_128.with_precision(wide());
    let dir = tempfile::tempdir().unwrap();
    let catalog = ServedCatalog::new("test", raw.clone(), params).unwrap();
    let parts =
        veilrank_server::catalog_part::split(&catalog, 3, &dir.path().join("parts")).unwrap();
    let Err(refused) = ServedCatalog::load("test", &parts[0], V1_128) else {
        panic!("a 12/10 part served at 8/8");
    };
    assert!(
        refused.to_string().contains("split at precision 12/10"),
        "{refused}"
    );
    let single = serve_with(&config_at(wide()), raw).await;
    let mut shards = Vec::new();
    for part in parts {
        let config = Config {
            catalogs: vec![CatalogSource {
                id: "test".into(),
                path: part,
                precision: None,
            }],
            ..config_at(wide())
        };
        let catalogs = veilrank_server::load_catalogs(&config).unwrap();
        let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
        server.ready().await.unwrap();
        shards.push(server);
    }
    // shard 1 of 3 owns blocks 2 and 3 of the 7 blocks of rows: items from 2048 on
    let (_, m, _) = get(&format!("{}/v1/catalogs/test", shards[1].url())).await;
    let m: veilrank_core::api::Manifest = serde_json::from_slice(&m).unwrap();
    let part = m.shard.unwrap();
    assert_eq!(
        (part.first_item, part.items, m.item_count),
        (2048, 2048, items)
    );
    assert_eq!(m.precision, wide());
    let upstreams: Vec<String> = shards.iter().map(RunningServer::url).collect();
    let gw = veilrank_e2e::gateway::gateway(&upstreams).await;
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.61).cos()).collect();
    answers_as_the_single_server(&gw, &single, "offset=2040&limit=20", &key, &prefs).await;
    gw.shutdown().await.unwrap();
    for s in shards {
        s.shutdown().await.unwrap();
    }
    single.shutdown().await.unwrap();
}
