//! Reading the server's answers: typed errors, and bodies read under a size limit whatever the
//! headers say, so that a hostile or broken server costs an error, not the client's memory.

use crate::error::{ClientError, Result};

/// The most bytes of JSON the API ever sends in one body (a page of item metadata is the
/// largest, about 1 MB at 10,000 items with long titles).
pub(crate) const JSON_LIMIT: usize = 16 << 20;

/// The typed error of an error response.
pub(crate) async fn server_error(response: reqwest::Response) -> ClientError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match read_capped(response, JSON_LIMIT).await {
        Ok(body) => ClientError::from_response(status, &body, retry_after),
        Err(e) => e,
    }
}

/// The body of a successful response, at most `limit` bytes; an error response as its typed
/// error.
pub(crate) async fn body_or_error(response: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    if !response.status().is_success() {
        return Err(server_error(response).await);
    }
    read_capped(response, limit).await
}

/// A successful response's JSON body; an error response as its typed error.
pub(crate) async fn json_or_error<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T> {
    let body = body_or_error(response, JSON_LIMIT).await?;
    Ok(serde_json::from_slice(&body)?)
}

/// Reads at most `limit` bytes of body: more is an error after `limit` bytes, however long the
/// body or whatever its `Content-Length` claims.
pub(crate) async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ClientError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Err(ClientError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Runs CPU-heavy work (encryption, decryption) on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Task(e.to_string()))?
}

/// The most bytes a response to a query of `session` may have: a response of scores, or
/// (smaller) an error's JSON.
pub(crate) fn scores_limit(session: &crate::Session) -> usize {
    session.response_size_limit().max(JSON_LIMIT)
}
