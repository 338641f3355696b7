//! A response body written from parts, without joining them first.
//!
//! An encoded response is megabytes in one block per N items
//! ([`wire::encode_response_parts`](veilrank_core::wire::encode_response_parts)). Joined, each
//! response cost a copy and the page faults of a fresh buffer; as parts, hyper writes them
//! with vectored writes straight from the blocks the pass produced. The exact length is known,
//! so the response still carries `Content-Length` rather than being chunked.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Frame, SizeHint};

/// The parts of one message, in order.
#[derive(Debug, Default)]
pub struct Parts {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl Parts {
    /// Bytes in all the parts.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// The message in one buffer (a copy), for callers that decode it in-process.
    pub fn concat(&self) -> Vec<u8> {
        self.parts.iter().flat_map(|p| p.iter().copied()).collect()
    }
}

impl FromIterator<Vec<u8>> for Parts {
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(iter: I) -> Self {
        let parts: VecDeque<Bytes> = iter
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(Bytes::from)
            .collect();
        let remaining = parts.iter().map(|p| p.len() as u64).sum();
        Self { parts, remaining }
    }
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.remaining -= part.len() as u64;
        }
        Poll::Ready(next.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn parts_are_sent_in_order_with_an_exact_length() {
        let parts: Parts = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec()]
            .into_iter()
            .collect();
        assert_eq!(http_body::Body::size_hint(&parts).exact(), Some(5));
        let bytes = parts.collect().await.map(|c| c.to_bytes());
        assert_eq!(bytes.ok().as_deref(), Some(&b"abcde"[..]));
    }

    #[tokio::test]
    async fn the_response_has_a_content_length() {
        use axum::response::IntoResponse;
        let parts: Parts = vec![vec![7u8; 10], vec![8u8; 4]].into_iter().collect();
        let response = axum::body::Body::new(parts).into_response();
        let hint = http_body::Body::size_hint(response.body());
        assert_eq!(hint.exact(), Some(14));
    }
}
