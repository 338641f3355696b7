//! The one error type of `veilrank-core`.

use thiserror::Error;

/// Everything that can go wrong in the scheme or the wire protocol.
///
/// Every variant says what was expected and what was found, so that a server can hand the message
/// to its caller as is: none of them carries secret material.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A vector's dimension is outside what the parameter set supports.
    #[error("dimension {found} is not supported: it must be between 1 and {max}")]
    UnsupportedDimension {
        /// The dimension given.
        found: usize,
        /// The largest supported dimension.
        max: usize,
    },
    /// Two things that must have the same dimension do not.
    #[error("dimension mismatch: expected {expected}, found {found}")]
    DimensionMismatch {
        /// The dimension the receiver works with.
        expected: usize,
        /// The dimension that arrived.
        found: usize,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("value at position {index} is not a finite number")]
    NonFinite {
        /// Position of the offending value in its vector.
        index: usize,
    },
    /// A catalog with no items cannot be prepared.
    #[error("the catalog has no items")]
    EmptyCatalog,
    /// The catalog has more items than the wire format can address.
    #[error("the catalog has {found} items; at most {max} are supported")]
    CatalogTooLarge {
        /// Items in the catalog.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes do not start with the veilrank magic.
    #[error("not a veilrank message: the magic bytes are wrong")]
    BadMagic,
    /// A message of a format version this build does not speak.
    #[error("unsupported format version {found}: this build speaks version {supported}")]
    UnsupportedVersion {
        /// The version in the message.
        found: u16,
        /// The version this build speaks.
        supported: u16,
    },
    /// A message of another kind than the one expected (a response where a query was due).
    #[error("wrong message kind: expected {expected}, found {found}")]
    WrongKind {
        /// The kind expected.
        expected: &'static str,
        /// The kind found.
        found: String,
    },
    /// The two sides use different parameter sets.
    #[error("parameter fingerprint mismatch: expected {expected}, found {found}")]
    FingerprintMismatch {
        /// Hex fingerprint of the receiver's parameter set.
        expected: String,
        /// Hex fingerprint in the message.
        found: String,
    },
    /// The message was made for another catalog.
    #[error("catalog mismatch: this is catalog {expected:?}, the message is for {found:?}")]
    CatalogMismatch {
        /// The receiver's catalog id.
        expected: String,
        /// The catalog id in the message.
        found: String,
    },
    /// The message was made for another content version of the catalog.
    #[error("stale catalog version: current is {expected}, the message is for {found}")]
    StaleCatalog {
        /// The current content version (hex).
        expected: String,
        /// The content version in the message (hex).
        found: String,
    },
    /// Bytes that could not be decoded.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A message larger than the limit for its kind.
    #[error("message too large: {found} bytes, the limit is {limit}")]
    TooLarge {
        /// Size of the message.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A response that needs another hint than the one given (the catalog changed in between).
    #[error("the response needs hint {expected}, the hint given is {found}: fetch the catalog's hint again")]
    HintMismatch {
        /// The hint the response names.
        expected: String,
        /// The hint given.
        found: String,
    },
    /// A stored secret key that cannot be read back.
    #[error("invalid secret key file: {0}")]
    InvalidKey(String),
    /// The operating system could not provide randomness.
    #[error("the operating system's random source failed: {0}")]
    Randomness(String),
    /// No server prime meets the failure-probability target for this catalog.
    #[error(
        "no parameter choice meets the 2^-64 failure target for this catalog (dimension {dim}, \
         precision {precision}): fewer query bits, or fewer catalog bits, would fit"
    )]
    NoiseBudget {
        /// The catalog's dimension.
        dim: usize,
        /// The catalog's precision.
        precision: crate::precision::Precision,
    },
    /// A precision outside what this parameter set carries (see [`crate::precision`]).
    #[error("unsupported precision: {0}")]
    UnsupportedPrecision(String),
    /// A query value outside the catalog's query bound.
    #[error("query value at position {index} is {value}, outside the precision's bound {bound}")]
    ValueOutOfRange {
        /// Position in the vector.
        index: usize,
        /// The value.
        value: i32,
        /// The largest absolute value allowed.
        bound: i32,
    },
    /// A server was asked to score with a kernel it cannot use here (its operator's choice).
    #[error("the {kernel} scoring kernel cannot score this catalog here: {reason}")]
    KernelUnavailable {
        /// The kernel's name.
        kernel: &'static str,
        /// Why not.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
