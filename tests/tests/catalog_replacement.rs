//! Catalogs replaced on a running server (the admin reload) while clients score and hold
//! stored profiles: no request fails, every score is exact for the version it names, and a
//! profile of the old dimension gets a typed conflict.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;
use std::time::Duration;

use veilrank_client::{Client, ClientError, SecretKey};
use veilrank_core::{plain, V1_128};
use veilrank_e2e::{random_values, test_config};
use veilrank_server::catalogs::Catalogs;
use veilrank_server::config::CatalogSource;

fn prefs(values: &[i8]) -> Vec<f32> {
    values.iter().map(|&v| f32::from(v)).collect()
}

fn write_catalog(path: &std::path::Path, dim: usize, values: &[i8]) {
    let lines: String = values
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, row)| {
            let v: Vec<String> = row.iter().map(i8::to_string).collect();
            format!(
                "{{\"id\":\"i{i}\",\"title\":\"item {i}\",\"vector\":[{}]}}\n",
                v.join(",")
            )
        })
        .collect();
    std::fs::write(path, lines).unwrap();
}

async fn reload(url: &str, admin: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{url}/admin/catalogs/films/reload"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_replaced_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    let dim = 4;
    let old = random_values(40, dim * 3000);
    let new = random_values(41, dim * 2500);
    write_catalog(&path, dim, &old);
    let admin = "admin-key-0123456789";
    let config = veilrank_server::Config {
        catalogs: vec![CatalogSource::parse(&format!("films={}", path.display())).unwrap()],
        admin_key: Some(admin.into()),
        ..test_config()
    };
    let catalogs = veilrank_server::load_catalogs(&config).unwrap();
    let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
    server.ready().await.unwrap();
    let url = server.url();
    let old_version = server.state.catalogs.default_catalog().reference.version;

    let client = Arc::new(
        Client::connect(&url, Duration::from_secs(10))
            .await
            .unwrap(),
    );
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..3u64 {
        let (client, key, stop) = (client.clone(), key.clone(), stop.clone());
        let (old, new) = (old.clone(), new.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = (0, 0);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || seen.1 == 0 {
                i += 1;
                let query = random_values(100 * w + i, dim);
                let scores = client.score(&key, &prefs(&query)).await.unwrap();
                let items = client.items().await.unwrap();
                if scores.raw.len() == 3000 {
                    assert_eq!(scores.raw, plain::scores(&old, dim, &query));
                    seen.0 += 1;
                } else {
                    assert_eq!(scores.raw, plain::scores(&new, dim, &query));
                    assert_eq!(items.len(), 2500);
                    seen.1 += 1;
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    write_catalog(&path, dim, &new);
    let outcome = reload(&url, admin).await;
    assert_eq!(outcome["status"], "replaced", "{outcome}");
    assert_eq!(outcome["previous_version"], old_version.to_hex());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for worker in workers {
        let (before, after) = worker.await.unwrap();
        assert!(before > 0 && after > 0, "{before} before, {after} after");
    }
    // reloading the same file again changes nothing
    assert_eq!(reload(&url, admin).await["status"], "unchanged");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_for_another_dimension_gets_a_typed_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    write_catalog(&path, 3, &random_values(50, 3 * 40));
    let admin = "admin-key-0123456789";
    let config = veilrank_server::Config {
        catalogs: vec![CatalogSource::parse(&format!("films={}", path.display())).unwrap()],
        admin_key: Some(admin.into()),
        ..test_config()
    };
    let catalogs: Catalogs = veilrank_server::load_catalogs(&config).unwrap();
    let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
    server.ready().await.unwrap();
    let url = server.url();
    let client = Client::connect(&url, Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let mut profile = client.create_profile(&key, &[1.0, 2.0, 3.0]).await.unwrap();

    let new = random_values(51, 5 * 40);
    write_catalog(&path, 5, &new);
    assert_eq!(reload(&url, admin).await["status"], "replaced");
    let e = client.score_profile(&profile, &key).await.unwrap_err();
    assert!(matches!(e, ClientError::ProfileIncompatible { .. }), "{e}");

    // the way out: reconnect and replace the profile for the new dimension
    let client = Client::connect(&url, Duration::from_secs(10))
        .await
        .unwrap();
    let fresh = random_values(52, 5);
    client
        .replace_profile(&mut profile, &key, &prefs(&fresh))
        .await
        .unwrap();
    let scores = client.score_profile(&profile, &key).await.unwrap();
    assert_eq!(scores.raw, plain::scores(&new, 5, &fresh));
    server.shutdown().await.unwrap();
}
