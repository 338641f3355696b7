//! A shard's replicas as the gateway addresses them, taken in turn.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Url;

/// The replicas of one shard: `--upstream http://a:8080,http://b:8080`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    replicas: Vec<Url>,
}

impl Upstream {
    /// Parses comma-separated `http(s)://host:port` base URLs.
    pub fn parse(s: &str) -> Result<Self, String> {
        let replicas = s
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                let mut url =
                    Url::parse(r).map_err(|e| format!("upstream {r:?} is not a URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(format!("upstream {r:?} must be http(s)://host[:port]"));
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(format!("upstream {r:?} must not have a query or fragment"));
                }
                // a base that paths are joined onto
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                Ok(url)
            })
            .collect::<Result<Vec<_>, String>>()?;
        if replicas.is_empty() {
            return Err("an upstream needs at least one replica URL".into());
        }
        Ok(Self { replicas })
    }

    /// Its replicas' base URLs.
    #[must_use]
    pub fn replicas(&self) -> &[Url] {
        &self.replicas
    }
}

/// A shard's replicas and whose turn it is.
#[derive(Debug)]
pub(super) struct Replicas {
    urls: Vec<Url>,
    next: AtomicUsize,
}

impl Replicas {
    pub(super) fn new(upstream: &Upstream) -> Self {
        Self {
            urls: upstream.replicas.clone(),
            next: AtomicUsize::new(0),
        }
    }

    /// Every replica once, starting from the next in turn: requests spread over the replicas,
    /// and one that fails is followed by the others.
    pub(super) fn in_turn(&self) -> impl Iterator<Item = &Url> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.urls.len();
        (0..n).map(move |i| &self.urls[(start + i) % n])
    }
}

/// Reads a body of at most `limit` bytes: a shard is trusted to be ours, not to be right.
pub(super) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<axum::body::Bytes, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("a body of more than {limit} bytes"));
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > limit {
            return Err(format!("a body of more than {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse_and_bad_ones_are_refused() {
        let up = Upstream::parse("http://a:8080, http://b:8080/base").unwrap();
        let urls: Vec<&str> = up.replicas().iter().map(Url::as_str).collect();
        assert_eq!(urls, ["http://a:8080/", "http://b:8080/base/"]);
        for bad in ["", " , ", "a:8080", "ftp://a", "http://a?x=1", "http://"] {
            assert!(Upstream::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replicas_take_turns_and_each_is_tried_once() {
        let replicas = Replicas::new(&Upstream::parse("http://a,http://b,http://c").unwrap());
        let first: Vec<_> = replicas
            .in_turn()
            .map(|u| u.host_str().unwrap().to_string())
            .collect();
        let second: Vec<_> = replicas
            .in_turn()
            .map(|u| u.host_str().unwrap().to_string())
            .collect();
        assert_eq!(first, ["a", "b", "c"]);
        assert_eq!(second, ["b", "c", "a"]);
    }
}
