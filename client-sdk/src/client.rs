//! The HTTP client: manifest, encryption, scoring, decryption, ranking.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::OnceCell;
use veilrank_core::api::{ErrorBody, ItemInfo, ItemsPage, Manifest, ProfileCreated, ProfileInfo};
use veilrank_core::quantize::{dequantize_score, quantize};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{rank, Hint, Query, SecretKey, V1_128};

use zeroize::Zeroizing;

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
    /// Of the round trip: from sending until the response headers, less the server's time
    /// (sending the query, and the network both ways for the headers).
    pub upload: Duration,
    /// Of the round trip: receiving the response body.
    pub download: Duration,
    /// The server's time, as it reports it (`Server-Timing`).
    pub server: Option<ServerTiming>,
    /// Client: downloading and decoding the catalog's hint, when this query was the first of
    /// its catalog version to need it (zero afterwards: it is kept per version).
    pub hint: Duration,
    /// Bytes of the hint downloaded for this query (zero when it was already kept).
    pub hint_bytes: usize,
    /// Client: decryption.
    pub decrypt: Duration,
    /// Client: ranking.
    pub rank: Duration,
    /// Bytes of the query body sent.
    pub bytes_sent: usize,
    /// Bytes of the response body received.
    pub bytes_received: usize,
}

/// Where the server's time went, as it reports it in `Server-Timing`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct ServerTiming {
    /// Decoding the query and moving it to the transform domain.
    pub expand: Duration,
    /// Waiting for the pass over the catalog in progress.
    pub queue: Duration,
    /// The pass over the catalog (shared by the batch).
    pub score: Duration,
    /// All of the server's time for this query.
    pub total: Duration,
    /// Queries scored in the same pass.
    pub batch: usize,
}

impl ServerTiming {
    /// Parses `expand;dur=.., queue;dur=.., score;dur=.., total;dur=.., batch;desc=".."`; the
    /// score is required, the rest default to zero (older servers send the score alone).
    pub fn parse(value: &str) -> Option<Self> {
        let duration = |name: &str| {
            timing_metric(value, name, "dur=")?
                .parse::<f64>()
                .ok()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_secs_f64(ms / 1e3))
        };
        let score = duration("score")?;
        Some(Self {
            expand: duration("expand").unwrap_or_default(),
            queue: duration("queue").unwrap_or_default(),
            score,
            total: duration("total").unwrap_or(score),
            batch: timing_metric(value, "batch", "desc=")
                .and_then(|d| d.trim_matches('"').parse().ok())
                .unwrap_or(1),
        })
    }
}

/// The value of parameter `key` (`dur=`, `desc=`) of metric `name` in a `Server-Timing` header.
fn timing_metric<'a>(value: &'a str, name: &str, key: &str) -> Option<&'a str> {
    value.split(',').find_map(|metric| {
        let mut parts = metric.trim().split(';');
        (parts.next()? == name).then_some(())?;
        parts.find_map(|p| p.trim().strip_prefix(key))
    })
}

/// A query encrypted for the catalog version current when it was made. It can be sent at once
/// or later, and more than once (load tests replay it): the server learns nothing more from a
/// repeated ciphertext than that it is the same one.
#[derive(Clone)]
pub struct EncryptedQuery {
    // shared, not copied, by each send of a replayed query
    body: Bytes,
    scale: f32,
    encrypt: Duration,
}

