//! The JSON types of the HTTP API, shared by the server and the client SDK.

use serde::{Deserialize, Serialize};

use crate::precision::Precision;

fn baseline_precision() -> Precision {
    Precision::BASELINE
}

fn baseline_query_bound() -> i32 {
    Precision::BASELINE.query_bound()
}

/// A named direction in the embedding space (a genre, a topic) that clients may build a
/// preference vector from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// The name people use.
    pub name: String,
    /// The direction.
    pub vector: Vec<f32>,
}

/// `GET /v1/catalog`: everything a client checks before it encrypts.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Catalog id.
    pub id: String,
    /// Hash of the catalog's content (hex); queries name it.
    pub content_version: String,
    /// Number of items.
    pub item_count: usize,
    /// Dimension of the vectors.
    pub dimension: usize,
    /// How vectors are quantized.
    pub quantization: Quantization,
    /// Value bits of the catalog and of its queries: the SDK quantizes queries to the query
    /// bits, and the catalog is scored as `limbs` rows per item ([`crate::precision`]). Absent
    /// (servers before precisions): 8/8.
    #[serde(default = "baseline_precision")]
    pub precision: Precision,
    /// The parameter set.
    pub parameters: Parameters,
    /// The server's per-catalog choices and the failure bound they give.
    pub noise: Noise,
    /// Named directions for building preference vectors.
    pub topics: Vec<Topic>,
    /// Largest query body accepted, in bytes.
    pub max_query_bytes: usize,
    /// Bytes of the catalog's hint (`GET .../hint`), which clients download once per content
    /// version to decrypt.
    pub hint_bytes: usize,
    /// Bytes of the hint rounded to `noise.hint_bits` (`GET .../hint?form=rounded`), which
    /// clients of this version take instead. Absent (servers before the rounded hint): there is
    /// only the exact one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounded_hint_bytes: Option<usize>,
    /// Present only on a shard server (behind a gateway): the part of the catalog it scores.
    /// Everything else in the manifest describes the whole catalog; `hint_bytes` and the hint
    /// are the shard's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// The part of a catalog a shard server scores: whole blocks, in order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Its index, from 0.
    pub index: usize,
    /// Shards the catalog is cut in.
    pub count: usize,
    /// Its first item in the whole catalog.
    pub first_item: usize,
    /// Items it scores.
    pub items: usize,
}

/// Quantization section of the manifest.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Quantization {
    /// Largest absolute quantized catalog value.
    pub bound: i32,
    /// Largest absolute quantized query value. Absent (servers before precisions): 127.
    #[serde(default = "baseline_query_bound")]
    pub query_bound: i32,
    /// The catalog's scale: `vector ~= quantized * catalog_scale`.
    pub catalog_scale: f32,
    /// How a query is quantized.
    pub query_scale: String,
}

/// Parameter section of the manifest.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Parameters {
    /// Parameter set name.
    pub name: String,
    /// Parameter set fingerprint (hex).
    pub fingerprint: String,
    /// GLWE polynomial size N (items per block).
    pub polynomial_size: usize,
}

/// Noise section of the manifest.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Noise {
    /// NTT prime the server computes under.
    pub server_prime: String,
    /// Bits per coefficient in responses.
    pub response_bits: u32,
    /// Bits per coefficient of the rounded hint. Absent (servers before the rounded hint):
    /// there is only the exact one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_bits: Option<u32>,
    /// log2 of the bound on the probability that a score decrypts wrongly.
    pub log2_failure_per_score: f64,
}

/// Public metadata of one item.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ItemInfo {
    /// Unique id.
    pub id: String,
    /// Display title.
    pub title: String,
}

/// `GET /v1/catalog/items`: one page of item metadata.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ItemsPage {
    /// The catalog's content version: pages of different versions must not be mixed.
    pub content_version: String,
    /// Items in the catalog.
    pub total: usize,
    /// First item of this page.
    pub offset: usize,
    /// The items.
    pub items: Vec<ItemInfo>,
}

/// The body of every error response.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`stale_catalog`, `dimension_mismatch`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// One entry of `GET /v1/catalogs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogSummary {
    /// The catalog's id, as routes take it.
    pub id: String,
    /// Hash of the catalog's content.
    pub content_version: String,
    /// Number of items.
    pub item_count: usize,
    /// Vector dimension.
    pub dimension: usize,
    /// Whether it is prepared and can score.
    pub ready: bool,
}

/// `GET /v1/catalogs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogList {
    /// The catalog the single-catalog routes serve.
    pub default: String,
    /// Every catalog, by id.
    pub catalogs: Vec<CatalogSummary>,
}

/// What the server tells about a stored profile: metadata only, never content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The profile's id.
    pub id: String,
    /// The catalog it scores against.
    pub catalog: String,
    /// Its vector's dimension.
    pub dimension: usize,
    /// When it was uploaded or last replaced (RFC 3339).
    pub created_at: String,
    /// When it will be erased at the latest (RFC 3339), counting idle expiry if that is on.
    pub expires_at: String,
    /// Bytes of the encrypted profile.
    pub size_bytes: u64,
}

/// `POST /v1/profiles`: the new profile and its access token, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileCreated {
    /// The profile's metadata.
    pub profile: ProfileInfo,
    /// The secret access token (64 hex digits): every later request on the profile needs it.
    pub token: String,
}

impl std::fmt::Debug for ProfileCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileCreated")
            .field("profile", &self.profile)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `POST /admin/catalogs/{catalog}/reload`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// The catalog.
    pub catalog: String,
    /// `replaced` or `unchanged`.
    pub status: String,
    /// The version served before.
    pub previous_version: String,
    /// The version served now.
    pub current_version: String,
}
