//! The user's secret key, in WebAssembly memory: generated from the Web Crypto API's random
//! source, exported as bytes for the app to store (wrapped: see the README), zeroized when freed.

use veilrank_client::ClientError;
use veilrank_core::{SecretKey, V1_128};
use wasm_bindgen::prelude::*;

use crate::error;

/// A secret key. It never leaves the client; `free()` it (or let the worker end) when done.
#[wasm_bindgen]
pub struct Key {
    pub(crate) inner: SecretKey,
}

#[wasm_bindgen]
impl Key {
    /// A fresh key from the platform's random source (`crypto.getRandomValues`).
    pub fn generate() -> Result<Key, JsValue> {
        let inner = SecretKey::generate(&V1_128).map_err(|e| error(ClientError::from(e)))?;
        Ok(Self { inner })
    }

    /// A key from the bytes of [`Key::to_bytes`] (checked: magic, version, parameter set,
    /// checksum).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, JsValue> {
        let inner =
            SecretKey::try_from_bytes(&V1_128, bytes).map_err(|e| error(ClientError::from(e)))?;
        Ok(Self { inner })
    }

    /// The key's storage form (secret: store it wrapped, never send it anywhere).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }
}
