//! The HTTP client: manifest, encryption, scoring, decryption, ranking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use veilrank_core::api::{ErrorBody, ItemInfo, ItemsPage, Manifest};
use veilrank_core::quantize::{dequantize_score, quantize};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{rank, Query, SecretKey, V1_128};

use crate::error::{ClientError, Result};

/// Items per page when fetching the catalog's metadata.
const PAGE: usize = 10_000;

/// A ranked item.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RankedItem {
    /// 1 for the best.
    pub rank: usize,
    /// Item id.
    pub id: String,
    /// Item title.
    pub title: String,
    /// The dot product in the units of the original vectors (from the exact integer score).
    pub score: f32,
    /// The exact integer score of the quantized vectors.
    pub raw_score: i32,
}

/// Where the time and the bytes of one query went.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Client: quantization and encryption.
    pub encrypt: Duration,
    /// The HTTP round trip (upload, server, download).
    pub round_trip: Duration,
    /// Server scoring, as the server reports it (`Server-Timing`).
    pub server: Option<Duration>,
    /// Client: decryption.
    pub decrypt: Duration,
    /// Client: ranking.
    pub rank: Duration,
    /// Bytes of the query body sent.
    pub bytes_sent: usize,
    /// Bytes of the response body received.
    pub bytes_received: usize,
}

/// Decrypted scores of every item.
#[derive(Clone, Debug)]
pub struct Scores {
    /// Exact integer scores, in catalog order.
    pub raw: Vec<i32>,
    /// The query's quantization scale.
    pub query_scale: f32,
    /// Timings and sizes.
    pub report: Report,
}

/// The answer to [`Client::recommend`].
#[derive(Clone, Debug)]
pub struct Recommendations {
    /// The best items, best first.
    pub items: Vec<RankedItem>,
    /// Timings and sizes.
    pub report: Report,
}

/// A connection to one veilrank server and its catalog.
pub struct Client {
    http: reqwest::Client,
    base: String,
    manifest: Manifest,
    catalog: CatalogRef,
    items: OnceCell<Arc<Vec<ItemInfo>>>,
}

impl Client {
    /// Connects: fetches the manifest and checks that the server speaks this SDK's parameter
    /// set. Waits up to `ready_timeout` for a server that is still preparing its catalog.
    pub async fn connect(base_url: &str, ready_timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let base = base_url.trim_end_matches('/').to_string();
        let deadline = Instant::now() + ready_timeout;
        let manifest: Manifest = loop {
            let response = http.get(format!("{base}/v1/catalog")).send().await?;
            if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            break json_or_error(response).await?;
        };
        let ours = V1_128.fingerprint().to_hex();
        if manifest.parameters.fingerprint != ours {
            return Err(ClientError::ParameterMismatch {
                server: manifest.parameters.fingerprint.clone(),
                client: ours,
            });
        }
        V1_128.check_dim(manifest.dimension)?;
        let catalog = CatalogRef {
            id: manifest.id.clone(),
            version: ContentVersion::from_hex(&manifest.content_version)?,
        };
        Ok(Self {
            http,
            base,
            manifest,
            catalog,
            items: OnceCell::new(),
        })
    }

    /// The catalog manifest fetched at connection.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// A preference vector that likes the named topics equally (their sum).
    pub fn preferences_from_topics(&self, names: &[&str]) -> Result<Vec<f32>> {
        if names.is_empty() {
            return Err(ClientError::InvalidPreferences("no topics named".into()));
        }
        let mut prefs = vec![0f32; self.manifest.dimension];
        for name in names {
            let topic = self
                .manifest
                .topics
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| {
                    let known: Vec<&str> = self
                        .manifest
                        .topics
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect();
                    ClientError::InvalidPreferences(format!(
                        "unknown topic {name:?}; this catalog has: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ))
                })?;
            for (p, v) in prefs.iter_mut().zip(&topic.vector) {
                *p += v;
            }
        }
        Ok(prefs)
    }

    /// Encrypts `prefs`, has every item scored on the ciphertext, and decrypts the scores.
    /// Encryption and decryption run on the blocking pool.
    pub async fn score(&self, key: &Arc<SecretKey>, prefs: &[f32]) -> Result<Scores> {
        if prefs.len() != self.manifest.dimension {
            return Err(ClientError::InvalidPreferences(format!(
                "{} values, the catalog's dimension is {}",
                prefs.len(),
                self.manifest.dimension
            )));
        }
        let mut report = Report::default();
        let started = Instant::now();
        let quantized = quantize(prefs)?;
        let query_scale = quantized.scale;
        let (encrypt_key, catalog) = (key.clone(), self.catalog.clone());
        let body = blocking(move || {
            let query = Query::encrypt(&encrypt_key, &quantized.values)?;
            Ok(wire::encode_query(&V1_128, &catalog, &query)?)
        })
        .await?;
        report.encrypt = started.elapsed();
        report.bytes_sent = body.len();

        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/v1/score", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(self.server_error(response).await);
        }
        report.server = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_server_timing);
        let bytes = response.bytes().await?;
        report.round_trip = started.elapsed();
        report.bytes_received = bytes.len();