impl EncryptedQuery {
    /// Bytes sent per query.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Never: a query holds at least its header.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl std::fmt::Debug for EncryptedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedQuery")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The server's answer to an [`EncryptedQuery`], not yet decrypted.
pub struct EncryptedScores {
    // as downloaded: a response is megabytes, and a copy of it costs as much as its decoding
    bytes: Bytes,
    scale: f32,
    /// Timings and sizes so far (encryption, upload, server, download).
    pub report: Report,
}

impl std::fmt::Debug for EncryptedScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedScores")
            .field("bytes", &self.bytes.len())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// Decrypted scores of every item.
pub struct Scores {
    /// Exact integer scores, in catalog order.
    pub raw: Vec<i32>,
    /// The query's quantization scale.
    pub query_scale: f32,
    /// Timings and sizes.
    pub report: Report,
    /// The catalog version they were scored on.
    view: Arc<View>,
}

impl std::fmt::Debug for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scores")
            .field("items", &self.raw.len())
            .field("query_scale", &self.query_scale)
            .field("report", &self.report)
            .field("content_version", &self.content_version())
            .finish()
    }
}

impl Scores {
    /// The content version of the catalog the scores are for.
    pub fn content_version(&self) -> &str {
        &self.view.manifest.content_version
    }
}

/// The answer to [`Client::recommend`].
#[derive(Clone, Debug)]
pub struct Recommendations {
    /// The best items, best first.
    pub items: Vec<RankedItem>,
    /// Timings and sizes.
    pub report: Report,
}

/// How to connect: which catalog, with which API key, how long to wait for a server that is
/// still preparing.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// The catalog to use; the server's default catalog when `None`.
    pub catalog: Option<String>,
    /// The app's API key, sent as `x-api-key`, when the server asks for one.
    pub api_key: Option<String>,
    /// How long to wait for a server whose catalog is still being prepared.
    pub ready_timeout: Duration,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("catalog", &self.catalog)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("ready_timeout", &self.ready_timeout)
            .finish()
    }
}

/// One version of the catalog as the client knows it: its manifest and, once fetched, its items
/// and its hint.
struct View {
    manifest: Manifest,
    catalog: CatalogRef,
    items: OnceCell<Arc<Vec<ItemInfo>>>,
    hint: OnceCell<Arc<Hint>>,
}

/// A connection to one veilrank server and one of its catalogs.
///
/// When the server replaces the catalog, the next response names the new version; the client
/// then fetches the new manifest (and items, when it ranks) before it decrypts, so a catalog
/// update costs no failed request.
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// `/v1/catalogs/{id}` of the catalog in use.
    catalog_path: String,
    /// The current version, and the one before it (responses to queries sent just before a
    /// replacement still name it).
    view: RwLock<(Arc<View>, Option<Arc<View>>)>,
}

impl Client {
    /// Connects to the server's default catalog: fetches the manifest and checks that the server
    /// speaks this SDK's parameter set. Waits up to `ready_timeout` for a server that is still
    /// preparing its catalog.
    pub async fn connect(base_url: &str, ready_timeout: Duration) -> Result<Self> {
        Self::connect_with(
            base_url,
            ConnectOptions {
                ready_timeout,
                ..ConnectOptions::default()
            },
        )
        .await
    }

