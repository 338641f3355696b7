//! The HTTP client, blocking: each call waits for the server. Call it off the UI thread.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::key::SecretKey;
use crate::profile::Profile;
use crate::records::{CatalogInfo, ProfileInfo, RankedItem};
use crate::runtime::block_on;

/// How to connect.
#[derive(Clone, uniffi::Record)]
pub struct ConnectOptions {
    /// The catalog to use; the server's default catalog when absent.
    #[uniffi(default = None)]
    pub catalog: Option<String>,
    /// The app's API key, when the server asks for one.
    #[uniffi(default = None)]
    pub api_key: Option<String>,
    /// How long to wait for a server whose catalog is still being prepared, in milliseconds.
    #[uniffi(default = 0)]
    pub ready_timeout_ms: u64,
    /// Certificate authorities (PEM) trusted for `https://` URLs besides Mozilla's roots, which
    /// are built in: for a server behind a private CA.
    #[uniffi(default)]
    pub root_certificates_pem: Vec<String>,
}

impl From<ConnectOptions> for veilrank_client::ConnectOptions {
    fn from(options: ConnectOptions) -> Self {
        Self {
            catalog: options.catalog,
            api_key: options.api_key,
            ready_timeout: Duration::from_millis(options.ready_timeout_ms),
            root_certificates_pem: options.root_certificates_pem,
        }
    }
}

impl std::fmt::Debug for ConnectOptions {
    // the SDK's, which redacts the API key
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        veilrank_client::ConnectOptions::from(self.clone()).fmt(f)
    }
}

/// A connection to one catalog of one veilrank server. The manifest, the hint and the items'
/// titles are fetched once per catalog version and kept; a replaced catalog is picked up by the
/// next call without an error.
#[derive(uniffi::Object)]
pub struct Client(veilrank_client::Client);

fn ranked(items: Vec<veilrank_client::RankedItem>) -> Vec<RankedItem> {
    items.into_iter().map(RankedItem::from).collect()
}

#[uniffi::export]
impl Client {
    /// Connects to `base_url` (e.g. `https://recs.example.com`): fetches the catalog's manifest
    /// and checks that the server speaks this SDK's parameter set.
    #[uniffi::constructor]
    pub fn connect(base_url: String, options: ConnectOptions) -> Result<Arc<Self>> {
        let options = veilrank_client::ConnectOptions::from(options);
        let client = block_on(veilrank_client::Client::connect_with(&base_url, options))??;
        Ok(Arc::new(Self(client)))
    }

    /// The catalog version as last fetched.
    pub fn catalog(&self) -> CatalogInfo {
        (&self.0.manifest()).into()
    }

    /// Preferences that like the named topics equally.
    pub fn preferences_from_topics(&self, topics: Vec<String>) -> Result<Vec<f32>> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        Ok(self.0.preferences_from_topics(&names)?)
    }

    /// The `k` best items for `preferences` (one value per dimension), best first; ties go to
    /// the earlier catalog item. The server sees only ciphertext.
    pub fn recommend(
        &self,
        key: &SecretKey,
        preferences: Vec<f32>,
        k: u32,
    ) -> Result<Vec<RankedItem>> {
        let found = block_on(self.0.recommend(&key.0, &preferences, k as usize))??;
        Ok(ranked(found.items))
    }

    /// The exact integer score of every item, in catalog order (for apps that rank or filter
    /// themselves).
    pub fn scores(&self, key: &SecretKey, preferences: Vec<f32>) -> Result<Vec<i32>> {
        Ok(block_on(self.0.score(&key.0, &preferences))??.raw)
    }

    /// Uploads `preferences`, encrypted, as a stored profile: later rankings send no vector.
    pub fn create_profile(&self, key: &SecretKey, preferences: Vec<f32>) -> Result<Arc<Profile>> {
        let profile = block_on(self.0.create_profile(&key.0, &preferences))??;
        Ok(Profile::new(profile))
    }

    /// The `k` best items for a stored profile, best first.
    pub fn recommend_profile(
        &self,
        profile: &Profile,
        key: &SecretKey,
        k: u32,
    ) -> Result<Vec<RankedItem>> {
        let profile = profile.lock().clone();
        let found = block_on(self.0.recommend_profile(&profile, &key.0, k as usize))??;
        Ok(ranked(found.items))
    }

    /// The server's metadata of a stored profile.
    pub fn profile_info(&self, profile: &Profile) -> Result<ProfileInfo> {
        let profile = profile.lock().clone();
        Ok(block_on(self.0.profile_info(&profile))??.into())
    }

    /// Replaces a stored profile's preferences (same id and token); updates `profile`.
    pub fn replace_profile(
        &self,
        profile: &Profile,
        key: &SecretKey,
        preferences: Vec<f32>,
    ) -> Result<ProfileInfo> {
        let mut updated = profile.lock().clone();
        let info = block_on(self.0.replace_profile(&mut updated, &key.0, &preferences))??;
        *profile.lock() = updated;
        Ok(info.into())
    }

    /// Erases a stored profile on the server, for good.
    pub fn delete_profile(&self, profile: &Profile) -> Result<()> {
        let profile = profile.lock().clone();
        Ok(block_on(self.0.delete_profile(&profile))??)
    }
}
