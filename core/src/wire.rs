//! The versioned envelope around every message, encoded with bincode under a byte limit.
//!
//! Layout (bincode, fixed-width integers, little endian): magic `VRNK`, format version (u16),
//! message kind (u8), parameter fingerprint (32 bytes), catalog id (string), catalog content
//! version (32 bytes), then the payload. The magic and version are checked on the raw bytes before
//! anything is decoded, so a message from a future version gets a clear error, not a decode error.

mod head;
mod hint;

pub use head::{decode_response_head, encode_response_head, response_head_len, ResponseHead};
pub use hint::{decode_hint, encode_hint, encode_rounded_hint};

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bitpack::packed_len;
use crate::params::{hex, ParameterSet};
use crate::query::Query;
use crate::response::{Response, MAX_RESPONSE_BITS};
use crate::{Error, Result};

/// First bytes of every message.
pub const MAGIC: [u8; 4] = *b"VRNK";
/// The format version this build speaks. Version 2: public masks, a secret per query, the hint.
pub const FORMAT_VERSION: u16 = 2;
/// Longest catalog id, in bytes.
pub const MAX_CATALOG_ID_LEN: usize = 128;
/// Bytes of the envelope around a payload, at most.
const ENVELOPE_OVERHEAD: usize = 4 + 2 + 1 + 32 + 8 + MAX_CATALOG_ID_LEN + 32;

/// The hash of a catalog's content: ids, titles, quantized vectors and scale.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentVersion(pub [u8; 32]);

impl ContentVersion {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses the hex form of [`Self::to_hex`].
    pub fn from_hex(s: &str) -> Result<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(Error::Malformed(format!(
                "content version {s:?} is not 64 hex digits"
            )));
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let digits = std::str::from_utf8(pair).map_err(|e| Error::Malformed(e.to_string()))?;
            *o = u8::from_str_radix(digits, 16)
                .map_err(|_| Error::Malformed(format!("content version {s:?} is not hex")))?;
        }
        Ok(Self(out))
    }
}

impl std::fmt::Debug for ContentVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentVersion({})", self.to_hex())
    }
}

/// Which catalog, in which content version, a message is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogRef {
    /// The catalog's id.
    pub id: String,
    /// The catalog's content version.
    pub version: ContentVersion,
}

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageKind {
    /// An encrypted query, client to server.
    Query = 1,
    /// Encrypted scores, server to client.
    Response = 2,
    /// A catalog's hint, server to client.
    Hint = 3,
    /// A catalog's hint rounded to fewer bits, server to client ([`crate::hint`]).
    RoundedHint = 4,
}

impl MessageKind {
    fn name(self) -> &'static str {
        match self {
            MessageKind::Query => "query",
            MessageKind::Response => "response",
            MessageKind::Hint => "hint",
            MessageKind::RoundedHint => "rounded hint",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    magic: [u8; 4],
    version: u16,
    kind: u8,
    fingerprint: [u8; 32],
    catalog_id: String,
    content_version: ContentVersion,
    payload: T,
}

fn options(limit: usize) -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(limit as u64)
}

/// Largest encoded query for dimension `dim`: the server's request body limit.
pub fn query_size_limit(params: &ParameterSet, dim: usize) -> usize {
    ENVELOPE_OVERHEAD
        + 4
        + 16
        + 8
        + packed_len(dim * params.polynomial_size, params.upload_body_bits)
}

/// Largest encoded response for a catalog of `items` items (at the precision of `params`: a
/// row per limb of each item).
pub fn response_size_limit(params: &ParameterSet, items: usize) -> usize {
    let items = params.precision.rows(items);
    let n = params.polynomial_size;
    let blocks = items.div_ceil(n);
    ENVELOPE_OVERHEAD
        + 1
        + 4
        + 4
        + 16
        + 16
        + 8
        + blocks * 8
        + packed_len(items, MAX_RESPONSE_BITS)
        + blocks
}

/// Largest encoded hint, exact or rounded, for a catalog of `items` items (8 bytes per value at
/// most, a row per limb of each item).
pub fn hint_size_limit(params: &ParameterSet, items: usize) -> usize {
    let items = params.precision.rows(items);
    let n = params.polynomial_size;
    ENVELOPE_OVERHEAD + 8 + 4 + 4 + 1 + 16 + 8 + items.div_ceil(n) * n * 8
}

fn encode<T: Serialize>(
    params: &ParameterSet,
    kind: MessageKind,
    catalog: &CatalogRef,
    payload: &T,
) -> Result<Vec<u8>> {
    if catalog.id.len() > MAX_CATALOG_ID_LEN {
        return Err(Error::Malformed(format!(
            "catalog id is {} bytes, at most {MAX_CATALOG_ID_LEN}",
            catalog.id.len()
        )));
    }
    let envelope = Envelope {
        magic: MAGIC,
        version: FORMAT_VERSION,
        kind: kind as u8,
        fingerprint: params.fingerprint().0,
        catalog_id: catalog.id.clone(),
        content_version: catalog.version,
        payload,
    };
    options(usize::MAX)
        .serialize(&envelope)
        .map_err(|e| Error::Malformed(e.to_string()))
}

/// The header of a message, read without its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The message kind's byte.
    pub kind: u8,
    /// The parameter fingerprint.
    pub fingerprint: [u8; 32],
    /// The catalog the message is about.
    pub catalog: CatalogRef,
}