    /// Connects with [`ConnectOptions`]: a named catalog, an API key.
    pub async fn connect_with(base_url: &str, options: ConnectOptions) -> Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = &options.api_key {
            let mut value = reqwest::header::HeaderValue::from_str(key).map_err(|_| {
                ClientError::Unauthorized {
                    message: "the API key holds characters an HTTP header cannot carry".into(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert("x-api-key", value);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .default_headers(headers)
            .build()?;
        let base = base_url.trim_end_matches('/').to_string();
        let manifest_url = match &options.catalog {
            Some(id) => format!("{base}/v1/catalogs/{id}"),
            None => format!("{base}/v1/catalog"),
        };
        let deadline = Instant::now() + options.ready_timeout;
        let manifest: Manifest = loop {
            let response = http.get(&manifest_url).send().await?;
            if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            break json_or_error(response).await?;
        };
        let view = View::try_new(manifest)?;
        Ok(Self {
            http,
            catalog_path: format!("{base}/v1/catalogs/{}", view.manifest.id),
            base,
            view: RwLock::new((Arc::new(view), None)),
        })
    }

    fn view(&self) -> Arc<View> {
        self.view
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// The catalog manifest as last fetched.
    pub fn manifest(&self) -> Manifest {
        self.view().manifest.clone()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A preference vector that likes the named topics equally (their sum).
    pub fn preferences_from_topics(&self, names: &[&str]) -> Result<Vec<f32>> {
        let view = self.view();
        let manifest = &view.manifest;
        if names.is_empty() {
            return Err(ClientError::InvalidPreferences("no topics named".into()));
        }
        let mut prefs = vec![0f32; manifest.dimension];
        for name in names {
            let topic = manifest
                .topics
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        manifest.topics.iter().map(|t| t.name.as_str()).collect();
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

    /// Quantizes and encrypts `prefs` for the current catalog (on the blocking pool): the
    /// message body, and the query's quantization scale.
    async fn encrypt(&self, key: &Arc<SecretKey>, prefs: &[f32]) -> Result<(Vec<u8>, f32)> {
        let view = self.view();
        if prefs.len() != view.manifest.dimension {
            return Err(ClientError::InvalidPreferences(format!(
                "{} values, the catalog's dimension is {}",
                prefs.len(),
                view.manifest.dimension
            )));
        }
        let quantized = quantize(prefs)?;
        let query_scale = quantized.scale;
        let (key, catalog) = (key.clone(), view.catalog.clone());
        let body = blocking(move || {
            let query = Query::encrypt(&key, &quantized.values)?;
            Ok(wire::encode_query(&V1_128, &catalog, &query)?)
        })
        .await?;
        Ok((body, query_scale))
    }

    /// Sends a request whose answer is encrypted scores; fills the round trip of `report`.
    async fn fetch_scores(
        &self,
        request: reqwest::RequestBuilder,
        report: &mut Report,
    ) -> Result<Bytes> {
        let started = Instant::now();
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(server_error(response).await);
        }
        let headers_at = started.elapsed();
        report.server = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(ServerTiming::parse);
        let bytes = response.bytes().await?;
        report.round_trip = started.elapsed();
        report.download = report.round_trip.saturating_sub(headers_at);
        report.upload =
            headers_at.saturating_sub(report.server.map(|s| s.total).unwrap_or_default());
        report.bytes_received = bytes.len();
        Ok(bytes)
    }

    /// The view a response was scored on: the current one, or the catalog's new version,
    /// fetched now.
    async fn view_of(&self, response: &[u8]) -> Result<Arc<View>> {
        let header = wire::peek(response)?;
        let known = |views: &(Arc<View>, Option<Arc<View>>)| {
            std::iter::once(&views.0)
                .chain(views.1.as_ref())
                .find(|v| v.catalog == header.catalog)
                .cloned()
        };
        if let Some(view) = known(&self.view.read().unwrap_or_else(|e| e.into_inner())) {
            return Ok(view);
        }
        let response = self.http.get(&self.catalog_path).send().await?;
        let fresh = View::try_new(json_or_error(response).await?)?;
        if fresh.catalog != header.catalog {
            return Err(ClientError::CatalogChanged {
                current: fresh.manifest.content_version.clone(),
            });
        }
        let mut views = self.view.write().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = known(&views) {
            return Ok(view); // another request fetched it meanwhile
        }
        let fresh = Arc::new(fresh);
        let previous = std::mem::replace(&mut views.0, fresh.clone());
        views.1 = Some(previous);
        Ok(fresh)
    }

    /// Decrypts a response (on the blocking pool) against the catalog version it names.
    async fn decrypt(
        &self,
        key: &Arc<SecretKey>,
        bytes: Bytes,
        query_scale: f32,
        mut report: Report,
    ) -> Result<Scores> {
        let view = self.view_of(&bytes).await?;
        let started = Instant::now();
        let (hint, fetched) = self.hint_of(&view).await?;
        report.hint = started.elapsed();
        report.hint_bytes = fetched;
        let started = Instant::now();
        let (key, catalog) = (key.clone(), view.catalog.clone());
        let (items, dim) = (view.manifest.item_count, view.manifest.dimension);
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
            Ok(response.decrypt(&key, &hint, items)?)
        })
        .await?;
        report.decrypt = started.elapsed();
        Ok(Scores {
            raw,
            query_scale,
            report,
            view,
        })
    }

    /// Encrypts `prefs`, has every item scored on the ciphertext, and decrypts the scores.
    /// Encryption and decryption run on the blocking pool.
    pub async fn score(&self, key: &Arc<SecretKey>, prefs: &[f32]) -> Result<Scores> {
        let query = self.encrypt_query(key, prefs).await?;
        let scores = self.send_query(&query).await?;
        self.decrypt_scores(key, scores).await
    }

    /// The first step of [`Self::score`]: quantizes and encrypts `prefs` (on the blocking pool).
    pub async fn encrypt_query(
        &self,
        key: &Arc<SecretKey>,
        prefs: &[f32],
    ) -> Result<EncryptedQuery> {
        let started = Instant::now();
        let (body, scale) = self.encrypt(key, prefs).await?;
        Ok(EncryptedQuery {
            body: Bytes::from(body),
            scale,
            encrypt: started.elapsed(),
        })
    }

    /// The second step of [`Self::score`]: has every item scored on the ciphertext.
    pub async fn send_query(&self, query: &EncryptedQuery) -> Result<EncryptedScores> {
        let mut report = Report {
            encrypt: query.encrypt,
            bytes_sent: query.body.len(),
            ..Report::default()
        };
        let request = self
            .http
            .post(format!("{}/score", self.catalog_path))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(query.body.clone());
        let bytes = self.fetch_scores(request, &mut report).await?;
        Ok(EncryptedScores {
            bytes,
            scale: query.scale,
            report,
        })
    }

    /// The last step of [`Self::score`]: decrypts the scores (on the blocking pool) with the
    /// key that encrypted the query.
    pub async fn decrypt_scores(
        &self,
        key: &Arc<SecretKey>,
        scores: EncryptedScores,
    ) -> Result<Scores> {
        self.decrypt(key, scores.bytes, scores.scale, scores.report)
            .await
    }

    /// The `k` best items for `prefs`, best first; ties go to the earlier catalog item.
    pub async fn recommend(
        &self,
        key: &Arc<SecretKey>,
        prefs: &[f32],
        k: usize,
    ) -> Result<Recommendations> {
        let scores = self.score(key, prefs).await?;
        self.rank(scores, k).await
    }

    /// Ranks decrypted scores against the items of the catalog version they were scored on.
    async fn rank(&self, scores: Scores, k: usize) -> Result<Recommendations> {
        let Scores {
            raw,
            query_scale,
            mut report,
            view,
        } = scores;
        let items = self.items_of(&view).await?;
        let started = Instant::now();
        let top = rank::top_k(&raw, k);
        report.rank = started.elapsed();
        let catalog_scale = view.manifest.quantization.catalog_scale;
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

    /// The metadata of every item, fetched page by page once per catalog version, never item by
    /// item: asking only for the recommended items would tell the server which they are.
    pub async fn items(&self) -> Result<Arc<Vec<ItemInfo>>> {
        self.items_of(&self.view()).await
    }

    async fn items_of(&self, view: &View) -> Result<Arc<Vec<ItemInfo>>> {
        view.items
            .get_or_try_init(|| async {
                let manifest = &view.manifest;
                let mut all = Vec::with_capacity(manifest.item_count);
                while all.len() < manifest.item_count {
                    let response = self
                        .http
                        .get(format!("{}/items", self.catalog_path))
                        .query(&[("offset", all.len()), ("limit", PAGE)])
                        .send()
                        .await?;
                    let page: ItemsPage = json_or_error(response).await?;
                    if page.content_version != manifest.content_version {
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
                                manifest.item_count
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

    /// The hint of a catalog version, downloaded once per version (the same public bytes for
    /// every client), and the bytes downloaded for it now (zero when it was kept).
    async fn hint_of(&self, view: &View) -> Result<(Arc<Hint>, usize)> {
        let mut fetched = 0;
        let hint = view
            .hint
            .get_or_try_init(|| async {
                let limit = wire::hint_size_limit(&V1_128, view.manifest.item_count);
                let mut response = self
                    .http
                    .get(format!("{}/hint", self.catalog_path))
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err(server_error(response).await);
                }
                // read under the limit whatever the headers say: a hostile server gets an error
                // after at most `limit` bytes, not the client's memory
                let mut bytes = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(veilrank_core::Error::TooLarge {
                            found: bytes.len() + chunk.len(),
                            limit,
                        }
                        .into());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                fetched = bytes.len();
                let (catalog, items) = (view.catalog.clone(), view.manifest.item_count);
                let hint = blocking(move || {
                    wire::decode_hint(&V1_128, &catalog, items, &bytes).map_err(|e| match e {
                        // replaced between the response and this download
                        veilrank_core::Error::StaleCatalog { expected, .. } => {
                            ClientError::CatalogChanged { current: expected }
                        }
                        other => other.into(),
                    })
                })
                .await?;
                Ok(Arc::new(hint))
            })
            .await?
            .clone();
        Ok((hint, fetched))
    }

    /// Uploads `prefs`, encrypted, as a stored profile: later rankings need only a small request
    /// ([`Self::recommend_profile`]). Keep the returned [`Profile`] (it holds the access token,
    /// shown once) with the secret key: [`crate::keystore::save_profile`].
    pub async fn create_profile(&self, key: &Arc<SecretKey>, prefs: &[f32]) -> Result<Profile> {
        let (body, query_scale) = self.encrypt(key, prefs).await?;
        let response = self
            .http
            .post(format!("{}/v1/profiles", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await?;
        let created: ProfileCreated = json_or_error(response).await?;
        Ok(Profile {
            server: self.base.clone(),
            id: created.profile.id.clone(),
            catalog: created.profile.catalog.clone(),
            token: Zeroizing::new(created.token.clone()),
            query_scale,
            info: created.profile,
        })
    }

    /// The server's metadata of a stored profile (never its content).
    pub async fn profile_info(&self, profile: &Profile) -> Result<ProfileInfo> {
        let response = self
            .http
            .get(self.profile_url(profile, ""))
            .bearer_auth(profile.token.as_str())
            .send()
            .await?;
        json_or_error(response).await
    }

    /// Replaces a stored profile with new preferences (same id and token); updates `profile`.
    pub async fn replace_profile(
        &self,
        profile: &mut Profile,
        key: &Arc<SecretKey>,
        prefs: &[f32],
    ) -> Result<ProfileInfo> {
        let (body, query_scale) = self.encrypt(key, prefs).await?;
        let response = self
            .http
            .put(self.profile_url(profile, ""))
            .bearer_auth(profile.token.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await?;
        let info: ProfileInfo = json_or_error(response).await?;
        profile.query_scale = query_scale;
        profile.catalog = info.catalog.clone();
        profile.info = info.clone();
        Ok(info)
    }

    /// Erases a stored profile on the server, for good.
    pub async fn delete_profile(&self, profile: &Profile) -> Result<()> {
        let response = self
            .http
            .delete(self.profile_url(profile, ""))
            .bearer_auth(profile.token.as_str())
            .send()
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(server_error(response).await)
        }
    }

    /// Has the stored profile scored against the current catalog, and decrypts the scores.
    pub async fn score_profile(&self, profile: &Profile, key: &Arc<SecretKey>) -> Result<Scores> {
        let mut report = Report::default();
        let request = self
            .http
            .post(self.profile_url(profile, "/score"))
            .bearer_auth(profile.token.as_str());
        let bytes = self.fetch_scores(request, &mut report).await?;
        self.decrypt(key, bytes, profile.query_scale, report).await
    }

    /// The `k` best items for a stored profile, best first.
    pub async fn recommend_profile(
        &self,
        profile: &Profile,
        key: &Arc<SecretKey>,
        k: usize,
    ) -> Result<Recommendations> {
        let scores = self.score_profile(profile, key).await?;
        self.rank(scores, k).await
    }

    fn profile_url(&self, profile: &Profile, suffix: &str) -> String {
        format!("{}/v1/profiles/{}{suffix}", self.base, profile.id)
    }
}

impl View {
    /// Checks a manifest: this SDK's parameter set, a supported dimension.
    fn try_new(manifest: Manifest) -> Result<Self> {
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
            manifest,
            catalog,
            items: OnceCell::new(),
            hint: OnceCell::new(),
        })
    }
}

/// A stored profile as its owner keeps it: where it is, its access token, and the quantization
/// scale of the preferences it holds (needed to read scores in the original units).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// The server's base URL.
    pub server: String,
    /// The profile's id.
    pub id: String,
    /// The catalog it scores against.
    pub catalog: String,
    /// The access token: whoever has it can use, replace and erase the profile.
    token: Zeroizing<String>,
    /// The quantization scale of the stored preferences.
    pub query_scale: f32,
    /// The server's metadata, as of the last create or replace.
    pub info: ProfileInfo,
}

impl Profile {
    /// The access token (secret).
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("server", &self.server)
            .field("id", &self.id)
            .field("catalog", &self.catalog)
            .field("token", &"<redacted>")
            .field("query_scale", &self.query_scale)
            .finish()
    }
}

/// The typed error of an error response.
async fn server_error(response: reqwest::Response) -> ClientError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match response.json::<ErrorBody>().await {
        Ok(body) => typed_error(status, body.error.code, body.error.message, retry_after),
        Err(_) => ClientError::Server {
            status,
            code: "unknown".into(),
            message: "the server's error response was not JSON".into(),
        },
    }
}

fn typed_error(
    status: u16,
    code: String,
    message: String,
    retry_after: Option<u64>,
) -> ClientError {
    match code.as_str() {
        "stale_catalog" => ClientError::CatalogChanged {
            current: "unknown".into(),
        },
        "profile_incompatible" => ClientError::ProfileIncompatible { message },
        "profile_not_found" => ClientError::ProfileNotFound,
        "rate_limited" => ClientError::RateLimited {
            retry_after: Duration::from_secs(retry_after.unwrap_or(1)),
        },
        "missing_api_key" | "bad_api_key" => ClientError::Unauthorized { message },
        _ => ClientError::Server {
            status,
            code,
            message,
        },
    }
}

async fn json_or_error<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    if response.status().is_success() {
        return Ok(response.json().await?);
    }
    Err(server_error(response).await)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_is_parsed() {
        let full = ServerTiming::parse(
            "expand;dur=3.5, queue;dur=1, score;dur=12.5, total;dur=17, batch;desc=\"4\"",
        )
        .unwrap();
        assert_eq!(
            full,
            ServerTiming {
                expand: Duration::from_micros(3_500),
                queue: Duration::from_millis(1),
                score: Duration::from_micros(12_500),
                total: Duration::from_millis(17),
                batch: 4,
            }
        );
        let alone = ServerTiming::parse("db;dur=1, score;desc=x;dur=2").unwrap();
        assert_eq!(
            (alone.score, alone.total, alone.batch),
            (Duration::from_millis(2), Duration::from_millis(2), 1)
        );
        assert_eq!(ServerTiming::parse("score;dur=-1"), None);
        assert_eq!(ServerTiming::parse("other;dur=3"), None);
    }
}
