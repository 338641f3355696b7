//! Stored profiles over real HTTP through the SDK: every verb, exact scores, user control,
//! expiry, access control and audit (their 404s' timing: profile_timing.rs; catalogs replaced
//! under load: catalog_replacement.rs).

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;
use std::time::Duration;

use veilrank_client::{Client, ClientError, ConnectOptions, SecretKey};
use veilrank_core::{plain, V1_128};
use veilrank_e2e::{integer_catalog, on_postgres, random_values, serve_with, test_config};

fn prefs(values: &[i8]) -> Vec<f32> {
    values.iter().map(|&v| f32::from(v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_verb_over_http() {
    every_profile_verb(&test_config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_verb_over_http_in_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let config = tokio::task::block_in_place(|| on_postgres(test_config(), "verbs", dir.path()));
    if let Some(config) = config {
        every_profile_verb(&config).await;
    }
}

/// The store's count, off the executor (the PostgreSQL client is synchronous).
fn profiles_stored(server: &veilrank_server::RunningServer) -> u64 {
    tokio::task::block_in_place(|| server.state.store.count().unwrap())
}

async fn every_profile_verb(config: &veilrank_server::Config) {
    let dim = 6;
    let values = random_values(10, dim * 2100);
    let server = serve_with(config, integer_catalog(dim, values.clone())).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let first = random_values(11, dim);

    // create, then score without re-uploading: exactly the plaintext scores, and exactly what
    // an uploaded query gets
    let mut profile = client.create_profile(&key, &prefs(&first)).await.unwrap();
    assert_eq!(profile.info.dimension, dim);
    assert_eq!(profile.info.catalog, "test");
    assert_eq!(profile.token().len(), 64);
    assert!(!format!("{profile:?}").contains(profile.token()));
    let stored = client.score_profile(&profile, &key).await.unwrap();
    let expected = plain::scores(&values, dim, &first);
    assert_eq!(stored.raw, expected);
    let uploaded = client.score(&key, &prefs(&first)).await.unwrap();
    assert_eq!(stored.raw, uploaded.raw);
    assert!(
        stored.report.bytes_sent < 1000,
        "a stored-profile request is small"
    );
    let top = client.recommend_profile(&profile, &key, 5).await.unwrap();
    assert_eq!(top.items.len(), 5);
    assert_eq!(top.items[0].raw_score, *expected.iter().max().unwrap());

    // metadata only
    let info = client.profile_info(&profile).await.unwrap();
    assert_eq!(info, profile.info);
    assert!(info.size_bytes > 10_000);

    // replace: same id, new scores
    let second = random_values(12, dim);
    client
        .replace_profile(&mut profile, &key, &prefs(&second))
        .await
        .unwrap();
    let replaced = client.score_profile(&profile, &key).await.unwrap();
    assert_eq!(replaced.raw, plain::scores(&values, dim, &second));

    // a wrong token and an unknown id look the same
    let mut forged: veilrank_client::Profile =
        serde_json::from_value(serde_json::to_value(&profile).unwrap()).unwrap();
    let json = serde_json::to_value(&profile).unwrap();
    let mut wrong = json.clone();
    wrong["token"] = serde_json::Value::String("ab".repeat(32));
    let wrong: veilrank_client::Profile = serde_json::from_value(wrong).unwrap();
    forged.id = "00".repeat(16);
    for (name, p) in [("wrong token", &wrong), ("unknown id", &forged)] {
        let e = client.score_profile(p, &key).await.unwrap_err();
        assert!(matches!(e, ClientError::ProfileNotFound), "{name}: {e}");
        let e = client.profile_info(p).await.unwrap_err();
        assert!(matches!(e, ClientError::ProfileNotFound), "{name}: {e}");
    }
    let raw_wrong = reqwest::Client::new()
        .get(format!("{}/v1/profiles/{}", server.url(), profile.id))
        .bearer_auth("ab".repeat(32))
        .send()
        .await
        .unwrap();
    let raw_unknown = reqwest::Client::new()
        .get(format!("{}/v1/profiles/{}", server.url(), "00".repeat(16)))
        .bearer_auth(profile.token())
        .send()
        .await
        .unwrap();
    assert_eq!(raw_wrong.status(), raw_unknown.status());
    assert_eq!(
        raw_wrong.text().await.unwrap(),
        raw_unknown.text().await.unwrap()
    );

    // erase: every later use is 404
    client.delete_profile(&profile).await.unwrap();
    for e in [
        client.score_profile(&profile, &key).await.unwrap_err(),
        client.profile_info(&profile).await.map(|_| ()).unwrap_err(),
        client.delete_profile(&profile).await.unwrap_err(),
        client
            .replace_profile(&mut profile, &key, &prefs(&first))
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(matches!(e, ClientError::ProfileNotFound), "{e}");
    }
    assert_eq!(profiles_stored(&server), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_profiles_are_purged_without_a_request() {
    expired_profiles_are_purged(test_config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_profiles_are_purged_without_a_request_in_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let config = tokio::task::block_in_place(|| on_postgres(test_config(), "expiry", dir.path()));
    if let Some(config) = config {
        expired_profiles_are_purged(config).await;
    }
}

async fn expired_profiles_are_purged(base: veilrank_server::Config) {
    let config = veilrank_server::Config {
        profile_lifetime: Duration::from_secs(1),
        purge_interval: Duration::from_millis(100),
        ..base
    };
    let dim = 3;
    let server = serve_with(&config, integer_catalog(dim, random_values(20, dim * 10))).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let profile = client
        .create_profile(&key, &prefs(&random_values(21, dim)))
        .await
        .unwrap();
    assert_eq!(profiles_stored(&server), 1);
    // lifetimes count whole seconds: gone within 2 s, purged by the background task
    let mut waited = Duration::ZERO;
    while profiles_stored(&server) > 0 {
        assert!(waited < Duration::from_secs(5), "not purged after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let e = client.score_profile(&profile, &key).await.unwrap_err();
    assert!(matches!(e, ClientError::ProfileNotFound), "{e}");
    let metrics = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("veilrank_profile_events_total{event=\"expired\"} 1"),
        "{metrics}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_rate_limits() {
    let config = veilrank_server::Config {
        api_keys: vec![
            "app-one:key-one-0123456789abcdef".into(),
            "app-two:key-two-0123456789abcdef:3".into(),
        ],
        ..test_config()
    };
    let dim = 2;
    let server = serve_with(&config, integer_catalog(dim, random_values(30, dim * 10))).await;
    let url = server.url();
    let options = |key: Option<&str>| ConnectOptions {
        api_key: key.map(str::to_string),
        ready_timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    };
    for key in [None, Some("not-a-key-0123456789abcdef")] {
        let e = Client::connect_with(&url, options(key))
            .await
            .err()
            .unwrap();
        assert!(matches!(e, ClientError::Unauthorized { .. }), "{e}");
    }
    let client = Client::connect_with(&url, options(Some("key-one-0123456789abcdef")))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    client.score(&key, &[1.0, -1.0]).await.unwrap();
    // health and metrics stay open
    assert_eq!(
        reqwest::get(format!("{url}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );

    // app-two: 3 per minute; the connect used one, the first score two (the query, and the
    // catalog's hint, fetched once per version)
    let limited = Client::connect_with(&url, options(Some("key-two-0123456789abcdef")))
        .await
        .unwrap();
    limited.score(&key, &[1.0, 2.0]).await.unwrap();
    let e = limited.score(&key, &[1.0, 2.0]).await.unwrap_err();
    match e {
        ClientError::RateLimited { retry_after } => {
            assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}")
        }
        other => panic!("expected a rate limit, got {other}"),
    }
    let raw = reqwest::Client::new()
        .get(format!("{url}/v1/catalogs"))
        .header("x-api-key", "key-two-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    let retry_after: u64 = raw.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // app-one has its own budget
    client.score(&key, &[1.0, -1.0]).await.unwrap();
    server.shutdown().await.unwrap();
}

/// A stored profile is audited as scored only when it was: a query refused for load (503) is
/// not a use of the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_scored_profiles_are_audited_as_scored() {
    let dim = 8;
    let config = veilrank_server::Config {
        max_batch: 1,
        max_concurrent_scores: 64,
        ..test_config()
    };
    let server = serve_with(
        &config,
        integer_catalog(dim, random_values(30, dim * 200_000)),
    )
    .await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let profile = client
        .create_profile(&key, &prefs(&random_values(31, dim)))
        .await
        .unwrap();
    // far more at once than the scoring queue holds, one query per pass
    let http = reqwest::Client::new();
    let url = format!("{}/v1/profiles/{}/score", server.url(), profile.info.id);
    let requests = (0..300).map(|_| http.post(&url).bearer_auth(profile.token()).send());
    let statuses: Vec<u16> = futures_statuses(requests).await;
    let ok = statuses.iter().filter(|&&s| s == 200).count() as u64;
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok as usize + busy, statuses.len(), "{statuses:?}");
    assert!(
        busy > 0,
        "no request was refused for load: the queue never filled"
    );
    let scored = server
        .state
        .metrics
        .profile_events
        .get_or_create(&veilrank_server::metrics::EventLabels {
            event: "scored".into(),
        })
        .get();
    assert_eq!(scored, ok, "{ok} scored, {busy} refused");
}

async fn futures_statuses(
    requests: impl Iterator<
        Item = impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<u16> {
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}

/// With PostgreSQL, the audit trail is a table every replica writes: one row per event, with the
/// profile id and catalog, never a token; and nothing in the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_a_table_in_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let on_pg = {
        let data_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || {
            veilrank_e2e::on_postgres(test_config(), "audit", &data_dir)
        })
        .await
        .unwrap()
    };
    let Some(config) = on_pg else { return };
    let dim = 4;
    let server = serve_with(&config, integer_catalog(dim, random_values(40, dim * 100))).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let profile = client
        .create_profile(&key, &prefs(&random_values(41, dim)))
        .await
        .unwrap();
    client.score_profile(&profile, &key).await.unwrap();
    client.delete_profile(&profile).await.unwrap();
    let token = profile.token().to_string();
    let id = profile.info.id.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let url = std::env::var("VEILRANK_TEST_DATABASE").unwrap();
        let schema = format!("e2e_audit_{}", std::process::id());
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        db.query(
            &format!(
                "SELECT event, profile, catalog, app FROM {schema}.veilrank_audit ORDER BY seq"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let app: Option<String> = r.get(3);
            (
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                app,
            )
        })
        .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let events: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(events, ["created", "scored", "deleted"]);
    for (_, profile, catalog, app) in &rows {
        assert_eq!((profile, catalog.as_str()), (&id, "test"));
        assert!(app.as_deref().is_none_or(|a| !a.contains(&token)));
    }
    assert!(!data_dir.join("audit.jsonl").exists());
    server.shutdown().await.unwrap();
}
