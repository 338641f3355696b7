//! A stored profile as the app keeps it: its id, its access token and its scale.

use std::sync::{Arc, Mutex, MutexGuard};

use zeroize::Zeroizing;

use crate::error::{Result, VeilrankError};
use crate::records::ProfileInfo;

/// A stored profile made by [`crate::Client::create_profile`]. It holds the access token (whoever
/// has it can score, replace and erase the profile): keep [`Self::to_json`] beside the secret
/// key, in the platform's keystore.
#[derive(uniffi::Object)]
pub struct Profile(Mutex<veilrank_client::Profile>);

impl Profile {
    pub(crate) fn new(profile: veilrank_client::Profile) -> Arc<Self> {
        Arc::new(Self(Mutex::new(profile)))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, veilrank_client::Profile> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[uniffi::export]
impl Profile {
    /// A profile saved earlier with [`Self::to_json`].
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>> {
        let json = Zeroizing::new(json);
        serde_json::from_str(&json)
            .map(Self::new)
            .map_err(|e| VeilrankError::InvalidInput {
                detail: format!("not a saved veilrank profile: {e}"),
            })
    }

    /// The profile, its token included, as JSON for the app's keystore.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&*self.lock()).map_err(|e| VeilrankError::Internal {
            detail: e.to_string(),
        })
    }

    /// The profile's id.
    pub fn id(&self) -> String {
        self.lock().id.clone()
    }

    /// The server's metadata, as of the last create or replace.
    pub fn info(&self) -> ProfileInfo {
        self.lock().info.clone().into()
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.lock().fmt(f) // the token redacted
    }
}
