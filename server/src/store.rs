//! The profile store, on one of two backends with the same promises: every create, replace and
//! erase is one transaction, durable when it returns (an acknowledged write survives a crash,
//! and a crash in the middle of one leaves the previous state); an erase stays erased; nothing
//! is stored in plaintext (the content is sealed under a key derived from the profile's token,
//! the token itself only as a verifier, see [`crate::token`]).
//!
//! - embedded ([`embedded`], the default): a redb database in the data directory, one process;
//! - PostgreSQL ([`postgres`], `--database`): shared by every replica of the service.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

pub use crate::profile_record::{decode_meta, encode_meta, now_unix, ProfileId, ProfileMeta};

mod embedded;
mod postgres;
mod postgres_tls;

pub use postgres::DatabaseUrl;

/// The database file in the data directory.
pub const DATABASE_FILE: &str = "profiles.redb";
/// The audit log in the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// Why the store failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory holds something this server did not write.
    #[error("{path}: {message}; refusing to start rather than touch it (point --data-dir at a directory of veilrank's own)")]
    Foreign {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The data directory or a file in it could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("profile database: {0}")]
    Database(String),
    /// A stored record does not decode.
    #[error("profile database: a stored record is corrupt: {0}")]
    Corrupt(String),
}

impl From<crate::profile_record::DamagedRecord> for StoreError {
    fn from(e: crate::profile_record::DamagedRecord) -> Self {
        Self::Corrupt(e.0)
    }
}

/// One event of the audit trail, as a database row.
#[derive(Clone, Copy, Debug)]
pub struct AuditRow<'a> {
    /// Unix seconds.
    pub at: u64,
    /// The event's name.
    pub event: &'a str,
    /// The profile's id (hex).
    pub profile: &'a str,
    /// The catalog's id.
    pub catalog: &'a str,
    /// The app's name, where API keys name apps.
    pub app: Option<&'a str>,
}

/// `Result` of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The profile database.
pub struct Store(Backend);

enum Backend {
    Embedded(embedded::Embedded),
    Postgres(postgres::Postgres),
}

/// The same call on whichever backend the store has.
macro_rules! each {
    ($store:expr, $b:ident => $call:expr) => {
        match &$store.0 {
            Backend::Embedded($b) => $call,
            Backend::Postgres($b) => $call,
        }
    };
}

impl Store {
    /// Opens the embedded store in `dir`, creating the directory and the database if they are
    /// missing. A database file that is not redb, a redb database without veilrank's format
    /// marker, or files veilrank does not write are a clear error: the store is never reset
    /// silently.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self(Backend::Embedded(embedded::Embedded::open(dir)?)))
    }

    /// An embedded store in memory: nothing touches the disk, everything is gone when it is
    /// dropped.
    pub fn in_memory() -> Result<Self> {
        Ok(Self(Backend::Embedded(embedded::Embedded::in_memory()?)))
    }

    /// Connects to PostgreSQL (a pool of at most `connections`; TLS as the URL's `sslmode`
    /// says, the server verified against Mozilla's roots and the PEM certificates in `ca_file`)
    /// and brings its schema to this version, whichever replica gets there first.
    pub fn connect(url: &DatabaseUrl, connections: u32, ca_file: Option<&Path>) -> Result<Self> {
        Ok(Self(Backend::Postgres(postgres::Postgres::connect(
            url,
            connections,
            ca_file,
        )?)))
    }

    /// Whether profiles outlive the process: on disk or in PostgreSQL, not in memory.
    pub fn persistent(&self) -> bool {
        match &self.0 {
            Backend::Embedded(e) => e.dir().is_some(),
            Backend::Postgres(_) => true,
        }
    }

    /// Stores a new profile; durable when it returns.
    pub fn insert(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<()> {
        each!(self, b => b.insert(id, meta, sealed))
    }

    /// Replaces a profile's metadata and content; `false` (and no change) if it does not exist.
    /// Durable when it returns.
    pub fn replace(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<bool> {
        each!(self, b => b.replace(id, meta, sealed))
    }

    /// Erases a profile; `false` if it did not exist. Durable when it returns.
    pub fn delete(&self, id: &ProfileId) -> Result<bool> {
        each!(self, b => b.delete(id))
    }

    /// A profile's metadata.
    pub fn meta(&self, id: &ProfileId) -> Result<Option<ProfileMeta>> {
        each!(self, b => b.meta(id))
    }

    /// A profile's sealed content (read once its token has been checked on [`Self::meta`]);
    /// `None` when it was erased meanwhile.
    pub fn sealed(&self, id: &ProfileId) -> Result<Option<Vec<u8>>> {
        each!(self, b => b.sealed(id))
    }

    /// Records a use of a profile (for idle expiry), without waiting for the disk.
    pub fn touch(&self, id: &ProfileId, now: u64) -> Result<()> {
        each!(self, b => b.touch(id, now))
    }

    /// Erases every profile expired at `now` and returns their ids and catalogs. Several
    /// replicas purging at once each return only what they erased.
    pub fn purge_expired(
        &self,
        now: u64,
        idle: Option<Duration>,
    ) -> Result<Vec<(ProfileId, String)>> {
        each!(self, b => b.purge_expired(now, idle))
    }

    /// Appends an event to the database's audit trail; `false` where the backend keeps none
    /// (the embedded one: its audit log is a file beside it).
    pub fn audit(&self, line: &AuditRow<'_>) -> Result<bool> {
        match &self.0 {
            Backend::Embedded(_) => Ok(false),
            Backend::Postgres(p) => p.audit(line).map(|()| true),
        }
    }

    /// How many profiles are stored.
    pub fn count(&self) -> Result<u64> {
        each!(self, b => b.count())
    }
}

#[cfg(test)]
mod tests;
