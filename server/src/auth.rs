//! Which apps may use the service: API keys with a rate limit each, and the admin key.
//!
//! Keys are kept only as BLAKE3 hashes and compared as hashes (constant-time equality); a key is
//! never logged, only the name its entry gives it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, ServerError};
use crate::state::AppState;

/// The header an app sends its API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The app a request came from (the name of its API key), for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppName(pub String);

struct KeyEntry {
    name: String,
    limiter: DefaultDirectRateLimiter,
}

/// The configured API keys; with none, `/v1` is open.
pub struct ApiKeys {
    keys: HashMap<[u8; 32], KeyEntry>,
    clock: DefaultClock,
}

/// The admin key's hash, if admin routes are on.
pub struct AdminKey(Option<blake3::Hash>);

fn hash(key: &str) -> blake3::Hash {
    blake3::hash(key.as_bytes())
}

impl AdminKey {
    /// From the configured key (`None`: admin routes answer 404).
    pub fn new(key: Option<&str>) -> Result<Self, ServerError> {
        match key {
            Some(k) if k.len() < 16 => Err(ServerError::Config(
                "the admin key must be at least 16 characters".into(),
            )),
            Some(k) => Ok(Self(Some(hash(k)))),
            None => Ok(Self(None)),
        }
    }
}

impl ApiKeys {
    /// Parses entries `NAME:KEY[:REQUESTS_PER_MINUTE]` from the flag or environment and from the
    /// file (one per line, `#` comments); `default_per_minute` for entries without a limit.
    pub fn load(
        entries: &[String],
        file: Option<&Path>,
        default_per_minute: u32,
    ) -> Result<Self, ServerError> {
        let mut lines: Vec<(String, String)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("--api-keys entry {}", i + 1), e.clone()))
            .collect();
        if let Some(path) = file {
            let text = crate::private_files::read_secret(path).map_err(|e| {
                ServerError::Config(format!("cannot read API keys from {}: {e}", path.display()))
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    lines.push((format!("{}:{}", path.display(), n + 1), line.to_string()));
                }
            }
        }
        let mut keys = HashMap::new();
        for (origin, line) in lines {
            let bad = |what: &str| ServerError::Config(format!("{origin}: {what}"));
            let mut parts = line.trim().splitn(3, ':');
            let name = parts.next().unwrap_or("").trim();
            let key = parts.next().unwrap_or("").trim();
            if name.is_empty() || key.is_empty() {
                return Err(bad("expected NAME:KEY[:REQUESTS_PER_MINUTE]"));
            }
            if key.len() < 16 {
                return Err(bad("the key must be at least 16 characters"));
            }
            let per_minute = match parts.next() {
                Some(n) => n.trim().parse::<u32>().map_err(|_| {
                    bad("the rate limit must be a whole number of requests per minute")
                })?,
                None => default_per_minute,
            };
            let per_minute = NonZeroU32::new(per_minute)
                .ok_or_else(|| bad("the rate limit must be at least 1 per minute"))?;
            let entry = KeyEntry {
                name: name.to_string(),
                limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
            };
            if keys.insert(*hash(key).as_bytes(), entry).is_some() {
                return Err(bad("this key is listed twice"));
            }
        }
        Ok(Self {
            keys,
            clock: DefaultClock::default(),
        })
    }

    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The app a presented key belongs to, if it is within its rate limit.
    pub fn check(&self, presented: Option<&str>) -> Result<Option<AppName>, AppError> {
        if !self.enabled() {
            return Ok(None);
        }
        let presented = presented.ok_or_else(|| {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                format!("this server needs an API key in the {API_KEY_HEADER} header"),
            )
        })?;
        // the lookup is by hash: its timing depends on the hash, not on how much of a key matched
        let entry = self.keys.get(hash(presented).as_bytes()).ok_or_else(|| {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "bad_api_key",
                "the API key is not valid",
            )
        })?;
        if let Err(not_until) = entry.limiter.check() {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "this API key is over its rate limit; retry in {} ms",
                    wait.as_millis()
                ),
            )
            .retry_after(retry_after_secs(wait)));
        }
        Ok(Some(AppName(entry.name.clone())))
    }
}

/// Whole seconds to wait, rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn presented(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    presented(headers, header::AUTHORIZATION.as_str()).and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(|t| t.trim().to_string())
    })
}

/// Middleware of every `/v1` route: a valid API key within its rate limit, when keys are on.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let key = presented(request.headers(), API_KEY_HEADER);
    match state.api_keys.check(key.as_deref()) {
        Ok(app) => {
            if let Some(app) = app {
                request.extensions_mut().insert(app);
            }
            next.run(request).await
        }
        Err(e) => {
            if e.status() == StatusCode::TOO_MANY_REQUESTS {
                state.metrics.rate_limited.inc();
            }
            e.into_response()
        }
    }
}

/// Middleware of the `/admin` routes: the admin key as a bearer token; 404 when admin is off.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.admin_key.0 else {
        return crate::routes::ops::not_found().await.into_response();
    };
    match bearer(request.headers()) {
        Some(key) if hash(&key) == expected => next.run(request).await,
        _ => AppError::new(
            StatusCode::UNAUTHORIZED,
            "bad_admin_key",
            "this route needs the admin key as a bearer token",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_load_from_entries_and_files_and_rate_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        std::fs::write(&file, "# apps\nbeta:bbbbbbbbbbbbbbbbbbbb:2\n\n").unwrap();
        let keys = ApiKeys::load(&["alpha:aaaaaaaaaaaaaaaaaaaa".into()], Some(&file), 600).unwrap();
        assert_eq!(
            keys.check(Some("aaaaaaaaaaaaaaaaaaaa")).unwrap(),
            Some(AppName("alpha".into()))
        );
        assert_eq!(
            keys.check(None).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            keys.check(Some("cccccccccccccccccccc"))
                .unwrap_err()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        // beta: a burst of 2, then 429
        assert!(keys.check(Some("bbbbbbbbbbbbbbbbbbbb")).is_ok());
        assert!(keys.check(Some("bbbbbbbbbbbbbbbbbbbb")).is_ok());
        let limited = keys.check(Some("bbbbbbbbbbbbbbbbbbbb")).unwrap_err();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        // alpha has its own bucket
        assert!(keys.check(Some("aaaaaaaaaaaaaaaaaaaa")).is_ok());
    }

    #[test]
    fn bad_entries_name_their_origin() {
        for (entry, want) in [
            ("nokey", "expected NAME:KEY"),
            ("a:short", "at least 16"),
            ("a:aaaaaaaaaaaaaaaaaaaa:x", "whole number"),
            ("a:aaaaaaaaaaaaaaaaaaaa:0", "at least 1"),
        ] {
            let e = ApiKeys::load(&[entry.into()], None, 60)
                .err()
                .unwrap()
                .to_string();
            assert!(
                e.contains("--api-keys entry 1") && e.contains(want),
                "{entry}: {e}"
            );
        }
        assert!(!ApiKeys::load(&[], None, 60).unwrap().enabled());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }
}
