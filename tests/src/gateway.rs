//! What the gateway tests share: shard servers and gateways on loopback, requests, queries.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use veilrank_core::api::Manifest;
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{Query, SecretKey, V1_128};
use veilrank_engine::Shard;
use veilrank_server::catalogs::Catalogs;
use veilrank_server::gateway::Upstream;
use veilrank_server::{Config, RunningServer};

use crate::{integer_catalog, serve_with, test_config};

/// The test catalogs' dimension.
pub const DIM: usize = 16;
/// Six blocks and a bit: shards of 2, 2 and 3 blocks, the last one partial.
pub const ITEMS: usize = 6 * 2048 + 100;

/// A server of shard `k` of `of` of a catalog of `values`.
pub async fn shard(values: &[i8], k: usize, of: usize) -> RunningServer {
    let config = Config {
        shard: Some(Shard::try_new(k, of).unwrap()),
        ..test_config()
    };
    serve_with(&config, integer_catalog(DIM, values.to_vec())).await
}

/// A gateway to `upstreams` (each a comma-separated list of replicas).
pub async fn gateway(upstreams: &[String]) -> RunningServer {
    let config = Config {
        upstreams: upstreams
            .iter()
            .map(|u| Upstream::parse(u).unwrap())
            .collect(),
        request_timeout_secs: 10,
        ..test_config()
    };
    veilrank_server::start(&config, Catalogs::none())
        .await
        .unwrap()
}

/// The status, body and Retry-After of a GET.
pub async fn get(url: &str) -> (u16, Vec<u8>, Option<String>) {
    answer(reqwest::get(url).await.unwrap()).await
}

/// A response's status, body and Retry-After.
async fn answer(r: reqwest::Response) -> (u16, Vec<u8>, Option<String>) {
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (
        r.status().as_u16(),
        r.bytes().await.unwrap().to_vec(),
        retry,
    )
}

/// Asserts that `gateway` answers each GET of `paths` with 200 and the bytes `single` sends.
pub async fn assert_same_answers(gateway: &str, single: &str, paths: &[&str]) {
    for path in paths {
        let (status, body, _) = get(&format!("{gateway}{path}")).await;
        let (_, expected, _) = get(&format!("{single}{path}")).await;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(body, expected, "{path}");
    }
}

/// The status, body and Retry-After of an encrypted query posted to `base`.
pub async fn post_query(base: &str, body: Vec<u8>) -> (u16, Vec<u8>, Option<String>) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/catalogs/test/score"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// The error code of a JSON error body.
pub fn code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["error"]["code"].as_str().unwrap().to_string()
}

/// An encrypted query for the catalog `manifest` describes.
pub fn query(key: &SecretKey, manifest: &Manifest, prefs: &[i8]) -> Vec<u8> {
    let catalog = CatalogRef {
        id: manifest.id.clone(),
        version: ContentVersion::from_hex(&manifest.content_version).unwrap(),
    };
    wire::encode_query(&V1_128, &catalog, &Query::encrypt(key, prefs).unwrap()).unwrap()
}

/// Writes a JSON Lines catalog of `values` (rows of [`DIM`]), items `i0`, `i1`, ...
pub fn write_jsonl(path: &std::path::Path, values: &[i8]) {
    let lines: String = values
        .chunks_exact(DIM)
        .enumerate()
        .map(|(i, row)| {
            let row: Vec<String> = row.iter().map(i8::to_string).collect();
            format!("{{\"id\":\"i{i}\",\"vector\":[{}]}}\n", row.join(","))
        })
        .collect();
    std::fs::write(path, lines).unwrap();
}
