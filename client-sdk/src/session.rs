//! The sans-IO layer: everything the client does for one version of one catalog, bytes in and
//! bytes out, with no network and no runtime. The HTTP [`crate::Client`] is built on it; the web
//! SDK and the mobile bindings use it with their platform's own HTTP stack.
//!
//! ```no_run
//! # fn run(manifest_json: &str, hint: &[u8], items: &[veilrank_core::api::ItemInfo]) -> veilrank_client::Result<()> {
//! use veilrank_client::Session;
//! use veilrank_core::{SecretKey, V1_128};
//! let key = SecretKey::generate(&V1_128)?;
//! let session = Session::new(serde_json::from_str(manifest_json)?)?; // GET /v1/catalog
//! let prefs = session.preferences_from_topics(&["jazz"])?;
//! let query = session.encrypt(&key, &prefs)?;     // POST query.body to .../score
//! # let response: Vec<u8> = Vec::new();
//! let hint = session.decode_hint(hint)?;          // GET .../hint, once per version
//! let scores = session.decrypt(&key, &hint, &response)?;
//! let top = session.rank(&scores, query.scale, items, 10)?; // GET .../items, once per version
//! # Ok(()) }
//! ```

use std::sync::{Arc, OnceLock};

use veilrank_core::api::{ItemInfo, Manifest};
use veilrank_core::quantize::{dequantize_score, quantize_bits};
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{rank, Encryptor, Hint, ParameterSet, SecretKey, V1_128};

use crate::error::{ClientError, Result};

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

/// An encrypted query, ready to send (`application/octet-stream`).
#[derive(Clone)]
pub struct QueryBytes {
    /// The message body.
    pub body: Vec<u8>,
    /// The preferences' quantization scale: scores come back in its units
    /// ([`Session::rank`]). Not secret, but kept by the client, never sent.
    pub scale: f32,
}

impl std::fmt::Debug for QueryBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryBytes")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// One version of one catalog as a client knows it: its manifest, checked against this SDK's
/// parameter set, and the encryptor of its dimension (the public masks' transforms, built on
/// first use and shared with the next version of the same dimension).
pub struct Session {
    manifest: Manifest,
    /// This SDK's parameter set at the catalog's precision.
    params: ParameterSet,
    catalog: CatalogRef,
    encryptor: Arc<OnceLock<Arc<Encryptor>>>,
}

impl Session {
    /// Checks a manifest (`GET /v1/catalog` or `/v1/catalogs/{id}`): this SDK's parameter set,
    /// a supported dimension, a well-formed content version.
    pub fn new(manifest: Manifest) -> Result<Self> {
        let params = V1_128.with_precision(manifest.precision);
        let ours = params.fingerprint().to_hex();
        if manifest.parameters.fingerprint != ours {
            return Err(ClientError::ParameterMismatch {
                server: manifest.parameters.fingerprint.clone(),
                client: ours,
            });
        }
        // the precision carries this dimension's scores (an i32 per item)
        params.plaintext_bits(manifest.dimension)?;
        if manifest.item_count == 0 || manifest.item_count > veilrank_core::reference::MAX_ITEMS {
            return Err(ClientError::BadManifest(format!(
                "it lists {} items",
                manifest.item_count
            )));
        }
        let catalog = CatalogRef {
            id: manifest.id.clone(),
            version: ContentVersion::from_hex(&manifest.content_version)?,
        };
        Ok(Self {
            manifest,
            params,
            catalog,
            encryptor: Arc::new(OnceLock::new()),
        })
    }

