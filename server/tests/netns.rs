//! Sharded serving across hosts: PostgreSQL, three shard hosts, two gateways and a single server
//! for comparison, each in a network namespace of its own on one bridge, with a catalog of
//! 200,000 items. Needs root and `ip` (`.ci/run` runs it: `cargo test -p veilrank-server --test
//! netns -- --ignored`); elsewhere it says SKIPPED.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod netns_hosts;

use std::time::{Duration, Instant};

use netns_hosts::{Hosts, BRIDGE_IP};
use veilrank_core::hint::Hint;
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{plain, Query, SecretKey, V1_128};

const ITEMS: usize = 200_000;
const DIM: usize = 16;
const SHARDS: usize = 3;
const ADMIN_KEY: &str = "netns-admin-key-0123456789abcdef";

fn values(seed: u64) -> Vec<i8> {
    let mut state = seed;
    let mut v: Vec<i8> = (0..ITEMS * DIM)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((state >> 33) % 255) as i16 - 127) as i8
        })
        .collect();
    v[0] = 127;
    v
}

fn write_catalog(path: &std::path::Path, values: &[i8]) {
    use std::fmt::Write;
    let mut text = String::new();
    for (i, row) in values.chunks_exact(DIM).enumerate() {
        let row: Vec<String> = row.iter().map(i8::to_string).collect();
        let _ = writeln!(
            text,
            "{{\"id\":\"i{i}\",\"title\":\"item {i}\",\"vector\":[{}]}}",
            row.join(",")
        );
    }
    // atomically, as an operator replaces a file that servers may be reading
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<String>,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let r = request.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        retry_after: r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body).map_or_else(
        |_| String::from_utf8_lossy(body).into_owned(),
        |v| v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// The catalog's current reference and hint, as `base` serves them.
async fn catalog_of(http: &reqwest::Client, base: &str) -> (CatalogRef, Hint) {
    let manifest: serde_json::Value = http
        .get(format!("{base}/v1/catalogs/test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let catalog = CatalogRef {
        id: "test".into(),
        version: ContentVersion::from_hex(manifest["content_version"].as_str().unwrap()).unwrap(),
    };
    let hint = send(http.get(format!("{base}/v1/catalogs/test/hint"))).await;
    assert_eq!(hint.status, 200);
    let hint = wire::decode_hint(&V1_128, &catalog, ITEMS, &hint.body).unwrap();
    (catalog, hint)
}

fn post_query(http: &reqwest::Client, base: &str, query: &[u8]) -> reqwest::RequestBuilder {
    http.post(format!("{base}/v1/catalogs/test/score"))
        .header("content-type", "application/octet-stream")
        .body(query.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; .ci/run runs it"]
async fn shards_gateways_and_postgres_on_separate_hosts() {
    let Some(mut hosts) = Hosts::try_new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let catalog_path = dir.path().join("test.jsonl");
    let (old, mut new) = (values(1), values(1));
    let changed = DIM * 150_000;
    new[changed] = if new[changed] == 5 { 6 } else { 5 };
    write_catalog(&catalog_path, &old);
    let catalog_arg = format!("test={}", catalog_path.display());

    let pg = hosts.postgres("pg");
    let mut shards = Vec::new();
    for k in 0..SHARDS {
        let shard = format!("{k}/{SHARDS}");
        let args = [
            "--catalog",
            &catalog_arg,
            "--shard",
            &shard,
            "--ephemeral",
            "--precision",
            "8/8",
        ];
        shards.push(hosts.server(
            &format!("s{k}"),
            &args,
            &[("VEILRANK_ADMIN_KEY", ADMIN_KEY)],
        ));
    }
    let single = hosts.server(
        "one",
        &[
            "--catalog",
            &catalog_arg,
            "--ephemeral",
            "--precision",
            "8/8",
        ],
        &[],
    );
    let upstreams: Vec<String> = shards.iter().map(|s| format!("--upstream={s}")).collect();
    let mut gateways = Vec::new();
    for g in 0..2 {
        let data = dir.path().join(format!("g{g}"));
        let mut args = vec![
            "--database".to_string(),
            pg.clone(),
            "--upstream-timeout=2s".into(),
        ];
        args.extend(["--data-dir".to_string(), data.display().to_string()]);
        args.extend(upstreams.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        gateways.push(hosts.server(&format!("g{g}"), &args, &[]));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    for base in shards.iter().chain([&single]).chain(&gateways) {
        hosts.wait_ready(&http, base).await;
    }
    eprintln!("netns: 7 hosts ready behind {BRIDGE_IP}");

    // 1. through either gateway, the single server's bytes, and the plaintext scores
    let key = SecretKey::generate(&V1_128).unwrap();
    let prefs: Vec<i8> = values(7)[..DIM].to_vec();
    let (catalog, hint) = catalog_of(&http, &gateways[0]).await;
    let query =
        wire::encode_query(&V1_128, &catalog, &Query::encrypt(&key, &prefs).unwrap()).unwrap();
    let expected = send(post_query(&http, &single, &query)).await;
    assert_eq!(expected.status, 200);
    for gateway in &gateways {
        let got = send(post_query(&http, gateway, &query)).await;
        assert_eq!(got.status, 200, "{}", code(&got.body));
        assert_eq!(
            got.body, expected.body,
            "the gateway's bytes are the single server's"
        );
    }
    let response = wire::decode_response(&V1_128, &catalog, ITEMS, &expected.body).unwrap();
    assert_eq!(
        response.decrypt(&key, &hint, ITEMS).unwrap(),
        plain::scores(&old, DIM, &prefs)
    );

    // 2. a profile made through one gateway is scored, read and erased through the other
    let created = send(
        http.post(format!("{}/v1/profiles", gateways[0]))
            .header("content-type", "application/octet-stream")
            .body(query.clone()),
    )
    .await;
    assert_eq!(created.status, 201, "{}", code(&created.body));
    let created: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let (id, token) = (
        created["profile"]["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let profile_url = |g: &str| format!("{g}/v1/profiles/{id}");
    let scored = send(
        http.post(format!("{}/score", profile_url(&gateways[1])))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(scored.status, 200, "{}", code(&scored.body));
    let response = wire::decode_response(&V1_128, &catalog, ITEMS, &scored.body).unwrap();
    assert_eq!(
        response.decrypt(&key, &hint, ITEMS).unwrap(),
        plain::scores(&old, DIM, &prefs)
    );
    let info = send(http.get(profile_url(&gateways[1])).bearer_auth(token)).await;
    assert_eq!(info.status, 200);
    assert_eq!(
        send(http.delete(profile_url(&gateways[1])).bearer_auth(token))
            .await
            .status,
        204
    );
    let gone = send(
        http.post(format!("{}/score", profile_url(&gateways[0])))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(
        (gone.status, code(&gone.body).as_str()),
        (404, "profile_not_found")
    );

    // 3. a shard host cut off: 503 with Retry-After, quickly; back: the next query is exact
    hosts.link("s1", false);
    let started = Instant::now();
    let cut = send(post_query(&http, &gateways[0], &query)).await;
    assert_eq!(
        (cut.status, code(&cut.body).as_str()),
        (503, "shard_unavailable")
    );
    assert_eq!(cut.retry_after.as_deref(), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        send(http.get(format!("{}/readyz", gateways[1])))
            .await
            .status,
        503
    );
    hosts.link("s1", true);
    let back = send(post_query(&http, &gateways[0], &query)).await;
    assert_eq!(back.status, 200, "{}", code(&back.body));
    assert_eq!(back.body, expected.body);

    // 4. the catalog replaced shard by shard under a stream of queries: every answer is one
    //    version's exact scores or 503 catalog_changing, never a mix
    write_catalog(&catalog_path, &new);
    let stream = {
        let (http, gateway, query) = (http.clone(), gateways[1].clone(), query.clone());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let task = tokio::spawn(async move {
            let mut answers = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                answers.push(send(post_query(&http, &gateway, &query)).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        });
        (done, task)
    };
    for shard in &shards {
        let reloaded = send(
            http.post(format!("{shard}/admin/catalogs/test/reload"))
                .bearer_auth(ADMIN_KEY),
        )
        .await;
        assert_eq!(reloaded.status, 200, "{}", code(&reloaded.body));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = stream.1.await.unwrap();
    let (new_catalog, new_hint) = catalog_of(&http, &gateways[1]).await;
    assert_ne!(new_catalog.version, catalog.version);
    let (mut on_old, mut on_new, mut changing) = (0, 0, 0);
    for answer in &answers {
        if answer.status == 503 {
            assert_eq!(code(&answer.body), "catalog_changing");
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
            changing += 1;
            continue;
        }
        assert_eq!(answer.status, 200, "{}", code(&answer.body));
        let version = wire::peek(&answer.body).unwrap().catalog.version;
        let (catalog, hint, values) = if version == catalog.version {
            on_old += 1;
            (&catalog, &hint, &old)
        } else {
            on_new += 1;
            (&new_catalog, &new_hint, &new)
        };
        let response = wire::decode_response(&V1_128, catalog, ITEMS, &answer.body).unwrap();
        assert_eq!(
            response.decrypt(&key, hint, ITEMS).unwrap(),
            plain::scores(values, DIM, &prefs)
        );
    }
    eprintln!("netns: during the replacement {on_old} answers on the old version, {changing} catalog_changing, {on_new} on the new");
    assert!(
        on_old > 0 && changing > 0 && on_new > 0,
        "{on_old} old, {changing} changing, {on_new} new"
    );
}
