//! The one error type the apps see: the server's error codes as typed exceptions (Kotlin's
//! `VeilrankException.RateLimited`, Swift's `VeilrankError.RateLimited`, Python's
//! `VeilrankError.RateLimited`), and the client's own failures.

use veilrank_client::ClientError;

/// Everything a call can fail with. Fields are named `detail`, not `message`: Kotlin exceptions
/// already have a `message` (the Display text below).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum VeilrankError {
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach the server: {detail}")]
    Network {
        /// What failed.
        detail: String,
    },
    /// The server uses another parameter set than this SDK: upgrade one of them.
    #[error("the server uses parameter set {server}, this client speaks {client}")]
    ParameterMismatch {
        /// The server's fingerprint.
        server: String,
        /// This SDK's fingerprint.
        client: String,
    },
    /// The catalog changed between two requests: connect again (or a new [`crate::Session`]).
    #[error("the catalog changed on the server (now version {current})")]
    CatalogChanged {
        /// The server's current content version, where known.
        current: String,
    },
    /// No such stored profile: erased, expired, or the token does not match.
    #[error("no such profile on the server (erased, expired, or the token does not match)")]
    ProfileNotFound,
    /// The stored profile no longer fits its catalog: replace it.
    #[error("the stored profile no longer fits its catalog: {detail}")]
    ProfileIncompatible {
        /// The server's explanation.
        detail: String,
    },
    /// The app's API key is over its rate limit.
    #[error("rate limited: retry in {retry_after_secs} s")]
    RateLimited {
        /// How long the server asks to wait, in seconds.
        retry_after_secs: u64,
    },
    /// The server wants a (valid) API key.
    #[error("not authorized: {detail}")]
    Unauthorized {
        /// The server's explanation.
        detail: String,
    },
    /// The preferences do not fit the catalog (length, NaN, unknown topic, all zero).
    #[error("invalid preferences: {detail}")]
    InvalidPreferences {
        /// What is wrong.
        detail: String,
    },
    /// An argument the app passed is unusable: key bytes, a saved profile, a manifest.
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong.
        detail: String,
    },
    /// Any other error answer of the server.
    #[error("server said {status} ({code}): {detail}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's message.
        detail: String,
    },
    /// The server's bytes are not what the protocol allows (a bad or oversized response).
    #[error("protocol error: {detail}")]
    Protocol {
        /// What is wrong.
        detail: String,
    },
    /// A failure inside the SDK (a bug, or the runtime could not start).
    #[error("internal error: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}

/// `Result` of the bindings.
pub type Result<T, E = VeilrankError> = std::result::Result<T, E>;

impl From<ClientError> for VeilrankError {
    fn from(e: ClientError) -> Self {
        let detail = e.to_string();
        match e {
            ClientError::Http(_) => Self::Network { detail },
            ClientError::ParameterMismatch { server, client } => {
                Self::ParameterMismatch { server, client }
            }
            ClientError::CatalogChanged { current } => Self::CatalogChanged { current },
            ClientError::ProfileNotFound => Self::ProfileNotFound,
            ClientError::ProfileIncompatible { message } => {
                Self::ProfileIncompatible { detail: message }
            }
            ClientError::RateLimited { retry_after } => Self::RateLimited {
                retry_after_secs: retry_after.as_secs(),
            },
            ClientError::Unauthorized { message } => Self::Unauthorized { detail: message },
            ClientError::InvalidPreferences(detail) => Self::InvalidPreferences { detail },
            ClientError::InvalidCertificate(_) => Self::InvalidInput { detail },
            ClientError::Server {
                status,
                code,
                message,
            } => Self::Server {
                status,
                code,
                detail: message,
            },
            ClientError::Core(
                veilrank_core::Error::NonFinite { .. }
                | veilrank_core::Error::DimensionMismatch { .. },
            ) => Self::InvalidPreferences { detail },
            ClientError::Core(veilrank_core::Error::InvalidKey(_)) => Self::InvalidInput { detail },
            ClientError::InvalidJson(_)
            | ClientError::BadManifest(_)
            | ClientError::TooLarge { .. }
            | ClientError::Core(_) => Self::Protocol { detail },
            _ => Self::Internal { detail },
        }
    }
}

impl From<veilrank_core::Error> for VeilrankError {
    fn from(e: veilrank_core::Error) -> Self {
        ClientError::from(e).into()
    }
}

/// The typed error of a server's error response, for apps with their own HTTP stack: its
/// status, its body (`{"error": {"code", "message"}}`) and its `Retry-After` in seconds.
#[uniffi::export]
#[must_use]
pub fn error_from_response(
    status: u16,
    body: Vec<u8>,
    retry_after_secs: Option<u64>,
) -> VeilrankError {
    ClientError::from_response(status, &body, retry_after_secs).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> Vec<u8> {
        format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#).into_bytes()
    }

    #[test]
    fn server_codes_become_typed_errors() {
        assert!(matches!(
            error_from_response(429, body("rate_limited"), Some(7)),
            VeilrankError::RateLimited {
                retry_after_secs: 7
            }
        ));
        assert!(matches!(
            error_from_response(401, body("bad_api_key"), None),
            VeilrankError::Unauthorized { .. }
        ));
        assert!(matches!(
            error_from_response(404, body("profile_not_found"), None),
            VeilrankError::ProfileNotFound
        ));
        assert!(matches!(
            error_from_response(409, body("stale_catalog"), None),
            VeilrankError::CatalogChanged { .. }
        ));
        match error_from_response(418, body("teapot"), None) {
            VeilrankError::Server { status, code, .. } => {
                assert_eq!((status, code.as_str()), (418, "teapot"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            error_from_response(502, b"<html>bad gateway</html>".to_vec(), None),
            VeilrankError::Server { status: 502, .. }
        ));
    }
}
