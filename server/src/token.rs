//! Profile access tokens: 256 random bits, shown to the client once, never stored.
//!
//! The server keeps only a verifier derived from the token, and seals the stored profile under a
//! second key derived from it. Without the token the sealed bytes are noise, so a deleted
//! profile's bytes that the database leaves in free pages until they are reused cannot be
//! opened by anyone, the server included.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

use crate::store::ProfileId;

const VERIFIER_CONTEXT: &str = "veilrank 2026-11 profile token verifier";
const SEALING_CONTEXT: &str = "veilrank 2026-11 profile sealing key";
const NONCE_LEN: usize = 12;

/// A profile's access token. Zeroized on drop; `Debug` prints no secret.
pub struct AccessToken(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Why a sealed profile could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomnessError(String);

/// Fills `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), RandomnessError> {
    getrandom::fill(buf).map_err(|e| RandomnessError(e.to_string()))
}

impl AccessToken {
    /// A fresh random token.
    pub fn generate() -> Result<Self, RandomnessError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random_bytes(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// Parses the 64-hex-digit form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (b, pair) in bytes.iter_mut().zip(s.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16);
            *b = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(Self(bytes))
    }

    /// The 64-hex-digit form, for the one response that shows it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(veilrank_core::params::hex(self.0.as_ref()))
    }

    /// What the server stores to recognise the token later.
    pub fn verifier(&self) -> [u8; 32] {
        blake3::derive_key(VERIFIER_CONTEXT, self.0.as_ref())
    }

    /// Whether this token is the one `verifier` was made from, in constant time.
    pub fn matches(&self, verifier: &[u8; 32]) -> bool {
        // blake3::Hash's equality is constant-time
        blake3::Hash::from_bytes(self.verifier()) == blake3::Hash::from_bytes(*verifier)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        let key = Zeroizing::new(blake3::derive_key(SEALING_CONTEXT, self.0.as_ref()));
        ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
    }

    /// Seals `content` for profile `id`: random nonce, then ChaCha20-Poly1305 with the id as
    /// associated data (a sealed profile cannot be moved to another id).
    pub fn seal(&self, id: &ProfileId, content: &[u8]) -> Result<Vec<u8>, RandomnessError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: content,
                    aad: &id.0,
                },
            )
            .map_err(|_| RandomnessError("sealing failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Self::seal`] sealed for `id`; `None` if the token, the id or the bytes differ.
    pub fn open(&self, id: &ProfileId, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &id.0,
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_verify_and_seal() {
        let token = AccessToken::generate().unwrap();
        let back = AccessToken::parse(&token.to_hex()).unwrap();
        assert!(back.matches(&token.verifier()));
        let other = AccessToken::generate().unwrap();
        assert!(!other.matches(&token.verifier()));
        assert_ne!(token.verifier(), *token.0, "the verifier is not the token");

        let id = ProfileId([1; 16]);
        let sealed = token.seal(&id, b"ciphertext").unwrap();
        assert_eq!(back.open(&id, &sealed).unwrap(), b"ciphertext");
        assert!(other.open(&id, &sealed).is_none(), "another token");
        assert!(
            token.open(&ProfileId([2; 16]), &sealed).is_none(),
            "another id"
        );
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(token.open(&id, &tampered).is_none(), "tampered bytes");
        assert!(token.open(&id, &sealed[..5]).is_none(), "short bytes");
    }

    #[test]
    fn only_64_hex_digits_parse() {
        assert!(AccessToken::parse("").is_none());
        assert!(AccessToken::parse(&"g".repeat(64)).is_none());
        assert!(AccessToken::parse(&"a".repeat(63)).is_none());
        assert!(AccessToken::parse(&"é".repeat(32)).is_none());
        assert!(AccessToken::parse(&"aB".repeat(32)).is_some());
        assert_eq!(
            format!("{:?}", AccessToken::generate().unwrap()),
            "AccessToken(<redacted>)"
        );
    }
}
