//! The web SDK's WebAssembly half: keys, encryption, hint decoding, decryption and ranking,
//! exported with wasm-bindgen. The npm package's TypeScript client (`web/js`) does the HTTP,
//! caches manifest, hint and titles per catalog version, and runs all of this in a Web Worker so
//! that the page never freezes. Everything here is `veilrank-client`'s sans-IO [`Session`]
//! (`veilrank_client::Session`) and `veilrank-core`'s keys: the same code as every other
//! platform, checked by the same exactness tests.
//!
//! Errors are thrown as JavaScript `Error`s named `VeilrankError` with a stable `code` property
//! (`parameter_mismatch`, `catalog_changed`, `invalid_preferences`, `protocol`, ...).

mod key;
mod session;

pub use key::Key;
pub use session::{EncryptedQuery, Session};

use wasm_bindgen::JsValue;

/// A `VeilrankError` with the client error's code and message.
pub(crate) fn error(e: veilrank_client::ClientError) -> JsValue {
    coded(e.code(), &e.to_string())
}

/// A `VeilrankError` with `code` and `message`.
pub(crate) fn coded(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("VeilrankError");
    let value = JsValue::from(error);
    // setting a property on a fresh Error object cannot fail
    let _ = js_sys::Reflect::set(&value, &"code".into(), &code.into());
    value
}

/// The version of this SDK (the crate's), for support and bug reports.
#[wasm_bindgen::prelude::wasm_bindgen]
#[must_use]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
