//! The secret key: made on the device, kept in the platform's keystore, never sent anywhere.

use std::sync::Arc;

use veilrank_core::V1_128;
use zeroize::Zeroizing;

use crate::error::{Result, VeilrankError};

/// The user's secret key. Its Rust copy is wiped when the object is dropped (Kotlin `close()`,
/// Swift deinit, Python garbage collection); the bytes of [`Self::to_bytes`] belong to the app.
#[derive(uniffi::Object)]
pub struct SecretKey(pub(crate) Arc<veilrank_core::SecretKey>);

#[uniffi::export]
impl SecretKey {
    /// A new key from the operating system's random source.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Arc::new(
            veilrank_core::SecretKey::generate(&V1_128)?,
        ))))
    }

    /// The key saved earlier with [`Self::to_bytes`]; a typed error for anything else.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        veilrank_core::SecretKey::try_from_bytes(&V1_128, &bytes)
            .map(|key| Arc::new(Self(Arc::new(key))))
            .map_err(|e| VeilrankError::InvalidInput {
                detail: e.to_string(),
            })
    }

    /// The key's bytes, to keep in the platform's keystore (wrapped by Android Keystore, in the
    /// iOS Keychain): whoever has them can read this user's scores.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_garbage_is_a_typed_error() {
        let key = SecretKey::generate().expect("key");
        let back = SecretKey::from_bytes(key.to_bytes()).expect("same key");
        assert_eq!(*key.0.to_bytes(), *back.0.to_bytes());
        let mut bad = key.to_bytes();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            SecretKey::from_bytes(bad),
            Err(VeilrankError::InvalidInput { .. })
        ));
        assert!(!format!("{key:?}").contains(&format!("{:?}", &key.to_bytes()[..8])));
    }
}
