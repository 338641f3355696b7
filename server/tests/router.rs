//! The router driven with `oneshot`, no socket: readiness, manifest, errors.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use veilrank_core::api::Manifest;
use veilrank_core::V1_128;
use veilrank_server::app::build_state;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::catalogs::Catalogs;
use veilrank_server::routes::{self, Access};
use veilrank_server::state::AppState;
use veilrank_server::{demo, router, Config};

fn state(items: usize) -> AppState {
    let catalog = ServedCatalog::new("demo", demo::catalog(items), V1_128).unwrap();
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "demo").unwrap();
    build_state(&Config::demo(), catalogs).unwrap()
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
    // metadata is public and available at once; the hint comes with preparation
    assert_eq!(
        get(app.clone(), "/v1/catalog/items").await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(app.clone(), "/v1/catalog/hint").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    state.catalogs.prepare_all().unwrap();
    assert_eq!(get(app.clone(), "/readyz").await.0, StatusCode::OK);
    let (status, body) = get(app.clone(), "/v1/catalog").await;
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
        state.catalogs.default_catalog().reference.version.to_hex()
    );
    assert_eq!(manifest.topics.len(), 16);
    assert!(manifest.noise.log2_failure_per_score <= -64.0);
    // the hint: the size the manifest announces, for this content version, under both routes
    let reference = state.catalogs.default_catalog().reference.clone();
    let (status, hint) = get(app.clone(), "/v1/catalog/hint").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hint.len(), manifest.hint_bytes);
    let decoded = veilrank_core::wire::decode_hint(&V1_128, &reference, 300, &hint).unwrap();
    assert_eq!(decoded.items(), 300);
    assert_eq!(get(app, "/v1/catalogs/demo/hint").await.1, hint);
}

/// The hint in the form asked for: exact by default (what every client decodes), rounded on
/// request at the manifest's width and byte count, tagged apart; a bad form is a JSON 400.
#[tokio::test]
async fn the_hint_comes_exact_or_rounded_as_asked() {
    let state = state(3000);
    state.catalogs.prepare_all().unwrap();
    let app = router(state.clone(), Duration::from_secs(5));
    let manifest: Manifest =
        serde_json::from_slice(&get(app.clone(), "/v1/catalog").await.1).unwrap();
    let reference = state.catalogs.default_catalog().reference.clone();
    let fetch = |path: &'static str| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let etag = response.headers().get("etag").cloned();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, etag, body.to_vec())
        }
    };
    let (_, exact_tag, exact) = fetch("/v1/catalog/hint").await;
    let (status, _, asked_exact) = fetch("/v1/catalogs/demo/hint?form=exact").await;
    assert_eq!((status, &asked_exact), (StatusCode::OK, &exact));
    let (status, rounded_tag, rounded) = fetch("/v1/catalogs/demo/hint?form=rounded").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Some(rounded.len()), manifest.rounded_hint_bytes);
    assert_ne!(rounded_tag, exact_tag);
    let bits = manifest.noise.hint_bits.unwrap();
    // 2 blocks of 2048 coefficients: t bits each against the exact hint's 7 bytes
    assert!(rounded.len() < 2 * 2048 * bits as usize / 8 + 300);
    assert!(exact.len() > 2 * 2048 * 7);
    let decode = |bytes: &[u8]| veilrank_core::wire::decode_hint(&V1_128, &reference, 3000, bytes);
    let (exact, rounded) = (decode(&exact).unwrap(), decode(&rounded).unwrap());
    assert_eq!(exact.rounding(), None);
    assert_eq!(rounded.rounding(), Some(bits));
    assert_eq!(rounded.id(), exact.id());
    for bad in [
        "/v1/catalog/hint?form=approximate",
        "/v1/catalog/hint?from=rounded",
    ] {
        let (status, body) = get(app.clone(), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let body: veilrank_core::api::ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.error.code, "bad_query");
        assert!(
            body.error.message.contains("exact or rounded"),
            "{}",
            body.error.message
        );
    }
}

