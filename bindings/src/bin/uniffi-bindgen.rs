//! UniFFI's generator, built from this crate so that its version is the library's:
//! `cargo run -p veilrank-ffi --bin uniffi-bindgen -- generate --library <libveilrank_ffi.so>
//! --language kotlin --out-dir <dir>` (see `bindings/README.md`).

fn main() {
    uniffi::uniffi_bindgen_main();
}
