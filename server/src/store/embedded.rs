//! The embedded backend: a redb database in the data directory.
//!
//! Two tables keyed by profile id: `meta` (small: token verifier, catalog, times, size) and
//! `sealed` (the encrypted query as the client sent it, sealed under a key derived from the
//! profile's token, see [`crate::token`]). Every create, replace and delete is one transaction,
//! durable when it returns. Recording when a profile was last used (idle expiry only) is written
//! without a flush: a crash may lose a few of those, never a profile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use super::{decode_meta, encode_meta, ProfileId, ProfileMeta, Result, StoreError};
use super::{AUDIT_FILE, DATABASE_FILE};

const META: TableDefinition<'_, [u8; 16], &[u8]> = TableDefinition::new("meta");
const SEALED: TableDefinition<'_, [u8; 16], &[u8]> = TableDefinition::new("sealed");
const FORMAT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("veilrank_format");
const FORMAT_KEY: &str = "format";
const FORMAT_VALUE: &[u8] = b"veilrank-profiles-v1";

macro_rules! database_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(e.to_string())
            }
        }
    )*};
}
database_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The embedded profile database (redb).
pub struct Embedded {
    db: Database,
    /// Where it lives; `None` in memory.
    dir: Option<PathBuf>,
}

impl Embedded {
    /// Opens the store in `dir`, creating the directory and the database if they are missing.
    ///
    /// A database file that is not redb, a redb database without veilrank's format marker, or
    /// files veilrank does not write are a clear error: the store is never reset silently.
    pub fn open(dir: &Path) -> Result<Self> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        crate::private_files::create_dir(dir).map_err(io(dir))?;
        let mut foreign = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != DATABASE_FILE && name != AUDIT_FILE {
                foreign.push(name);
            }
        }
        if !foreign.is_empty() {
            foreign.sort();
            return Err(StoreError::Foreign {
                path: dir.to_path_buf(),
                message: format!(
                    "the data directory holds files veilrank does not write: {}",
                    foreign.join(", ")
                ),
            });
        }
        let path = dir.join(DATABASE_FILE);
        let existed = path.exists();
        // created 0600 before redb creates it with the umask's mode; an old one made 0600
        crate::private_files::prepare(&path).map_err(io(&path))?;
        let db = if existed {
            Database::open(&path).map_err(|e| StoreError::Foreign {
                path: path.clone(),
                message: format!("not a usable profile database ({e})"),
            })?
        } else {
            Database::create(&path).map_err(|e| StoreError::Database(e.to_string()))?
        };
        let store = Self {
            db,
            dir: Some(dir.to_path_buf()),
        };
        store.check_format(existed, &path)?;
        Ok(store)
    }

    /// A store in memory: nothing touches the disk, everything is gone when it is dropped.
    pub fn in_memory() -> Result<Self> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let store = Self { db, dir: None };
        store.check_format(false, Path::new("(memory)"))?;
        Ok(store)
    }

    /// The data directory; `None` in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn check_format(&self, existed: bool, path: &Path) -> Result<()> {
        let read = self.db.begin_read()?;
        let marker = match read.open_table(FORMAT) {
            Ok(table) => table.get(FORMAT_KEY)?.map(|v| v.value().to_vec()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        drop(read);
        match marker {
            Some(marker) if marker == FORMAT_VALUE => Ok(()),
            Some(marker) => Err(StoreError::Foreign {
                path: path.to_path_buf(),
                message: format!(
                    "a profile database of another format ({:?})",
                    String::from_utf8_lossy(&marker)
                ),
            }),
            None if existed => Err(StoreError::Foreign {
                path: path.to_path_buf(),
                message: "a redb database that veilrank did not create".into(),
            }),
            None => {
                let write = self.db.begin_write()?;
                {
                    write.open_table(FORMAT)?.insert(FORMAT_KEY, FORMAT_VALUE)?;
                    write.open_table(META)?;
                    write.open_table(SEALED)?;
                }
                write.commit()?;
                Ok(())
            }
        }
    }

    /// Stores a new profile; durable when it returns.
    pub fn insert(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<()> {
        let meta = encode_meta(meta)?;
        let write = self.db.begin_write()?;
        {
            write.open_table(META)?.insert(id.0, meta.as_slice())?;
            write.open_table(SEALED)?.insert(id.0, sealed)?;
        }
        write.commit()?;
        Ok(())
    }

    /// Replaces a profile's metadata and content; `false` (and no change) if it does not exist.
    /// Durable when it returns.
    pub fn replace(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<bool> {
        let encoded = encode_meta(meta)?;
        let write = self.db.begin_write()?;
        let existed = {
            let mut metas = write.open_table(META)?;
            let existed = metas.get(id.0)?.is_some();
            if existed {
                metas.insert(id.0, encoded.as_slice())?;
                write.open_table(SEALED)?.insert(id.0, sealed)?;
            }
            existed
        };
        if existed {
            write.commit()?;
        } else {
            write.abort()?;
        }
        Ok(existed)
    }

    /// Erases a profile; `false` if it did not exist. Durable when it returns.
    pub fn delete(&self, id: &ProfileId) -> Result<bool> {
        let write = self.db.begin_write()?;
        let existed = {
            let existed = write.open_table(META)?.remove(id.0)?.is_some();
            write.open_table(SEALED)?.remove(id.0)?;
            existed
        };
        write.commit()?;
        Ok(existed)
    }

    /// A profile's metadata.
    pub fn meta(&self, id: &ProfileId) -> Result<Option<ProfileMeta>> {
        let read = self.db.begin_read()?;
        let table = read.open_table(META)?;
        let value = table.get(id.0)?;
        Ok(value.map(|v| decode_meta(v.value())).transpose()?)
    }

    /// A profile's sealed content (read once its token has been checked on [`Self::meta`]);
    /// `None` when it was erased meanwhile.
    pub fn sealed(&self, id: &ProfileId) -> Result<Option<Vec<u8>>> {
        let read = self.db.begin_read()?;
        let sealed = read
            .open_table(SEALED)?
            .get(id.0)?
            .map(|v| v.value().to_vec());
        Ok(sealed)
    }

    /// Records a use of a profile (for idle expiry), without waiting for the disk.
    pub fn touch(&self, id: &ProfileId, now: u64) -> Result<()> {
        let mut write = self.db.begin_write()?;
        write.set_durability(Durability::None)?;
        {
            let mut table = write.open_table(META)?;
            let current = table
                .get(id.0)?
                .map(|v| decode_meta(v.value()))
                .transpose()?;
            if let Some(mut meta) = current {
                meta.last_used = now;
                table.insert(id.0, encode_meta(&meta)?.as_slice())?;
            }
        }
        write.commit()?;
        Ok(())
    }

    /// Erases every profile expired at `now`, in one transaction, and returns their ids and
    /// catalogs.
    pub fn purge_expired(
        &self,
        now: u64,
        idle: Option<Duration>,
    ) -> Result<Vec<(ProfileId, String)>> {
        let mut expired = Vec::new();
        {
            let read = self.db.begin_read()?;
            for entry in read.open_table(META)?.iter()? {
                let (id, meta) = entry?;
                let meta = decode_meta(meta.value())?;
                if meta.expires_at(idle) <= now {
                    expired.push((ProfileId(id.value()), meta.catalog));
                }
            }
        }
        if expired.is_empty() {
            return Ok(expired);
        }
        let write = self.db.begin_write()?;
        {
            let mut metas = write.open_table(META)?;
            let mut sealed = write.open_table(SEALED)?;
            for (id, _) in &expired {
                metas.remove(id.0)?;
                sealed.remove(id.0)?;
            }
        }
        write.commit()?;
        Ok(expired)
    }

    /// How many profiles are stored.
    pub fn count(&self) -> Result<u64> {
        let read = self.db.begin_read()?;
        Ok(read.open_table(META)?.len()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::meta;

    #[test]
    fn writes_survive_reopening_and_deletes_stay_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (ProfileId([1; 16]), ProfileId([2; 16]));
        {
            let store = Embedded::open(dir.path()).unwrap();
            assert_eq!(store.dir(), Some(dir.path()));
            store.insert(&a, &meta(10), b"sealed-a").unwrap();
            store.insert(&b, &meta(10), b"sealed-b").unwrap();
            assert!(store.replace(&a, &meta(20), b"sealed-a2").unwrap());
            assert!(store.delete(&b).unwrap());
            assert!(!store.delete(&b).unwrap());
            assert!(!store.replace(&b, &meta(20), b"x").unwrap());
        }
        let store = Embedded::open(dir.path()).unwrap();
        assert_eq!(store.meta(&a).unwrap(), Some(meta(20)));
        assert_eq!(store.sealed(&a).unwrap(), Some(b"sealed-a2".to_vec()));
        assert_eq!(store.meta(&b).unwrap(), None);
        assert_eq!(store.sealed(&b).unwrap(), None);
        assert_eq!(store.count().unwrap(), 1);
    }

    #[test]
    fn foreign_and_corrupt_data_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let e = Embedded::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("notes.txt"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DATABASE_FILE), vec![7u8; 10_000]).unwrap();
        let e = Embedded::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not a usable profile database"), "{e}");
        assert_eq!(
            std::fs::read(dir.path().join(DATABASE_FILE)).unwrap(),
            vec![7u8; 10_000],
            "a corrupt file is left as it was"
        );

        // a redb database of somebody else's
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join(DATABASE_FILE)).unwrap();
            let write = db.begin_write().unwrap();
            {
                let table: TableDefinition<'_, u64, u64> = TableDefinition::new("theirs");
                write.open_table(table).unwrap().insert(1, 2).unwrap();
            }
            write.commit().unwrap();
        }
        let e = Embedded::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("did not create"), "{e}");
    }
}