/// Reads the header of a message (magic, version, kind, fingerprint, catalog) and nothing more:
/// which catalog a stored profile is for, which catalog version a response was scored on.
pub fn peek(bytes: &[u8]) -> Result<Header> {
    check_prefix(bytes)?;
    let limit = ENVELOPE_OVERHEAD;
    let envelope: Envelope<()> = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .allow_trailing_bytes()
        .with_limit(limit as u64)
        .deserialize(bytes)
        .map_err(|e| bincode_error(*e, bytes.len(), limit))?;
    Ok(Header {
        kind: envelope.kind,
        fingerprint: envelope.fingerprint,
        catalog: CatalogRef {
            id: envelope.catalog_id,
            version: envelope.content_version,
        },
    })
}

fn check_prefix(bytes: &[u8]) -> Result<()> {
    if bytes.len() < 6 || bytes[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

fn bincode_error(e: bincode::ErrorKind, found: usize, limit: usize) -> Error {
    match e {
        bincode::ErrorKind::Io(_) => Error::Malformed("message is truncated".into()),
        bincode::ErrorKind::SizeLimit => Error::TooLarge { found, limit },
        other => Error::Malformed(other.to_string()),
    }
}

/// Whether a decoder insists on the catalog's content version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Exact,
    Any,
}

fn decode<T: DeserializeOwned>(
    params: &ParameterSet,
    kind: MessageKind,
    catalog: &CatalogRef,
    version_check: Version,
    bytes: &[u8],
    limit: usize,
) -> Result<T> {
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            found: bytes.len(),
            limit,
        });
    }
    check_prefix(bytes)?;
    let envelope: Envelope<T> = options(limit)
        .deserialize(bytes)
        .map_err(|e| bincode_error(*e, bytes.len(), limit))?;
    if envelope.kind != kind as u8 {
        return Err(Error::WrongKind {
            expected: kind.name(),
            found: format!("kind {}", envelope.kind),
        });
    }
    let expected = params.fingerprint();
    if envelope.fingerprint != expected.0 {
        return Err(Error::FingerprintMismatch {
            expected: expected.to_hex(),
            found: hex(&envelope.fingerprint),
        });
    }
    if envelope.catalog_id != catalog.id {
        return Err(Error::CatalogMismatch {
            expected: catalog.id.clone(),
            found: envelope.catalog_id,
        });
    }
    if version_check == Version::Exact && envelope.content_version != catalog.version {
        return Err(Error::StaleCatalog {
            expected: catalog.version.to_hex(),
            found: envelope.content_version.to_hex(),
        });
    }
    Ok(envelope.payload)
}

/// Encodes a query for `catalog`.
pub fn encode_query(params: &ParameterSet, catalog: &CatalogRef, query: &Query) -> Result<Vec<u8>> {
    encode(params, MessageKind::Query, catalog, query)
}

/// Decodes a query for a catalog of dimension `dim`, checking the parameter fingerprint, the
/// catalog id and the shape.
///
/// The catalog's content version is not checked: a query's ciphertext does not depend on the
/// items, so a query encrypted before a catalog update scores the new version as well (and a
/// stored profile keeps working across updates). The response names the version it was scored
/// on, which is what the client checks.
pub fn decode_query(
    params: &ParameterSet,
    catalog: &CatalogRef,
    dim: usize,
    bytes: &[u8],
) -> Result<Query> {
    let query: Query = decode(
        params,
        MessageKind::Query,
        catalog,
        Version::Any,
        bytes,
        query_size_limit(params, dim),
    )?;
    query.validate(params, dim)?;
    Ok(query)
}

/// Encodes a response.
pub fn encode_response(
    params: &ParameterSet,
    catalog: &CatalogRef,
    response: &Response,
) -> Result<Vec<u8>> {
    encode(params, MessageKind::Response, catalog, response)
}

/// [`encode_response`] without copying the blocks: the message as consecutive parts, each
/// block's bytes followed by the length prefix of the next. A response is megabytes; a server
/// that writes the parts one after another (vectored) saves a copy of it and the page faults
/// of a fresh buffer, per query. Blocks allocated with 8 bytes of spare capacity take the next
/// prefix without moving.
pub fn encode_response_parts(
    params: &ParameterSet,
    catalog: &CatalogRef,
    mut response: Response,
) -> Result<Vec<Vec<u8>>> {
    let blocks = std::mem::take(&mut response.blocks);
    // with no blocks, the message ends in the blocks' count: a u64 (fixed-width, little-endian)
    let mut head = encode(params, MessageKind::Response, catalog, &response)?;
    let count_at = head.len().saturating_sub(8);
    if head[count_at..] != [0u8; 8] {
        return Err(Error::Malformed(
            "response encoding does not end in its blocks' count".into(),
        ));
    }
    head.truncate(count_at);
    head.extend_from_slice(&(blocks.len() as u64).to_le_bytes());
    let mut parts = Vec::with_capacity(blocks.len() + 1);
    parts.push(head);
    for block in blocks {
        let block = block.into_vec();
        if let Some(last) = parts.last_mut() {
            last.extend_from_slice(&(block.len() as u64).to_le_bytes());
        }
        parts.push(block);
    }
    Ok(parts)
}

/// Decodes a response from a catalog of `items` items.
pub fn decode_response(
    params: &ParameterSet,
    catalog: &CatalogRef,
    items: usize,
    bytes: &[u8],
) -> Result<Response> {
    decode(
        params,
        MessageKind::Response,
        catalog,
        Version::Exact,
        bytes,
        response_size_limit(params, items),
    )
}