        let started = Instant::now();
        let (decrypt_key, catalog) = (key.clone(), self.catalog.clone());
        let (items, dim) = (self.manifest.item_count, self.manifest.dimension);
        let raw = blocking(move || {
            let response = wire::decode_response(&V1_128, &catalog, items, &bytes)?;
            // a response for another dimension would decode under the wrong Delta
            if response.dim as usize != dim {
                return Err(veilrank_core::Error::DimensionMismatch {
                    expected: dim,
                    found: response.dim as usize,
                }
                .into());
            }
            Ok(response.decrypt(&decrypt_key, items)?)
        })
        .await?;
        report.decrypt = started.elapsed();
        Ok(Scores {
            raw,
            query_scale,
            report,
        })
    }

    /// The `k` best items for `prefs`, best first; ties go to the earlier catalog item.
    pub async fn recommend(
        &self,
        key: &Arc<SecretKey>,
        prefs: &[f32],
        k: usize,
    ) -> Result<Recommendations> {
        let items = self.items().await?;
        let Scores {
            raw,
            query_scale,
            mut report,
        } = self.score(key, prefs).await?;
        let started = Instant::now();
        let top = rank::top_k(&raw, k);
        report.rank = started.elapsed();
        let catalog_scale = self.manifest.quantization.catalog_scale;
        let items = top
            .into_iter()
            .enumerate()
            .map(|(i, position)| RankedItem {
                rank: i + 1,
                id: items[position].id.clone(),
                title: items[position].title.clone(),
                score: dequantize_score(raw[position], query_scale, catalog_scale),
                raw_score: raw[position],
            })
            .collect();
        Ok(Recommendations { items, report })
    }

    /// The metadata of every item, fetched page by page once per connection, never item by
    /// item: asking only for the recommended items would tell the server which they are.
    pub async fn items(&self) -> Result<Arc<Vec<ItemInfo>>> {
        self.items
            .get_or_try_init(|| async {
                let mut all = Vec::with_capacity(self.manifest.item_count);
                while all.len() < self.manifest.item_count {
                    let response = self
                        .http
                        .get(format!("{}/v1/catalog/items", self.base))
                        .query(&[("offset", all.len()), ("limit", PAGE)])
                        .send()
                        .await?;
                    let page: ItemsPage = json_or_error(response).await?;
                    if page.content_version != self.manifest.content_version {
                        return Err(ClientError::CatalogChanged {
                            current: page.content_version,
                        });
                    }
                    if page.items.is_empty() {
                        return Err(ClientError::Server {
                            status: 200,
                            code: "short_catalog".into(),
                            message: format!(
                                "the item listing ended at {} of {} items",
                                all.len(),
                                self.manifest.item_count
                            ),
                        });
                    }
                    all.extend(page.items);
                }
                Ok(Arc::new(all))
            })
            .await
            .cloned()
    }

    async fn server_error(&self, response: reqwest::Response) -> ClientError {
        let status = response.status().as_u16();
        match response.json::<ErrorBody>().await {
            Ok(body) if body.error.code == "stale_catalog" => ClientError::CatalogChanged {
                current: "unknown".into(),
            },
            Ok(body) => ClientError::Server {
                status,
                code: body.error.code,
                message: body.error.message,
            },
            Err(_) => ClientError::Server {
                status,
                code: "unknown".into(),
                message: "the server's error response was not JSON".into(),
            },
        }
    }
}

async fn json_or_error<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    let body = response.json::<ErrorBody>().await.ok();
    Err(ClientError::Server {
        status: status.as_u16(),
        code: body
            .as_ref()
            .map_or("unknown".into(), |b| b.error.code.clone()),
        message: body.map_or_else(|| status.to_string(), |b| b.error.message),
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Task(e.to_string()))?
}

/// The `score` duration of a `Server-Timing` header (`score;dur=12.3`).
fn parse_server_timing(value: &str) -> Option<Duration> {
    value.split(',').find_map(|metric| {
        let mut parts = metric.trim().split(';');
        (parts.next()? == "score").then_some(())?;
        parts
            .find_map(|p| p.trim().strip_prefix("dur="))
            .and_then(|ms| ms.parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| Duration::from_secs_f64(ms / 1e3))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_is_parsed() {
        assert_eq!(
            parse_server_timing("score;dur=12.5"),
            Some(Duration::from_micros(12_500))
        );
        assert_eq!(
            parse_server_timing("db;dur=1, score;desc=x;dur=2"),
            Some(Duration::from_millis(2))
        );
        assert_eq!(parse_server_timing("score;dur=-1"), None);
        assert_eq!(parse_server_timing("other;dur=3"), None);
    }
}
