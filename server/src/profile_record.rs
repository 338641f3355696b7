//! What a stored profile's record is: its id, and the metadata kept beside its sealed content,
//! with their encoding (bincode, under a size limit: a damaged or foreign database must cost an
//! error, not the server).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bincode::Options;
use serde::{Deserialize, Serialize};

/// Largest encoded metadata record.
const META_LIMIT: u64 = 1024;

/// A stored record that does not decode (or metadata too large to store).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DamagedRecord(pub String);

/// A profile's id: 128 random bits, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileId(pub [u8; 16]);

impl ProfileId {
    /// A fresh random id.
    pub fn generate() -> Result<Self, crate::token::RandomnessError> {
        let mut id = [0u8; 16];
        crate::token::random_bytes(&mut id)?;
        Ok(Self(id))
    }

    /// Parses 32 hex digits; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return None;
        }
        let mut id = [0u8; 16];
        for (b, pair) in id.iter_mut().zip(s.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16);
            *b = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(Self(id))
    }
}

impl std::fmt::Display for ProfileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&veilrank_core::params::hex(&self.0))
    }
}

impl std::fmt::Debug for ProfileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProfileId({self})")
    }
}

/// What the server knows about a stored profile besides its sealed content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileMeta {
    /// Derived from the access token; recognises it, cannot be turned back into it.
    pub verifier: [u8; 32],
    /// The catalog the profile scores against.
    pub catalog: String,
    /// The dimension of its vector.
    pub dim: u32,
    /// The parameter set it was encrypted under.
    pub fingerprint: [u8; 32],
    /// Unix seconds of the upload (or the last replacement).
    pub created: u64,
    /// Unix seconds after which it is gone, whatever its use.
    pub expires: u64,
    /// Unix seconds of its last use.
    pub last_used: u64,
    /// Bytes of the encrypted query.
    pub size: u64,
}

impl ProfileMeta {
    /// When the profile expires, counting idle expiry if it is on.
    pub fn expires_at(&self, idle: Option<Duration>) -> u64 {
        match idle {
            Some(idle) => self
                .expires
                .min(self.last_used.saturating_add(idle.as_secs())),
            None => self.expires,
        }
    }
}

fn meta_options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(META_LIMIT)
}

/// A record's metadata as stored.
pub fn encode_meta(meta: &ProfileMeta) -> Result<Vec<u8>, DamagedRecord> {
    meta_options()
        .serialize(meta)
        .map_err(|e| DamagedRecord(e.to_string()))
}

/// A stored record's metadata, decoded under the record's size limit (a damaged or foreign
/// database must cost an error, not the server).
pub fn decode_meta(bytes: &[u8]) -> Result<ProfileMeta, DamagedRecord> {
    meta_options()
        .deserialize(bytes)
        .map_err(|e| DamagedRecord(e.to_string()))
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
