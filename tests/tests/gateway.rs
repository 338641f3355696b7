//! A gateway in front of shard servers, over real HTTP on loopback: clients get the bytes a
//! single server sends, a shard's failure is a clean 503 and never a wrong or partial answer,
//! and stored profiles and micro-batching work through it. (Catalog versions:
//! `gateway_versions.rs`.)

use std::sync::Arc;
use std::time::Duration;

use veilrank_client::Client;
use veilrank_core::api::Manifest;
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{plain, SecretKey, V1_128};
use veilrank_e2e::gateway::{
    assert_same_answers, code, gateway, get, post_query, query, shard, write_jsonl, DIM, ITEMS,
};
use veilrank_e2e::{integer_catalog, random_values, serve_with, test_config};
use veilrank_engine::Shard;
use veilrank_server::catalogs::Catalogs;
use veilrank_server::gateway::Upstream;
use veilrank_server::{Config, RunningServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_what_a_single_server_answers() {
    let values = random_values(19, DIM * ITEMS);
    let single = serve_with(&test_config(), integer_catalog(DIM, values.clone())).await;
    let mut shards = Vec::new();
    for k in 0..3 {
        shards.push(shard(&values, k, 3).await);
    }
    // shard 1 has a second replica, which is down: the gateway moves on to the live one
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let upstreams = vec![
        shards[0].url(),
        format!("http://{dead},{}", shards[1].url()),
        shards[2].url(),
    ];
    let gw = gateway(&upstreams).await;

    // the manifest, the hint and the items are the single server's
    let paths = [
        "/v1/catalogs/test",
        "/v1/catalog",
        "/v1/catalogs/test/hint",
        "/v1/catalogs/test/hint?form=rounded",
        "/v1/catalogs/test/items?offset=4090&limit=20",
        "/v1/catalogs",
    ];
    assert_same_answers(&gw.url(), &single.url(), &paths).await;
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", single.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    assert!(manifest.shard.is_none());

    // one encrypted query: the gateway's response is byte for byte the single server's
    let key = SecretKey::generate(&V1_128).unwrap();
    for _ in 0..3 {
        let body = query(&key, &manifest, &random_values(5, DIM));
        let (status, from_gateway, _) = post_query(&gw.url(), body.clone()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&from_gateway));
        let (_, from_single, _) = post_query(&single.url(), body).await;
        assert_eq!(from_gateway, from_single);
    }

    // and through the SDK, the plaintext scores
    let client = Client::connect(&gw.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(key);
    let prefs = random_values(6, DIM);
    let floats: Vec<f32> = prefs.iter().map(|&v| f32::from(v)).collect();
    let scores = client.score(&key, &floats).await.unwrap();
    assert_eq!(scores.raw, plain::scores(&values, DIM, &prefs));

    // the shards' 4xx reaches the client as the shard wrote it; paths cannot be moved
    let (status, body, _) = post_query(&gw.url(), b"not a query".to_vec()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "bad_magic"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, body, _) = get(&format!("{}/v1/catalogs/nope", gw.url())).await;
    assert_eq!((status, code(&body).as_str()), (404, "unknown_catalog"));
    let (status, _, _) = get(&format!("{}/v1/catalogs/..", gw.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_without_a_live_replica_is_a_503_until_it_returns() {
    let values = random_values(23, DIM * ITEMS);
    let a = shard(&values, 0, 2).await;
    let b = shard(&values, 1, 2).await;
    let b_addr = b.addr;
    let gw = gateway(&[a.url(), b.url()]).await;
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", gw.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let prefs = random_values(7, DIM);
    let body = query(&key, &manifest, &prefs);
    assert_eq!(post_query(&gw.url(), body.clone()).await.0, 200);

    b.shutdown().await.unwrap();
    let (status, err, retry) = post_query(&gw.url(), body.clone()).await;
    assert_eq!((status, code(&err).as_str()), (503, "shard_unavailable"));
    assert_eq!(retry.as_deref(), Some("1"));
    // counted for operators: the replica's failure and the refusal
    let (_, metrics, _) = get(&format!("{}/metrics", gw.url())).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("veilrank_gateway_refusals_total{reason=\"shard_unavailable\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("veilrank_gateway_replica_failures_total{shard=\"1\"}"),
        "{metrics}"
    );
    let (status, _, _) = get(&format!("{}/readyz", gw.url())).await;
    assert_eq!(status, 503);

    // the shard comes back on its address: the next query succeeds, and decrypts exactly
    let config = Config {
        addr: b_addr,
        shard: Some(Shard::try_new(1, 2).unwrap()),
        ..test_config()
    };
    let _b = serve_with(&config, integer_catalog(DIM, values.clone())).await;
    let (status, bytes, _) = post_query(&gw.url(), body).await;
    assert_eq!(status, 200);
    let (_, hint, _) = get(&format!("{}/v1/catalogs/test/hint", gw.url())).await;
    let catalog = CatalogRef {
        id: "test".into(),
        version: ContentVersion::from_hex(&manifest.content_version).unwrap(),
    };
    let hint = wire::decode_hint(&V1_128, &catalog, ITEMS, &hint).unwrap();
    let response = wire::decode_response(&V1_128, &catalog, ITEMS, &bytes).unwrap();
    assert_eq!(
        response.decrypt(&key, &hint, ITEMS).unwrap(),
        plain::scores(&values, DIM, &prefs)
    );
}

/// A stored profile behind gateways: created through one, scored, read and erased through the
/// other (both on one PostgreSQL when `VEILRANK_TEST_DATABASE` is set; otherwise one gateway,
/// profiles in memory, and the second half is said to be skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_made_through_one_gateway_is_served_by_the_other() {
    let values = random_values(31, DIM * ITEMS);
    let a = shard(&values, 0, 2).await;
    let b = shard(&values, 1, 2).await;
    let upstreams: Vec<Upstream> = [a.url(), b.url()]
        .iter()
        .map(|u| Upstream::parse(u).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let base = Config {
        upstreams,
        ..test_config()
    };
    let on_pg = {
        let base = base.clone();
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            veilrank_e2e::on_postgres(base, "gateway_profiles", &dir)
        })
        .await
        .unwrap()
    };
    let (first, second) = match on_pg {
        Some(config) => {
            let mut other = config.clone();
            other.data_dir = dir.path().join("second");
            let first = veilrank_server::start(&config, Catalogs::none())
                .await
                .unwrap();
            let second = veilrank_server::start(&other, Catalogs::none())
                .await
                .unwrap();
            (first, Some(second))
        }
        None => (
            veilrank_server::start(&base, Catalogs::none())
                .await
                .unwrap(),
            None,
        ),
    };
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs = random_values(9, DIM);
    let floats: Vec<f32> = prefs.iter().map(|&v| f32::from(v)).collect();
    let expected = plain::scores(&values, DIM, &prefs);
    let maker = Client::connect(&first.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let profile = maker.create_profile(&key, &floats).await.unwrap();
    let user_url = second
        .as_ref()
        .map_or_else(|| first.url(), RunningServer::url);
    let user = Client::connect(&user_url, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        user.score_profile(&profile, &key).await.unwrap().raw,
        expected
    );
    assert_eq!(user.profile_info(&profile).await.unwrap().dimension, DIM);
    user.delete_profile(&profile).await.unwrap();
    for client in [&maker, &user] {
        assert!(matches!(
            client.score_profile(&profile, &key).await,
            Err(veilrank_client::ClientError::ProfileNotFound)
        ));
    }
}

/// Micro-batching keeps working behind a gateway: queries that reach the shards together are
/// scored in one pass (the batch size comes back in the gateway's `Server-Timing`), and each
/// query's response still decrypts to its own plaintext scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_arriving_together_share_a_pass_behind_the_gateway() {
    // passes long enough (120 blocks) that the 16 queries overlap them even on a busy machine:
    // with 40, one CI run on a shared host scored every query alone
    let (dim, items) = (32, 120 * 2048);
    let values = random_values(37, dim * items);
    let config = Config {
        shard: Some(Shard::try_new(0, 1).unwrap()),
        max_batch: 16,
        max_concurrent_scores: 16,
        max_batch_wait_ms: 0,
        ..test_config()
    };
    let shard = serve_with(&config, integer_catalog(dim, values.clone())).await;
    let gw = gateway(&[shard.url()]).await;
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", gw.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let http = reqwest::Client::new();
    let prefs: Vec<Vec<i8>> = (0..16u64).map(|u| random_values(100 + u, dim)).collect();
    // every query encrypted before the first is sent, so that they arrive together however
    // fast a pass is (encrypted one by one between the sends, each query once came in after the
    // pass of the one before had ended)
    let bodies: Vec<Vec<u8>> = prefs.iter().map(|p| query(&key, &manifest, p)).collect();
    let sends = bodies.into_iter().map(|body| {
        let request = http
            .post(format!("{}/v1/catalogs/test/score", gw.url()))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send();
        tokio::spawn(request)
    });
    let catalog = CatalogRef {
        id: "test".into(),
        version: ContentVersion::from_hex(&manifest.content_version).unwrap(),
    };
    let (_, hint, _) = get(&format!("{}/v1/catalogs/test/hint", gw.url())).await;
    let hint = wire::decode_hint(&V1_128, &catalog, items, &hint).unwrap();
    let mut batches = Vec::new();
    for (send, p) in sends.collect::<Vec<_>>().into_iter().zip(&prefs) {
        let response = send.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        let timing = response.headers()["server-timing"]
            .to_str()
            .unwrap()
            .to_string();
        let batch = timing
            .split(',')
            .find_map(|m| m.trim().strip_prefix("batch;desc=\""))
            .and_then(|b| b.trim_end_matches('"').parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no batch in {timing:?}"));
        batches.push(batch);
        let bytes = response.bytes().await.unwrap();
        let scores = wire::decode_response(&V1_128, &catalog, items, &bytes).unwrap();
        assert_eq!(
            scores.decrypt(&key, &hint, items).unwrap(),
            plain::scores(&values, dim, p)
        );
    }
    assert!(
        batches.iter().any(|&b| b >= 2),
        "no two queries shared a pass behind the gateway: {batches:?}"
    );
}

/// A catalog split beforehand: each shard reads only its part (a `.npy`, its ids and the whole
/// catalog's facts), and the gateway still answers what a single server reading the whole file
/// answers: manifest, hint, responses, and pages of items that span two shards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_of_a_split_catalog_answer_as_the_whole_file() {
    use veilrank_server::catalog::ServedCatalog;
    use veilrank_server::config::CatalogSource;
    let values = random_values(47, DIM * ITEMS);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("test.jsonl");
    write_jsonl(&whole, &values);
    let catalog = ServedCatalog::load("test", &whole, V1_128).unwrap();
    let parts =
        veilrank_server::catalog_part::split(&catalog, 3, &dir.path().join("parts")).unwrap();
    let from_file = |path: std::path::PathBuf| Config {
        catalogs: vec![CatalogSource {
            id: "test".into(),
            path,
            precision: None,
        }],
        ..test_config()
    };
    let start = |config: Config| async move {
        let catalogs = veilrank_server::load_catalogs(&config).unwrap();
        let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
        server.ready().await.unwrap();
        server
    };
    let single = start(from_file(whole)).await;
    let mut shards = Vec::new();
    for part in parts {
        shards.push(start(from_file(part)).await);
    }
    // each shard holds its part alone, and says which
    let (_, m, _) = get(&format!("{}/v1/catalogs/test", shards[1].url())).await;
    let m: Manifest = serde_json::from_slice(&m).unwrap();
    let info = m.shard.unwrap();
    assert_eq!((info.index, info.count, info.first_item), (1, 3, 2 * 2048));
    assert_eq!(m.item_count, ITEMS);
    assert_eq!(
        shards[1].state.catalogs.get("test").unwrap().items.len(),
        info.items
    );

    let gw = gateway(&shards.iter().map(RunningServer::url).collect::<Vec<_>>()).await;
    let paths = [
        "/v1/catalogs/test",
        "/v1/catalogs/test/hint",
        "/v1/catalogs/test/items?offset=4090&limit=20",
        "/v1/catalogs/test/items?offset=0&limit=10000",
        "/v1/catalogs/test/items?offset=12200&limit=1000",
    ];
    assert_same_answers(&gw.url(), &single.url(), &paths).await;
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", single.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let body = query(&key, &manifest, &random_values(48, DIM));
    let (status, from_gateway, _) = post_query(&gw.url(), body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(from_gateway, post_query(&single.url(), body).await.1);
}

/// Shards on CPUs of different kinds choose different moduli (`ifma50` with AVX-512 IFMA,
/// `crt54` elsewhere) unless the provider pins one: the gateway refuses to join them (a 502,
/// never a hint of two moduli), and serves exact scores once every shard is pinned alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_under_different_moduli_are_refused_until_pinned_alike() {
    use veilrank_core::ntt::ServerPrime;
    let values = random_values(29, DIM * ITEMS);
    let pinned = |k: usize, modulus: ServerPrime| {
        let config = Config {
            shard: Some(Shard::try_new(k, 2).unwrap()),
            modulus: Some(modulus),
            ..test_config()
        };
        let catalog = integer_catalog(DIM, values.clone());
        async move { serve_with(&config, catalog).await }
    };
    let a = pinned(0, ServerPrime::Ifma50).await;
    let b = pinned(1, ServerPrime::Crt54).await;
    let mixed = gateway(&[a.url(), b.url()]).await;
    let (status, err, _) = get(&format!("{}/v1/catalogs/test", mixed.url())).await;
    assert_eq!((status, code(&err).as_str()), (502, "bad_upstream"));

    let c = pinned(0, ServerPrime::Crt54).await;
    let alike = gateway(&[c.url(), b.url()]).await;
    let (status, manifest, _) = get(&format!("{}/v1/catalogs/test", alike.url())).await;
    assert_eq!(status, 200);
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest.noise.server_prime, "crt54");
    let client = Client::connect(&alike.url(), Duration::from_secs(30))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let prefs = random_values(30, DIM);
    let floats: Vec<f32> = prefs.iter().map(|&v| f32::from(v)).collect();
    let scores = client.score(&key, &floats).await.unwrap();
    assert_eq!(scores.raw, plain::scores(&values, DIM, &prefs));
}
