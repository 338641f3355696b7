//! Bad input over real HTTP: each gets a 4xx with a JSON message, and the server keeps serving.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use veilrank_client::Client;
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{ParameterSet, Query, SecretKey, V1_128};
use veilrank_e2e::{integer_catalog, random_values, serve};

async fn post(url: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/score"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_4xx_with_a_message_and_the_server_keeps_serving() {
    let dim = 8;
    let values = random_values(1, dim * 100);
    let server = serve(integer_catalog(dim, values)).await;
    let url = server.url();
    let catalog = server.state.catalogs.default_catalog().reference.clone();
    let key = SecretKey::generate(&V1_128).unwrap();
    let query = Query::encrypt(&key, &random_values(2, dim)).unwrap();
    let valid = wire::encode_query(&V1_128, &catalog, &query).unwrap();
    let octets = "application/octet-stream";

    let other_params = ParameterSet {
        name: "someone-else",
        ..V1_128
    };
    let other_catalog = CatalogRef {
        id: "someone-elses".into(),
        version: ContentVersion([0; 32]),
    };
    let smaller = Query::encrypt(&key, &random_values(3, dim - 1)).unwrap();
    let larger = Query::encrypt(&key, &random_values(3, dim + 1)).unwrap();
    let limit = server.state.catalogs.default_catalog().query_size_limit();

    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "garbage",
            octets,
            b"hello, server".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_magic",
        ),
        (
            "empty",
            octets,
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "bad_magic",
        ),
        (
            "truncated",
            octets,
            valid[..valid.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "wrong fingerprint",
            octets,
            wire::encode_query(&other_params, &catalog, &query).unwrap(),
            StatusCode::CONFLICT,
            "parameter_mismatch",
        ),
        (
            "another catalog",
            octets,
            wire::encode_query(&V1_128, &other_catalog, &query).unwrap(),
            StatusCode::CONFLICT,
            "catalog_mismatch",
        ),
        (
            "smaller dimension",
            octets,
            wire::encode_query(&V1_128, &catalog, &smaller).unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "dimension_mismatch",
        ),
        (
            "larger dimension",
            octets,
            wire::encode_query(&V1_128, &catalog, &larger).unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_body",
        ),
        (
            "oversized",
            octets,
            vec![0u8; limit + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_body",
        ),
        (
            // media types are case-insensitive and may carry parameters
            "upper-case content type",
            "APPLICATION/Octet-Stream; charset=binary",
            b"hello, server".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_magic",
        ),
        (
            "a content type with more glued on",
            "application/octet-streamjunk",
            valid.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "wrong content type",
            "application/json",
            valid.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (name, content_type, body, status, code) in cases {
        let (got, json) = post(&url, content_type, body).await;
        assert_eq!(got, status, "{name}: {json}");
        assert_eq!(json["error"]["code"], code, "{name}: {json}");
        let message = json["error"]["message"].as_str().unwrap_or("");
        assert!(message.len() > 10, "{name}: message {message:?}");
        // still serving
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK, "after {name}");
    }
    let (got, _) = post(&url, octets, valid).await;
    assert_eq!(got, StatusCode::OK, "a valid query after the bad ones");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_turns_errors_into_typed_errors() {
    let dim = 4;
    let server = serve(integer_catalog(dim, random_values(1, dim * 10))).await;
    let client = Client::connect(&server.url(), Duration::from_secs(5))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let e = client.score(&key, &[1.0; 5]).await.unwrap_err();
    assert!(
        matches!(e, veilrank_client::ClientError::InvalidPreferences(_)),
        "{e}"
    );
    let e = client
        .score(&key, &[1.0, f32::NAN, 0.0, 0.0])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("finite"), "{e}");
    assert!(
        Client::connect("http://127.0.0.1:9", Duration::from_secs(1))
            .await
            .is_err()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_bad_pages_are_json_errors() {
    let server = serve(integer_catalog(2, random_values(1, 2 * 30))).await;
    let url = server.url();
    let response = reqwest::get(format!("{url}/nope")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "not_found");
    for query in ["limit=0", "limit=100000", "offset=-1", "limit=abc"] {
        let response = reqwest::get(format!("{url}/v1/catalog/items?{query}"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let page: serde_json::Value =
        reqwest::get(format!("{url}/v1/catalog/items?offset=25&limit=10"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["total"], 30);
    assert_eq!(page["items"][0]["id"], "i25");
    server.shutdown().await.unwrap();
}

/// A hostile or broken server costs the SDK an error, not its memory: a body past the SDK's
/// limit is refused whether its length is announced or it simply never ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reads_at_most_a_bounded_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for announced in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hostile = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let head = if announced {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
            };
            stream.write_all(head.as_bytes()).await.unwrap();
            // 64 MB of JSON-looking bytes, or until the client hangs up
            let chunk = vec![b' '; 1 << 20];
            for _ in 0..64 {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        let result = Client::connect(&url, Duration::from_secs(10)).await;
        assert!(
            matches!(result, Err(veilrank_client::ClientError::TooLarge { .. })),
            "announced length {announced}: {:?}",
            result.map(|_| ())
        );
        hostile.abort();
    }
}
