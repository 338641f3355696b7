//! The HTTP client: the sans-IO [`Session`] of each catalog version, over reqwest.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use veilrank_core::api::{ItemInfo, ItemsPage, Manifest};
use veilrank_core::{Hint, SecretKey};

use super::options::ConnectOptions;
use super::query::{EncryptedQuery, EncryptedScores};
use super::report::{Report, ServerTiming};
use super::scores::{Recommendations, Scores, View};
use super::transport::{
    blocking, body_or_error, json_or_error, read_capped, scores_limit, server_error,
};
use crate::error::{ClientError, Result};
use crate::session::Session;

/// Items per page when fetching the catalog's metadata.
const PAGE: usize = 10_000;

/// A connection to one veilrank server and one of its catalogs.
///
/// When the server replaces the catalog, the next response names the new version; the client
/// then fetches the new manifest (and items, when it ranks) before it decrypts, so a catalog
/// update costs no failed request.
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
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
        let http = options.http_client()?;
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
        let session = Session::new(manifest)?;
        Ok(Self {
            http,
            catalog_path: format!("{base}/v1/catalogs/{}", session.manifest().id),
            base,
            view: RwLock::new((Arc::new(View::new(session)), None)),
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
        self.view().session.manifest().clone()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A preference vector that likes the named topics equally (their sum).
    pub fn preferences_from_topics(&self, names: &[&str]) -> Result<Vec<f32>> {
        self.view().session.preferences_from_topics(names)
    }

    /// Quantizes and encrypts `prefs` for the current catalog (on the blocking pool): the
    /// message body, and the query's quantization scale.
    pub(crate) async fn encrypt(
        &self,
        key: &Arc<SecretKey>,
        prefs: &[f32],
    ) -> Result<(Vec<u8>, f32)> {
        let view = self.view();
        let (key, prefs) = (key.clone(), prefs.to_vec());
        let query = blocking(move || view.session.encrypt(&key, &prefs)).await?;
        Ok((query.body, query.scale))
    }

    /// Sends a request whose answer is encrypted scores; fills the round trip of `report`.
    pub(crate) async fn fetch_scores(
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
        // the largest response of the current version, or of a replacement twice its size
        let limit = 2 * scores_limit(&self.view().session);
        let bytes = Bytes::from(read_capped(response, limit).await?);
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
        let catalog = Session::response_catalog(response)?;
        let known = |views: &(Arc<View>, Option<Arc<View>>)| {
            std::iter::once(&views.0)
                .chain(views.1.as_ref())
                .find(|v| v.session.catalog() == &catalog)
                .cloned()
        };
        if let Some(view) = known(&self.view.read().unwrap_or_else(|e| e.into_inner())) {
            return Ok(view);
        }
        let response = self.http.get(&self.catalog_path).send().await?;
        let manifest: Manifest = json_or_error(response).await?;
        let fresh = self.view().session.successor(manifest)?;
        if fresh.catalog() != &catalog {
            return Err(ClientError::CatalogChanged {
                current: fresh.manifest().content_version.clone(),
            });
        }
        let mut views = self.view.write().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = known(&views) {
            return Ok(view); // another request fetched it meanwhile
        }
        let fresh = Arc::new(View::new(fresh));
        let previous = std::mem::replace(&mut views.0, fresh.clone());
        views.1 = Some(previous);
        Ok(fresh)
    }

    /// Decrypts a response (on the blocking pool) against the catalog version it names.
    pub(crate) async fn decrypt(
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
        let (key, for_task) = (key.clone(), view.clone());
        let raw = blocking(move || for_task.session.decrypt(&key, &hint, &bytes)).await?;
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
    pub(crate) async fn rank(&self, scores: Scores, k: usize) -> Result<Recommendations> {
        let Scores {
            raw,
            query_scale,
            mut report,
            view,
        } = scores;
        let items = self.items_of(&view).await?;
        let started = Instant::now();
        let items = view.session.rank(&raw, query_scale, &items, k)?;
        report.rank = started.elapsed();
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
                let manifest = view.session.manifest();
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
                    if page.items.is_empty() || all.len() + page.items.len() > manifest.item_count {
                        return Err(ClientError::BadManifest(format!(
                            "the item listing does not add up to its {} items",
                            manifest.item_count
                        )));
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
    async fn hint_of(&self, view: &Arc<View>) -> Result<(Arc<Hint>, usize)> {
        let mut fetched = 0;
        let hint = view
            .hint
            .get_or_try_init(|| async {
                let response = self
                    .http
                    .get(format!("{}/hint?form=rounded", self.catalog_path))
                    .send()
                    .await?;
                let bytes = body_or_error(response, view.session.hint_size_limit()).await?;
                fetched = bytes.len();
                let for_task = view.clone();
                let hint = blocking(move || for_task.session.decode_hint(&bytes)).await?;
                Ok::<_, ClientError>(Arc::new(hint))
            })
            .await?
            .clone();
        Ok((hint, fetched))
    }

    pub(crate) fn profile_url(&self, id: &str, suffix: &str) -> String {
        format!("{}/v1/profiles/{id}{suffix}", self.base)
    }
}
