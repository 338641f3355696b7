//! What the SDK makes of a server's answers (the version a response names; an error response's
//! body, JSON or anything a proxy may send, as a typed error) and of the profile file it keeps
//! beside a key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veilrank_client::{ClientError, Session};

fuzz_target!(|data: &[u8]| {
    let _ = Session::response_catalog(data);
    let _ = serde_json::from_slice::<veilrank_client::Profile>(data);
    if let [status, retry, body @ ..] = data {
        let status = 400 + u16::from(*status % 200);
        let error = ClientError::from_response(status, body, Some(u64::from(*retry)));
        let _ = error.to_string();
    }
});
