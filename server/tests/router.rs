//! The router driven with `oneshot`, no socket: readiness, manifest, errors.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use veilrank_core::api::Manifest;
use veilrank_core::V1_128;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::state::AppState;
use veilrank_server::{demo, router};

fn state(items: usize) -> AppState {
    AppState {
        catalog: Arc::new(ServedCatalog::new("demo", demo::catalog(items), V1_128).unwrap()),
        scoring: Arc::new(Semaphore::new(1)),
        queue_timeout: Duration::from_secs(1),
    }
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

#[tokio::test]
async fn not_ready_until_the_catalog_is_prepared() {
    let state = state(300);
    let app = router(state.clone(), Duration::from_secs(5));
    assert_eq!(get(app.clone(), "/healthz").await.0, StatusCode::OK);
    let (status, body) = get(app.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("not_ready"));
    assert_eq!(
        get(app.clone(), "/v1/catalog").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // metadata is public and available at once
    assert_eq!(
        get(app.clone(), "/v1/catalog/items").await.0,
        StatusCode::OK
    );

    state.catalog.prepare().unwrap();
    assert_eq!(get(app.clone(), "/readyz").await.0, StatusCode::OK);
    let (status, body) = get(app, "/v1/catalog").await;
    assert_eq!(status, StatusCode::OK);
    let manifest: Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest.item_count, 300);
    assert_eq!(manifest.dimension, demo::DIM);
    assert_eq!(
        manifest.parameters.fingerprint,
        V1_128.fingerprint().to_hex()
    );
    assert_eq!(
        manifest.content_version,
        state.catalog.reference.version.to_hex()
    );
    assert_eq!(manifest.topics.len(), 16);
    assert!(manifest.noise.log2_failure_per_score <= -64.0);
}

#[test]
fn content_version_follows_the_content() {
    let a = ServedCatalog::new("demo", demo::catalog(50), V1_128).unwrap();
    let b = ServedCatalog::new("demo", demo::catalog(50), V1_128).unwrap();
    let mut changed = demo::catalog(50);
    changed.items[7].title.push('!');
    let c = ServedCatalog::new("demo", changed, V1_128).unwrap();
    assert_eq!(a.reference.version, b.reference.version);
    assert_ne!(a.reference.version, c.reference.version);
}