    /// The session of the catalog's next version: its own manifest, and this session's
    /// encryptor when the dimension is the same.
    pub fn successor(&self, manifest: Manifest) -> Result<Self> {
        let mut next = Self::new(manifest)?;
        if next.manifest.dimension == self.manifest.dimension && next.params == self.params {
            next.encryptor = self.encryptor.clone();
        }
        Ok(next)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The catalog and content version.
    pub fn catalog(&self) -> &CatalogRef {
        &self.catalog
    }

    fn encryptor(&self) -> Result<Arc<Encryptor>> {
        if let Some(e) = self.encryptor.get() {
            return Ok(e.clone());
        }
        let built = Arc::new(Encryptor::new(&self.params, self.manifest.dimension)?);
        Ok(self.encryptor.get_or_init(|| built).clone())
    }

    /// Computes the encryptor now (it is otherwise computed by the first [`Self::encrypt`]), so
    /// that a user's first query does not wait for it.
    pub fn warm_up(&self) -> Result<()> {
        self.encryptor().map(drop)
    }

    /// A preference vector that likes the named topics equally (their sum).
    pub fn preferences_from_topics<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<f32>> {
        let manifest = &self.manifest;
        if names.is_empty() {
            return Err(ClientError::InvalidPreferences("no topics named".into()));
        }
        let mut prefs = vec![0f32; manifest.dimension];
        for name in names {
            let name = name.as_ref();
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

    /// Quantizes and encrypts `prefs` under a fresh secret of `key`: the body of
    /// `POST .../score` (or of a stored profile) and the quantization scale to keep.
    pub fn encrypt(&self, key: &SecretKey, prefs: &[f32]) -> Result<QueryBytes> {
        if prefs.len() != self.manifest.dimension {
            return Err(ClientError::InvalidPreferences(format!(
                "{} values, the catalog's dimension is {}",
                prefs.len(),
                self.manifest.dimension
            )));
        }
        let quantized = quantize_bits(prefs, self.params.precision.query_bits())?;
        let query = self.encryptor()?.encrypt(key, &quantized.values)?;
        Ok(QueryBytes {
            body: wire::encode_query(&self.params, &self.catalog, &query)?,
            scale: quantized.scale,
        })
    }

    /// The most bytes a hint of this catalog version may have: read no more.
    pub fn hint_size_limit(&self) -> usize {
        wire::hint_size_limit(&self.params, self.manifest.item_count)
    }

    /// The most bytes a response of this catalog version may have: read no more.
    pub fn response_size_limit(&self) -> usize {
        wire::response_size_limit(&self.params, self.manifest.item_count)
    }

    /// Decodes the catalog's hint (`GET .../hint`), the same public bytes for every client, to
    /// keep for this version's responses.
    pub fn decode_hint(&self, bytes: &[u8]) -> Result<Hint> {
        wire::decode_hint(&self.params, &self.catalog, self.manifest.item_count, bytes).map_err(
            |e| {
                match e {
                    // replaced between the manifest and this download
                    veilrank_core::Error::StaleCatalog { expected, .. } => {
                        ClientError::CatalogChanged { current: expected }
                    }
                    other => other.into(),
                }
            },
        )
    }

    /// Which catalog version a response was scored on: when it is not this session's, fetch that
    /// version's manifest (and hint) and decrypt with its session.
    pub fn response_catalog(response: &[u8]) -> Result<CatalogRef> {
        Ok(wire::peek(response)?.catalog)
    }

    /// Decrypts a response of this catalog version with its `hint`: the exact integer score of
    /// every item, in catalog order.
    pub fn decrypt(&self, key: &SecretKey, hint: &Hint, response: &[u8]) -> Result<Vec<i32>> {
        let items = self.manifest.item_count;
        let response = wire::decode_response(&self.params, &self.catalog, items, response)
            .map_err(|e| match e {
                veilrank_core::Error::StaleCatalog { found, .. } => {
                    ClientError::CatalogChanged { current: found }
                }
                other => other.into(),
            })?;
        // a response for another dimension would decode under the wrong Delta
        if response.dim as usize != self.manifest.dimension {
            return Err(veilrank_core::Error::DimensionMismatch {
                expected: self.manifest.dimension,
                found: response.dim as usize,
            }
            .into());
        }
        Ok(response.decrypt(key, hint, items)?)
    }

    /// The `k` best items, best first (ties to the earlier catalog item), with the scores in the
    /// units of the original vectors. `items` is the catalog's metadata, all of it, in order
    /// (`GET .../items`, fetched page by page once per version: asking only for the recommended
    /// items would tell the server which they are).
    pub fn rank(
        &self,
        scores: &[i32],
        query_scale: f32,
        items: &[ItemInfo],
        k: usize,
    ) -> Result<Vec<RankedItem>> {
        if scores.len() != items.len() || items.len() != self.manifest.item_count {
            return Err(ClientError::InvalidPreferences(format!(
                "{} scores and {} items for a catalog of {}",
                scores.len(),
                items.len(),
                self.manifest.item_count
            )));
        }
        let catalog_scale = self.manifest.quantization.catalog_scale;
        Ok(rank::top_k(scores, k)
            .into_iter()
            .enumerate()
            .map(|(i, position)| RankedItem {
                rank: i + 1,
                id: items[position].id.clone(),
                title: items[position].title.clone(),
                score: dequantize_score(scores[position], query_scale, catalog_scale),
                raw_score: scores[position],
            })
            .collect())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("catalog", &self.catalog)
            .field("items", &self.manifest.item_count)
            .field("dimension", &self.manifest.dimension)
            .finish_non_exhaustive()
    }
}