/// A stored profile in the wire format before public masks (version 1) gets 409
/// `profile_incompatible`, which tells its owner to replace it, not 400 as if the request were bad.
#[tokio::test]
async fn a_profile_stored_in_an_earlier_wire_format_is_incompatible() {
    use veilrank_server::store::ProfileId;
    use veilrank_server::token::AccessToken;
    let state = state(50);
    state.catalogs.prepare_all().unwrap();
    let app = router(state.clone(), Duration::from_secs(5));
    let key = veilrank_core::SecretKey::generate(&V1_128).unwrap();
    let reference = state.catalogs.default_catalog().reference.clone();
    let query = veilrank_core::Query::encrypt(&key, &[3i8; demo::DIM]).unwrap();
    let body = veilrank_core::wire::encode_query(&V1_128, &reference, &query).unwrap();
    let created = app
        .clone()
        .oneshot(
            Request::post("/v1/profiles")
                .header("content-type", "application/octet-stream")
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: veilrank_core::api::ProfileCreated =
        serde_json::from_slice(&created.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let id = ProfileId::parse(&created.profile.id).unwrap();
    let token = AccessToken::parse(&created.token).unwrap();

    // the same message as format 1 would have carried it, sealed as the server seals content
    let mut old = body;
    old[4..6].copy_from_slice(&1u16.to_le_bytes());
    let meta = state.store.meta(&id).unwrap().unwrap();
    let sealed = token.seal(&id, &old).unwrap();
    assert!(state.store.replace(&id, &meta, &sealed).unwrap());

    let scored = app
        .oneshot(
            Request::post(format!("/v1/profiles/{}/score", created.profile.id))
                .header("authorization", format!("Bearer {}", created.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(scored.status(), StatusCode::CONFLICT);
    let body = scored.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("profile_incompatible"), "{text}");
    assert!(text.contains("wire format 1"), "{text}");
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

#[test]
fn the_openapi_document_describes_exactly_the_routes_that_exist() {
    let document = veilrank_server::openapi::document();
    let paths = document["paths"].as_object().unwrap();
    let mut described = std::collections::BTreeSet::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            described.insert((method.to_uppercase(), path.clone()));
            let security = operation["security"].to_string();
            let endpoint = routes::endpoints()
                .into_iter()
                .find(|e| e.path == path && e.method.as_str() == method.to_uppercase())
                .unwrap_or_else(|| panic!("{method} {path} is described but not routed"));
            let expected = match endpoint.access {
                Access::Public => "[]",
                Access::App => "apiKey",
                Access::Admin => "adminKey",
            };
            assert!(
                security.contains(expected),
                "{method} {path}: security {security}, route access {:?}",
                endpoint.access
            );
            assert!(operation["responses"].is_object(), "{method} {path}");
            if endpoint.access != Access::Public {
                // a guarded route can always refuse its key
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{method} {path} does not document 401"
                );
            }
            if endpoint.access == Access::App {
                assert!(
                    operation["responses"]["429"].is_object(),
                    "{method} {path} does not document 429"
                );
            }
        }
    }
    // values the server refuses are outside the documented range
    let offset = &paths["/v1/catalog/items"]["get"]["parameters"][0];
    assert_eq!(offset["name"], "offset");
    assert_eq!(offset["schema"]["maximum"], u64::MAX);
    let routed: std::collections::BTreeSet<_> = routes::endpoints()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    assert_eq!(described, routed);
}

#[tokio::test]
async fn every_routed_endpoint_answers_and_the_document_is_served() {
    let state = state(100);
    state.catalogs.prepare_all().unwrap();
    let app = router(state, Duration::from_secs(5));
    for endpoint in routes::endpoints() {
        let path = endpoint
            .path
            .replace("{catalog}", "demo")
            .replace("{id}", &"0".repeat(32));
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(endpoint.method.clone())
                    .uri(&path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            !String::from_utf8_lossy(&body).contains("no such route")
                || endpoint.access == Access::Admin,
            "{} {path} fell through to the fallback ({status})",
            endpoint.method
        );
    }
    let (status, body) = get(app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, veilrank_server::openapi::document());
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_catalogs() {
    let state = state(100);
    state.catalogs.prepare_all().unwrap();
    let app = router(state, Duration::from_secs(5));
    get(app.clone(), "/v1/catalog").await;
    get(app.clone(), &format!("/v1/profiles/{}", "ab".repeat(16))).await;
    let (status, body) = get(app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    for needle in [
        "veilrank_http_requests_total{route=\"/v1/catalog\",method=\"GET\",status=\"200\"} 1",
        // the id never becomes a label
        "veilrank_http_requests_total{route=\"/v1/profiles/{id}\",method=\"GET\",status=\"401\"} 1",
        "veilrank_http_request_duration_seconds_bucket{le=",
        "veilrank_scoring_queue_depth 0",
        "veilrank_profiles_stored 0",
        "veilrank_catalog_items{catalog=\"demo\"} 100",
        "veilrank_catalog_dimension{catalog=\"demo\"} 64",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains(&"ab".repeat(16)));
    if cfg!(target_os = "linux") {
        let peak: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("veilrank_process_peak_resident_bytes "))
            .expect("peak memory gauge")
            .parse()
            .unwrap();
        assert!(peak > 1 << 20, "{peak}");
    }
}

#[tokio::test]
async fn the_privacy_statement_states_the_configured_retention() {
    let catalog = ServedCatalog::new("demo", demo::catalog(10), V1_128).unwrap();
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "demo").unwrap();
    let config = Config {
        profile_lifetime: Duration::from_secs(7 * 24 * 3600),
        profile_idle_expiry: Some(Duration::from_secs(3600)),
        ..Config::demo()
    };
    let app = router(
        build_state(&config, catalogs).unwrap(),
        Duration::from_secs(5),
    );
    let (status, body) = get(app, "/v1/privacy").await;
    assert_eq!(status, StatusCode::OK);
    let privacy: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(privacy["retention"]["max_lifetime_secs"], 7 * 24 * 3600);
    assert_eq!(privacy["retention"]["idle_expiry_secs"], 3600);
    assert!(privacy["query"]["never_sees"]
        .to_string()
        .contains("preference vector"));
    assert!(privacy["deletion"].as_str().unwrap().contains("free pages"));
}

#[tokio::test]
async fn admin_routes_are_off_without_a_key_and_closed_to_a_wrong_one() {
    let reload = |key: Option<&str>| {
        let mut request = Request::post("/admin/catalogs/demo/reload");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        request.body(Body::empty()).unwrap()
    };
    let app = router(state(10), Duration::from_secs(5));
    let off = app.oneshot(reload(Some("anything"))).await.unwrap();
    assert_eq!(off.status(), StatusCode::NOT_FOUND);

    let catalog = ServedCatalog::new("demo", demo::catalog(10), V1_128).unwrap();
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "demo").unwrap();
    let config = Config {
        admin_key: Some("the-admin-key-0123".into()),
        ..Config::demo()
    };
    let app = router(
        build_state(&config, catalogs).unwrap(),
        Duration::from_secs(5),
    );
    let wrong = app
        .clone()
        .oneshot(reload(Some("not-the-key-0123")))
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // the demo catalog has no file to reload from
    let right = app
        .oneshot(reload(Some("the-admin-key-0123")))
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::CONFLICT);
}
