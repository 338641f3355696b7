//! A response's head (its envelope and everything but the blocks), read and written alone: how
//! a gateway joins the responses of shards of whole blocks without decoding their blocks.
//!
//! After the head, a response is, per block, its length (u64) and its packed bytes. A shard's
//! response for blocks `[b0, b1)` is that same byte run for those blocks; so the joined response
//! is a head naming the whole catalog, then each shard's bytes after its own head, in order.

use super::{decode, encode, peek, CatalogRef, MessageKind, Version};
use crate::bitpack::packed_len;
use crate::params::ParameterSet;
use crate::response::Response;
use crate::{Error, Result};

/// A response without its blocks: what it answers, and how many blocks follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The catalog and the content version it was scored on.
    pub catalog: CatalogRef,
    /// Everything but the blocks (`blocks` is empty).
    pub response: Response,
    /// Blocks after the head.
    pub blocks: usize,
}

impl ResponseHead {
    /// Bytes of the blocks after the head, where each block is a length and its items'
    /// packed coefficients (`N` of them, fewer in a last partial block); `None` where the block
    /// count does not fit the item count.
    pub fn body_len(&self, params: &ParameterSet) -> Option<usize> {
        let (n, bits) = (params.polynomial_size, u32::from(self.response.bits));
        let items = self.response.items as usize;
        if self.blocks != items.div_ceil(n) {
            return None;
        }
        Some(self.blocks * 8 + (items / n) * packed_len(n, bits) + packed_len(items % n, bits))
    }
}

/// Bytes of the head of any response about catalog `catalog_id` (every field is fixed-width but
/// the catalog id).
pub fn response_head_len(params: &ParameterSet, catalog_id: &str) -> Result<usize> {
    let catalog = CatalogRef {
        id: catalog_id.to_string(),
        version: super::ContentVersion([0; 32]),
    };
    let empty = Response {
        bits: 0,
        dim: 0,
        items: 0,
        nonce: 0,
        hint: crate::hint::HintId([0; 16]),
        blocks: Vec::new(),
    };
    Ok(encode_response_head(params, &catalog, &empty, 0)?.len())
}

/// Encodes the head of a response of `blocks` blocks; `response.blocks` must be empty.
pub fn encode_response_head(
    params: &ParameterSet,
    catalog: &CatalogRef,
    response: &Response,
    blocks: usize,
) -> Result<Vec<u8>> {
    if !response.blocks.is_empty() {
        return Err(Error::Malformed("a response head has no blocks".into()));
    }
    let mut head = encode(params, MessageKind::Response, catalog, response)?;
    // with no blocks, the message ends in the blocks' count: a u64 (fixed-width, little-endian)
    let at = head.len() - 8;
    head[at..].copy_from_slice(&(blocks as u64).to_le_bytes());
    Ok(head)
}

/// Decodes the head at the start of `bytes`, a response about catalog `catalog_id` under
/// `params` in any content version (the caller compares it with the one it expects).
pub fn decode_response_head(
    params: &ParameterSet,
    catalog_id: &str,
    bytes: &[u8],
) -> Result<ResponseHead> {
    let len = response_head_len(params, catalog_id)?;
    let head = bytes
        .get(..len)
        .ok_or_else(|| Error::Malformed("the response is shorter than its head".into()))?;
    let header = peek(head)?;
    if header.catalog.id != catalog_id {
        return Err(Error::CatalogMismatch {
            expected: catalog_id.to_string(),
            found: header.catalog.id,
        });
    }
    let mut without_count = head.to_vec();
    without_count[len - 8..].fill(0);
    let response: Response = decode(
        params,
        MessageKind::Response,
        &header.catalog,
        Version::Any,
        &without_count,
        len,
    )?;
    let mut count = [0u8; 8];
    count.copy_from_slice(&head[len - 8..]);
    let blocks = usize::try_from(u64::from_le_bytes(count))
        .map_err(|_| Error::Malformed("block count out of range".into()))?;
    Ok(ResponseHead {
        catalog: header.catalog,
        response,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{decode_response, encode_response, ContentVersion};
    use super::*;
    use crate::hint::HintId;
    use crate::V1_128;

    fn response(blocks: usize, seed: u8) -> Response {
        let bytes = packed_len(V1_128.polynomial_size, 21);
        Response {
            bits: 21,
            dim: 8,
            items: (blocks * V1_128.polynomial_size) as u32,
            nonce: 77,
            hint: HintId([seed; 16]),
            blocks: (0..blocks)
                .map(|b| serde_bytes::ByteBuf::from(vec![seed.wrapping_add(b as u8); bytes]))
                .collect(),
        }
    }

    /// Two shards' responses, joined by their heads, are the response of the whole.
    #[test]
    fn shard_responses_join_into_the_whole_response() {
        let catalog = CatalogRef {
            id: "films".into(),
            version: ContentVersion([5; 32]),
        };
        let (a, mut b) = (response(2, 1), response(3, 9));
        // the last part ends in a partial block
        b.items -= 1000;
        let last = packed_len(V1_128.polynomial_size - 1000, 21);
        b.blocks[2] = serde_bytes::ByteBuf::from(vec![4; last]);
        let mut whole = response(0, 0);
        whole.blocks = a.blocks.iter().chain(&b.blocks).cloned().collect();
        whole.items = a.items + b.items;
        let head_len = response_head_len(&V1_128, "films").unwrap();
        let mut head_of_whole = whole.clone();
        head_of_whole.blocks.clear();
        let mut joined = encode_response_head(&V1_128, &catalog, &head_of_whole, 5).unwrap();
        for part in [&a, &b] {
            let bytes = encode_response(&V1_128, &catalog, part).unwrap();
            let head = decode_response_head(&V1_128, "films", &bytes).unwrap();
            assert_eq!(head.catalog, catalog);
            assert_eq!(head.blocks, part.blocks.len());
            assert_eq!(head.response.items, part.items);
            assert_eq!(head.body_len(&V1_128), Some(bytes.len() - head_len));
            joined.extend_from_slice(&bytes[head_len..]);
        }
        let decoded = decode_response(&V1_128, &catalog, whole.items as usize, &joined).unwrap();
        assert_eq!(decoded, whole);
    }

    #[test]
    fn truncated_or_foreign_heads_are_errors() {
        let catalog = CatalogRef {
            id: "films".into(),
            version: ContentVersion([5; 32]),
        };
        let bytes = encode_response(&V1_128, &catalog, &response(1, 3)).unwrap();
        let head_len = response_head_len(&V1_128, "films").unwrap();
        assert!(decode_response_head(&V1_128, "films", &bytes[..head_len - 1]).is_err());
        assert!(decode_response_head(&V1_128, "books", &bytes).is_err());
        assert!(decode_response_head(&V1_128, "films", b"not a response at all").is_err());
        // another kind of message (byte 6 is the kind)
        let mut other_kind = bytes.clone();
        other_kind[6] = 1;
        assert!(decode_response_head(&V1_128, "films", &other_kind).is_err());
        assert!(decode_response_head(&V1_128, "films", &bytes).is_ok());
    }
}
