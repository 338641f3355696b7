//! Catalog versions behind a gateway: parts of two versions are never joined, and a catalog
//! replaced replica by replica is served without a failed query.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use veilrank_core::api::Manifest;
use veilrank_core::wire::{self, CatalogRef};
use veilrank_core::{plain, SecretKey, V1_128};
use veilrank_e2e::gateway::{
    code, gateway, get, post_query, query, shard, write_jsonl, DIM, ITEMS,
};
use veilrank_e2e::{random_values, test_config};
use veilrank_engine::Shard;
use veilrank_server::{Config, RunningServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_of_two_catalog_versions_are_never_joined() {
    let old = random_values(29, DIM * ITEMS);
    let mut new = old.clone();
    new[DIM * (ITEMS - 1)] = -5;
    // shard 0 is already on the new version, shard 1 still on the old one
    let a = shard(&new, 0, 2).await;
    let b = shard(&old, 1, 2).await;
    let gw = gateway(&[a.url(), b.url()]).await;
    let (status, body, retry) = get(&format!("{}/v1/catalogs/test", gw.url())).await;
    assert_eq!((status, code(&body).as_str()), (503, "catalog_changing"));
    assert_eq!(retry.as_deref(), Some("1"));
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", a.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let (status, body, retry) =
        post_query(&gw.url(), query(&key, &manifest, &random_values(8, DIM))).await;
    assert_eq!((status, code(&body).as_str()), (503, "catalog_changing"));
    assert_eq!(retry.as_deref(), Some("1"));
}

/// A file-backed replica of shard `k` of 2, with an admin key, serving `path`.
async fn file_replica(path: &std::path::Path, k: usize) -> RunningServer {
    let config = Config {
        catalogs: vec![veilrank_server::config::CatalogSource {
            id: "test".into(),
            path: path.to_path_buf(),
            precision: None,
        }],
        shard: Some(Shard::try_new(k, 2).unwrap()),
        admin_key: Some("gateway-test-admin-key-0123456789".into()),
        ..test_config()
    };
    let catalogs = veilrank_server::load_catalogs(&config).unwrap();
    let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
    server.ready().await.unwrap();
    server
}

/// A catalog replaced replica by replica, each shard keeping a replica of one version at every
/// step: not one query fails, each is one version's exact scores, and the gateway moves to the
/// new version once every shard has a replica of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_replaced_replica_by_replica_fails_no_query() {
    let old = random_values(41, DIM * ITEMS);
    let mut new = old.clone();
    new[DIM * 5] = if new[DIM * 5] == 9 { 8 } else { 9 };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = (0..4)
        .map(|r| dir.path().join(format!("r{r}.jsonl")))
        .collect();
    for file in &files {
        write_jsonl(file, &old);
    }
    // shard 0 on replicas 0 and 1, shard 1 on replicas 2 and 3
    let mut replicas = Vec::new();
    for (r, file) in files.iter().enumerate() {
        replicas.push(file_replica(file, r / 2).await);
    }
    let gw = gateway(&[
        format!("{},{}", replicas[0].url(), replicas[1].url()),
        format!("{},{}", replicas[2].url(), replicas[3].url()),
    ])
    .await;
    let key = SecretKey::generate(&V1_128).unwrap();
    let prefs = random_values(43, DIM);
    let (_, manifest, _) = get(&format!("{}/v1/catalogs/test", gw.url())).await;
    let manifest: Manifest = serde_json::from_slice(&manifest).unwrap();
    let body = query(&key, &manifest, &prefs);
    let http = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut checked = 0;
    // the order of replacement: one replica of each shard, then the others
    for step in [None, Some(1), Some(3), Some(0), Some(2)] {
        if let Some(r) = step {
            write_jsonl(&files[r], &new);
            let reloaded = http
                .post(format!("{}/admin/catalogs/test/reload", replicas[r].url()))
                .bearer_auth("gateway-test-admin-key-0123456789")
                .send()
                .await
                .unwrap();
            assert_eq!(reloaded.status(), 200);
        }
        // every replica takes its turn first: 4 queries, and a manifest read between them
        for _ in 0..4 {
            let (status, bytes, _) = post_query(&gw.url(), body.clone()).await;
            assert_eq!(
                status,
                200,
                "step {step:?}: {}",
                String::from_utf8_lossy(&bytes)
            );
            let version = wire::peek(&bytes).unwrap().catalog.version;
            let (m, hint, _) = {
                let (status, m, _) = get(&format!("{}/v1/catalogs/test", gw.url())).await;
                assert_eq!(
                    status,
                    200,
                    "step {step:?}: {}",
                    String::from_utf8_lossy(&m)
                );
                let m: Manifest = serde_json::from_slice(&m).unwrap();
                let hint = get(&format!("{}/v1/catalogs/test/hint", gw.url())).await;
                (m, hint.1, hint.0)
            };
            let catalog = CatalogRef {
                id: "test".into(),
                version,
            };
            let values = if version.to_hex() == manifest.content_version {
                &old
            } else {
                &new
            };
            let response = wire::decode_response(&V1_128, &catalog, ITEMS, &bytes).unwrap();
            if m.content_version == version.to_hex() {
                checked += 1;
                let hint = wire::decode_hint(&V1_128, &catalog, ITEMS, &hint).unwrap();
                assert_eq!(
                    response.decrypt(&key, &hint, ITEMS).unwrap(),
                    plain::scores(values, DIM, &prefs),
                    "step {step:?}"
                );
            }
            seen.push((step, version.to_hex() == manifest.content_version));
        }
    }
    eprintln!("(step, on the old version): {seen:?}; {checked} decrypted");
    assert!(
        checked >= 15,
        "{checked} of 20 answers were on the version the manifest named"
    );
    // old until every shard has a replica of the new version; new once the old ones are gone
    for old_only in [None, Some(1)] {
        assert!(
            seen.iter()
                .filter(|(s, _)| *s == old_only)
                .all(|(_, old)| *old),
            "{seen:?}"
        );
    }
    assert!(
        seen.iter()
            .filter(|(s, _)| *s == Some(2))
            .all(|(_, old)| !*old),
        "{seen:?}"
    );
}
