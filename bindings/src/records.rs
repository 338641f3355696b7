//! The plain data the bindings pass by value: what an app shows or stores.

use veilrank_core::api::Manifest;

/// A ranked item.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RankedItem {
    /// 1 for the best.
    pub rank: u32,
    /// The item's id.
    pub id: String,
    /// The item's title.
    pub title: String,
    /// The dot product in the units of the original vectors.
    pub score: f32,
    /// The exact integer score of the quantized vectors.
    pub raw_score: i32,
}

impl From<veilrank_client::RankedItem> for RankedItem {
    fn from(item: veilrank_client::RankedItem) -> Self {
        Self {
            rank: u32::try_from(item.rank).unwrap_or(u32::MAX),
            id: item.id,
            title: item.title,
            score: item.score,
            raw_score: item.raw_score,
        }
    }
}

/// What the app needs to know of a catalog version.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CatalogInfo {
    /// The catalog's id.
    pub id: String,
    /// Its content version: changes whenever its items do.
    pub content_version: String,
    /// How many items it has.
    pub item_count: u64,
    /// The dimension of its vectors (and of the preferences).
    pub dimension: u32,
    /// The named topics that preferences can be made of.
    pub topics: Vec<String>,
}

impl From<&Manifest> for CatalogInfo {
    fn from(m: &Manifest) -> Self {
        Self {
            id: m.id.clone(),
            content_version: m.content_version.clone(),
            item_count: m.item_count as u64,
            dimension: u32::try_from(m.dimension).unwrap_or(u32::MAX),
            topics: m.topics.iter().map(|t| t.name.clone()).collect(),
        }
    }
}

/// An item's public metadata (`GET .../items`).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ItemInfo {
    /// The item's id.
    pub id: String,
    /// The item's title.
    pub title: String,
}

/// The server's metadata of a stored profile (never its content).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ProfileInfo {
    /// The profile's id.
    pub id: String,
    /// The catalog it scores against.
    pub catalog: String,
    /// Its vector's dimension.
    pub dimension: u32,
    /// When it was uploaded or last replaced (RFC 3339).
    pub created_at: String,
    /// When the server erases it at the latest (RFC 3339).
    pub expires_at: String,
    /// Bytes of the encrypted profile on the server.
    pub size_bytes: u64,
}

impl From<veilrank_core::api::ProfileInfo> for ProfileInfo {
    fn from(p: veilrank_core::api::ProfileInfo) -> Self {
        Self {
            id: p.id,
            catalog: p.catalog,
            dimension: u32::try_from(p.dimension).unwrap_or(u32::MAX),
            created_at: p.created_at,
            expires_at: p.expires_at,
            size_bytes: p.size_bytes,
        }
    }
}

/// An encrypted query for the sans-IO [`crate::Session`]: POST `body` to
/// `/v1/catalogs/{id}/score` (`application/octet-stream`) and keep `scale` for ranking.
#[derive(Clone, PartialEq, uniffi::Record)]
pub struct EncryptedQuery {
    /// The request body.
    pub body: Vec<u8>,
    /// The preferences' quantization scale (not secret, never sent).
    pub scale: f32,
}

impl std::fmt::Debug for EncryptedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedQuery")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}
