//! One version of one catalog, bytes in and bytes out: `veilrank_client::Session` for
//! JavaScript, with the catalog's hint kept once given.

use std::sync::Arc;

use veilrank_client::ClientError;
use veilrank_core::api::Manifest;
use veilrank_core::{Hint, SecretKey, V1_128};
use wasm_bindgen::prelude::*;

use crate::key::Key;
use crate::{coded, error};

/// An encrypted query: the body to POST, and the scale to keep for reading its scores.
#[wasm_bindgen]
pub struct EncryptedQuery {
    body: Vec<u8>,
    scale: f32,
}

#[wasm_bindgen]
impl EncryptedQuery {
    /// The message body (`application/octet-stream`).
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> Vec<u8> {
        self.body.clone()
    }

    /// The preferences' quantization scale.
    #[wasm_bindgen(getter)]
    pub fn scale(&self) -> f32 {
        self.scale
    }
}

/// One catalog version: build it from the manifest's JSON, give it the hint once, then encrypt
/// and decrypt with it.
#[wasm_bindgen]
pub struct Session {
    inner: Arc<veilrank_client::Session>,
    hint: Option<Hint>,
}

#[wasm_bindgen]
impl Session {
    /// Checks a manifest (the JSON of `GET /v1/catalog`): parameter set, dimension, version.
    #[wasm_bindgen(constructor)]
    pub fn new(manifest_json: &str) -> Result<Session, JsValue> {
        let manifest: Manifest = parse(manifest_json)?;
        let inner = veilrank_client::Session::new(manifest).map_err(error)?;
        Ok(Self {
            inner: Arc::new(inner),
            hint: None,
        })
    }

    /// The session of the catalog's next version, keeping this one's encryptor when the
    /// dimension is the same.
    pub fn successor(&self, manifest_json: &str) -> Result<Session, JsValue> {
        let manifest: Manifest = parse(manifest_json)?;
        let inner = self.inner.successor(manifest).map_err(error)?;
        Ok(Self {
            inner: Arc::new(inner),
            hint: None,
        })
    }

    /// The catalog's content version (hex).
    #[wasm_bindgen(getter, js_name = contentVersion)]
    pub fn content_version(&self) -> String {
        self.inner.manifest().content_version.clone()
    }

    /// Items in the catalog.
    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.inner.manifest().item_count
    }

    /// The vectors' dimension.
    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> usize {
        self.inner.manifest().dimension
    }

    /// The most bytes the hint may have.
    #[wasm_bindgen(getter, js_name = hintSizeLimit)]
    pub fn hint_size_limit(&self) -> usize {
        self.inner.hint_size_limit()
    }

    /// The most bytes a response may have.
    #[wasm_bindgen(getter, js_name = responseSizeLimit)]
    pub fn response_size_limit(&self) -> usize {
        self.inner.response_size_limit()
    }

    /// Whether the hint was given.
    #[wasm_bindgen(getter, js_name = hasHint)]
    pub fn has_hint(&self) -> bool {
        self.hint.is_some()
    }

    /// Computes the public masks' transforms now rather than in the first `encrypt`, then
    /// encrypts once under a throwaway key: browsers compile WebAssembly lazily and optimise
    /// only what has run, so the user's first query would otherwise run the slowest code.
    #[wasm_bindgen(js_name = warmUp)]
    pub fn warm_up(&self) -> Result<(), JsValue> {
        self.inner.warm_up().map_err(error)?;
        let throwaway = SecretKey::generate(&V1_128).map_err(|e| error(ClientError::from(e)))?;
        let mut prefs = vec![0f32; self.inner.manifest().dimension];
        prefs[0] = 1.0;
        self.inner
            .encrypt(&throwaway, &prefs)
            .map(drop)
            .map_err(error)
    }

    /// A preference vector liking the named topics equally.
    #[wasm_bindgen(js_name = preferencesFromTopics)]
    pub fn preferences_from_topics(&self, names: Vec<String>) -> Result<Vec<f32>, JsValue> {
        self.inner.preferences_from_topics(&names).map_err(error)
    }

    /// Quantizes and encrypts `prefs` under a fresh secret of `key`.
    pub fn encrypt(&self, key: &Key, prefs: &[f32]) -> Result<EncryptedQuery, JsValue> {
        let query = self.inner.encrypt(&key.inner, prefs).map_err(error)?;
        Ok(EncryptedQuery {
            body: query.body,
            scale: query.scale,
        })
    }

    /// Decodes and keeps the catalog's hint (`GET .../hint`).
    #[wasm_bindgen(js_name = setHint)]
    pub fn set_hint(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.hint = Some(self.inner.decode_hint(bytes).map_err(error)?);
        Ok(())
    }

    /// The content version (hex) a response was scored on: when it is not this session's,
    /// decrypt it with that version's session.
    #[wasm_bindgen(js_name = responseVersion)]
    pub fn response_version(response: &[u8]) -> Result<String, JsValue> {
        let catalog = veilrank_client::Session::response_catalog(response).map_err(error)?;
        Ok(catalog.version.to_hex())
    }

    /// Decrypts a response with `key`: the exact integer score of every item.
    pub fn decrypt(&self, key: &Key, response: &[u8]) -> Result<Vec<i32>, JsValue> {
        let hint = self
            .hint
            .as_ref()
            .ok_or_else(|| coded("hint_missing", "give the catalog's hint first (setHint)"))?;
        self.inner
            .decrypt(&key.inner, hint, response)
            .map_err(error)
    }

    /// The positions of the `k` best scores, best first (ties to the earlier item): look them
    /// up in the catalog's item metadata, which the client holds whole.
    #[wasm_bindgen(js_name = topK)]
    pub fn top_k(scores: &[i32], k: usize) -> Vec<u32> {
        veilrank_core::rank::top_k(scores, k)
            .into_iter()
            .map(|i| i as u32)
            .collect()
    }

    /// An exact integer score in the units of the original vectors, for a query quantized with
    /// `query_scale`.
    pub fn dequantize(&self, raw: i32, query_scale: f32) -> f32 {
        let catalog_scale = self.inner.manifest().quantization.catalog_scale;
        veilrank_core::quantize::dequantize_score(raw, query_scale, catalog_scale)
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, JsValue> {
    serde_json::from_str(json).map_err(|e| error(ClientError::from(e)))
}
