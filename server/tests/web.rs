//! The browser-facing routes driven with `oneshot`: the demo page and its headers,
//! `--no-demo-page`, and CORS (same origin only unless `--cors-origin` names others).

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use veilrank_core::V1_128;
use veilrank_server::app::build_state;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::catalogs::Catalogs;
use veilrank_server::web::{sdk_embedded, WebOptions};
use veilrank_server::{demo, router, Config};

fn router_with(config: &Config) -> axum::Router {
    let catalog = ServedCatalog::new("demo", demo::catalog(10), V1_128).unwrap();
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "demo").unwrap();
    router(
        build_state(config, catalogs).unwrap(),
        Duration::from_secs(5),
    )
}

async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = app.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, body)
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

/// A response header as text; panics (failing the test) when it is missing.
fn text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers[&name].to_str().unwrap()
}

fn code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_demo_page_is_served_with_a_strict_policy() {
    let app = router_with(&Config::demo());
    let (status, headers, body) = get(app.clone(), "/demo/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    let csp = text(&headers, header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("default-src 'self'") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(String::from_utf8(body).unwrap().contains("app.js"));

    let (status, headers, _) = get(app.clone(), "/").await;
    assert!(status.is_redirection());
    assert_eq!(headers[header::LOCATION], "/demo/");

    let (status, headers, body) = get(app.clone(), "/demo/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&headers, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert!(String::from_utf8(body).unwrap().contains("./sdk/index.js"));

    for path in [
        "/demo/nope.html",
        "/demo/sdk/../../Cargo.toml",
        "/demo/%2e%2e/Cargo.toml",
    ] {
        let (status, _, body) = get(app.clone(), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!code(&body).is_empty(), "{path}");
    }
}

#[tokio::test]
async fn the_sdk_is_served_when_built_and_explained_when_not() {
    let app = router_with(&Config::demo());
    let (status, headers, body) = get(app.clone(), "/demo/sdk/index.js").await;
    if sdk_embedded() {
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(body).unwrap().contains("Veilrank"));
        let (status, headers, wasm) = get(app, "/demo/sdk/gen/veilrank_web_bg.wasm").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(&wasm[..4], b"\0asm");
    } else {
        eprintln!("NOTE: this server was built without web/pkg: checking the page's explanation");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(code(&body), "web_sdk_not_built");
    }
}

#[tokio::test]
async fn no_demo_page_means_no_page() {
    let config = Config {
        no_demo_page: true,
        ..Config::demo()
    };
    let app = router_with(&config);
    for path in ["/", "/demo/", "/demo/app.js", "/demo/sdk/index.js"] {
        let (status, _, body) = get(app.clone(), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(code(&body), "not_found", "{path}");
    }
    // the API is unaffected
    assert_eq!(get(app, "/healthz").await.0, StatusCode::OK);
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/v1/catalogs/demo/score")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,x-api-key",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn other_origins_are_refused_unless_configured() {
    // default: same origin only, so no CORS headers for anyone
    let app = router_with(&Config::demo());
    let (_, headers, _) = send(app, preflight("https://app.example.com")).await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

    let config = Config {
        cors_origins: vec!["https://app.example.com".into()],
        ..Config::demo()
    };
    let app = router_with(&config);
    let (status, headers, _) = send(app.clone(), preflight("https://app.example.com")).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let allowed = text(&headers, header::ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(
        allowed.contains("x-api-key") && allowed.contains("content-type"),
        "{allowed}"
    );

    let (_, headers, _) = send(app.clone(), preflight("https://evil.example.com")).await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

    let request = Request::get("/v1/catalog")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::empty())
        .unwrap();
    // the catalog is not prepared here: an error, which the app must be able to read too
    let (status, headers, body) = send(app, request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&body), "not_ready");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let exposed = text(&headers, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert!(
        exposed.contains("server-timing") && exposed.contains("retry-after"),
        "{exposed}"
    );
}

#[test]
fn a_cors_origin_must_be_an_origin() {
    for bad in [
        "app.example.com",
        "https://",
        "https://app.example.com/path",
        "ftp://x.example",
        "*.example.com",
        "https://app.example.com?x",
        "https://user@app.example.com",
        "https://App.example.com",
    ] {
        let e = WebOptions::try_new(true, &[bad.to_owned()]).unwrap_err();
        assert!(e.to_string().contains("--cors-origin"), "{bad}: {e}");
    }
    for good in ["*", "https://app.example.com", "http://localhost:3000"] {
        assert!(
            WebOptions::try_new(true, &[good.to_owned()]).is_ok(),
            "{good}"
        );
    }
}
