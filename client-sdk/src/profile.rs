//! A stored profile as its owner keeps it.

use veilrank_core::api::ProfileInfo;
use zeroize::Zeroizing;

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
    /// A profile the server just created (`POST /v1/profiles` answered `info` and `token`).
    #[must_use]
    pub fn new(server: &str, info: ProfileInfo, token: String, query_scale: f32) -> Self {
        Self {
            server: server.to_string(),
            id: info.id.clone(),
            catalog: info.catalog.clone(),
            token: Zeroizing::new(token),
            query_scale,
            info,
        }
    }

    /// The access token (secret).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// After a replacement (`PUT /v1/profiles/{id}`): the new metadata and scale.
    pub fn replaced(&mut self, info: ProfileInfo, query_scale: f32) {
        self.catalog = info.catalog.clone();
        self.query_scale = query_scale;
        self.info = info;
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
