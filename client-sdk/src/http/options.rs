//! How the client connects: the catalog, the API key, the trusted certificate authorities.

use std::time::Duration;

use crate::error::{ClientError, Result};

/// How to connect: which catalog, with which API key, which certificate authorities beyond the
/// built-in ones, how long to wait for a server that is still preparing.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// The catalog to use; the server's default catalog when `None`.
    pub catalog: Option<String>,
    /// The app's API key, sent as `x-api-key`, when the server asks for one.
    pub api_key: Option<String>,
    /// How long to wait for a server whose catalog is still being prepared.
    pub ready_timeout: Duration,
    /// Certificate authorities (PEM, one or more certificates each) trusted for `https://` URLs
    /// besides Mozilla's roots, which are built in: for a server behind a private CA.
    pub root_certificates_pem: Vec<String>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("catalog", &self.catalog)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("ready_timeout", &self.ready_timeout)
            .field("root_certificates_pem", &self.root_certificates_pem.len())
            .finish()
    }
}

impl ConnectOptions {
    /// The HTTP client these options describe: the API key as a sensitive default header, the
    /// extra roots beside the built-in ones.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = &self.api_key {
            let mut value = reqwest::header::HeaderValue::from_str(key).map_err(|_| {
                ClientError::Unauthorized {
                    message: "the API key holds characters an HTTP header cannot carry".into(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert("x-api-key", value);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .default_headers(headers);
        for pem in &self.root_certificates_pem {
            let bundle = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| ClientError::InvalidCertificate(e.to_string()))?;
            if bundle.is_empty() {
                return Err(ClientError::InvalidCertificate(
                    "no PEM certificate in the text given".into(),
                ));
            }
            for certificate in bundle {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(builder.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_api_key_and_the_certificates() {
        let options = ConnectOptions {
            api_key: Some("secret-api-key-0123".into()),
            root_certificates_pem: vec!["-----BEGIN CERTIFICATE-----".into()],
            ..ConnectOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("secret-api-key"), "{shown}");
        assert!(!shown.contains("BEGIN"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
