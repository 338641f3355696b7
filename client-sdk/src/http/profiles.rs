//! Stored profiles over HTTP: upload once, rank with small requests, replace, erase.

use std::sync::Arc;

use veilrank_core::api::{ProfileCreated, ProfileInfo};
use veilrank_core::SecretKey;

use super::client::Client;
use super::report::Report;
use super::scores::{Recommendations, Scores};
use super::transport::{json_or_error, server_error};
use crate::error::Result;
use crate::profile::Profile;

impl Client {
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
        Ok(Profile::new(
            &self.base,
            created.profile,
            created.token,
            query_scale,
        ))
    }

    /// The server's metadata of a stored profile (never its content).
    pub async fn profile_info(&self, profile: &Profile) -> Result<ProfileInfo> {
        let response = self
            .http
            .get(self.profile_url(&profile.id, ""))
            .bearer_auth(profile.token())
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
            .put(self.profile_url(&profile.id, ""))
            .bearer_auth(profile.token())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await?;
        let info: ProfileInfo = json_or_error(response).await?;
        profile.replaced(info.clone(), query_scale);
        Ok(info)
    }

    /// Erases a stored profile on the server, for good.
    pub async fn delete_profile(&self, profile: &Profile) -> Result<()> {
        let response = self
            .http
            .delete(self.profile_url(&profile.id, ""))
            .bearer_auth(profile.token())
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
            .post(self.profile_url(&profile.id, "/score"))
            .bearer_auth(profile.token());
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
}
