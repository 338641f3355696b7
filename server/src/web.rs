//! The browser side of the server: the demo page (embedded, `--no-demo-page` turns it off), the
//! web SDK it runs on (embedded when `web/build.sh` built it before the server), and CORS for
//! apps on other origins (`--cors-origin`; by default a browser lets only this origin read).

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{AppError, ServerError};
use crate::state::AppState;

include!(concat!(env!("OUT_DIR"), "/web_sdk.rs"));

/// The demo page's own files.
const PAGE: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../web/style.css"),
    ),
];

/// What the demo page may load and run: its own origin only, and WebAssembly compilation.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The browser-facing options of a server.
#[derive(Clone, Debug, Default)]
pub struct WebOptions {
    /// Serve the demo page at `/demo/`.
    pub demo_page: bool,
    /// Origins (other than the server's own) whose pages may call `/v1`; `*` for any.
    pub cors_origins: Vec<HeaderValue>,
}

impl WebOptions {
    /// Checks the origins: `*`, or exactly an origin as a browser sends it
    /// (`scheme://host[:port]`, lower case, nothing after).
    pub fn try_new(demo_page: bool, origins: &[String]) -> Result<Self, ServerError> {
        let cors_origins = origins
            .iter()
            .map(|o| {
                let valid = o == "*"
                    || url::Url::parse(o).is_ok_and(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.origin().ascii_serialization() == *o
                    });
                match (valid, HeaderValue::from_str(o)) {
                    (true, Ok(v)) => Ok(v),
                    _ => Err(ServerError::Config(format!(
                        "--cors-origin {o:?} is not an origin (https://app.example.com, or *)"
                    ))),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            demo_page,
            cors_origins,
        })
    }

    /// The CORS layer, when origins are configured.
    pub(crate) fn cors(&self) -> Option<CorsLayer> {
        if self.cors_origins.is_empty() {
            return None;
        }
        let origin = if self.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(self.cors_origins.clone())
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    HeaderName::from_static("x-api-key"),
                ])
                .expose_headers([
                    HeaderName::from_static("server-timing"),
                    header::RETRY_AFTER,
                ])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

/// The demo page's routes: `/` redirects to `/demo/`.
pub(crate) fn demo_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/demo/") }))
        .route("/demo", get(|| async { Redirect::to("/demo/") }))
        .route("/demo/", get(|| async { file("index.html") }))
        .route(
            "/demo/{*path}",
            get(|Path(path): Path<String>| async move { file(&path) }),
        )
}

/// Whether this binary carries the web SDK.
#[must_use]
pub fn sdk_embedded() -> bool {
    !WEB_SDK.is_empty()
}

fn file(path: &str) -> Response {
    let (content_type, body): (&str, &'static [u8]) = if let Some((_, t, body)) =
        PAGE.iter().find(|(name, _, _)| *name == path)
    {
        (t, body.as_bytes())
    } else if let Some((_, body)) = path
        .strip_prefix("sdk/")
        .and_then(|p| WEB_SDK.iter().find(|(name, _)| *name == p))
    {
        let t = if path.ends_with(".wasm") {
            "application/wasm"
        } else {
            "text/javascript; charset=utf-8"
        };
        (t, body)
    } else if path.starts_with("sdk/") && !sdk_embedded() {
        return AppError::new(
                StatusCode::NOT_FOUND,
                "web_sdk_not_built",
                "this server was built without the web SDK: run web/build.sh, then build the server again",
            )
            .into_response();
    } else {
        return AppError::new(StatusCode::NOT_FOUND, "not_found", "no such file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
