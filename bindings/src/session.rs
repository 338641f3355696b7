//! The sans-IO layer for apps that bring their own HTTP stack: bytes in, bytes out.
//!
//! 1. `GET /v1/catalog` -> [`Session::new`] with the JSON;
//! 2. [`Session::encrypt`] -> POST its body to `/v1/catalogs/{id}/score`;
//! 3. `GET .../hint` (once per catalog version) -> [`Session::decode_hint`];
//! 4. [`Session::decrypt`] the response -> exact scores; `GET .../items` pages (all of them,
//!    once per version) -> [`Session::rank`].
//!
//! Error answers of the server become typed errors with [`crate::error_from_response`].

use std::sync::Arc;

use veilrank_core::api::{ItemsPage, Manifest};

use crate::error::{Result, VeilrankError};
use crate::key::SecretKey;
use crate::records::{CatalogInfo, EncryptedQuery, ItemInfo, RankedItem};

/// One version of one catalog.
#[derive(uniffi::Object)]
pub struct Session(veilrank_client::Session);

/// A catalog version's decoded hint: the same public bytes for every client, kept for the
/// responses of that version.
#[derive(uniffi::Object)]
pub struct Hint(veilrank_core::Hint);

fn invalid(what: &str) -> impl FnOnce(serde_json::Error) -> VeilrankError + '_ {
    move |e| VeilrankError::Protocol {
        detail: format!("{what} is not the JSON expected: {e}"),
    }
}

#[uniffi::export]
impl Session {
    /// The session of a manifest (the body of `GET /v1/catalog` or `/v1/catalogs/{id}`),
    /// checked against this SDK's parameter set.
    #[uniffi::constructor]
    pub fn new(manifest_json: String) -> Result<Arc<Self>> {
        let manifest: Manifest =
            serde_json::from_str(&manifest_json).map_err(invalid("the manifest"))?;
        Ok(Arc::new(Self(veilrank_client::Session::new(manifest)?)))
    }

    /// The catalog version.
    pub fn catalog(&self) -> CatalogInfo {
        self.0.manifest().into()
    }

    /// Preferences that like the named topics equally.
    pub fn preferences_from_topics(&self, topics: Vec<String>) -> Result<Vec<f32>> {
        Ok(self.0.preferences_from_topics(&topics)?)
    }

    /// Quantizes and encrypts `preferences` (one value per dimension) under a fresh secret.
    pub fn encrypt(&self, key: &SecretKey, preferences: Vec<f32>) -> Result<EncryptedQuery> {
        let query = self.0.encrypt(&key.0, &preferences)?;
        Ok(EncryptedQuery {
            body: query.body,
            scale: query.scale,
        })
    }

    /// The most bytes a hint of this version may have: read no more.
    pub fn hint_size_limit(&self) -> u64 {
        self.0.hint_size_limit() as u64
    }

    /// The most bytes a response of this version may have: read no more.
    pub fn response_size_limit(&self) -> u64 {
        self.0.response_size_limit() as u64
    }

    /// Decodes the body of `GET /v1/catalogs/{id}/hint`.
    pub fn decode_hint(&self, bytes: Vec<u8>) -> Result<Arc<Hint>> {
        Ok(Arc::new(Hint(self.0.decode_hint(&bytes)?)))
    }

    /// Decrypts a response of this catalog version: the exact integer score of every item, in
    /// catalog order. A response of another version is [`VeilrankError::CatalogChanged`].
    pub fn decrypt(&self, key: &SecretKey, hint: &Hint, response: Vec<u8>) -> Result<Vec<i32>> {
        Ok(self.0.decrypt(&key.0, &hint.0, &response)?)
    }

    /// Parses one page of `GET .../items?offset=&limit=`, checking it is of this version.
    pub fn items_page(&self, json: String) -> Result<Vec<ItemInfo>> {
        let page: ItemsPage = serde_json::from_str(&json).map_err(invalid("an item page"))?;
        if page.content_version != self.0.manifest().content_version {
            return Err(VeilrankError::CatalogChanged {
                current: page.content_version,
            });
        }
        Ok(page
            .items
            .into_iter()
            .map(|i| ItemInfo {
                id: i.id,
                title: i.title,
            })
            .collect())
    }

    /// The `k` best items, best first (ties to the earlier item). `items` is the whole catalog's
    /// metadata in order: asking the server for only the winners would tell it which they are.
    pub fn rank(
        &self,
        scores: Vec<i32>,
        query_scale: f32,
        items: Vec<ItemInfo>,
        k: u32,
    ) -> Result<Vec<RankedItem>> {
        let items: Vec<_> = items
            .into_iter()
            .map(|i| veilrank_core::api::ItemInfo {
                id: i.id,
                title: i.title,
            })
            .collect();
        Ok(self
            .0
            .rank(&scores, query_scale, &items, k as usize)?
            .into_iter()
            .map(RankedItem::from)
            .collect())
    }
}
