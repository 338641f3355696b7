//! The PostgreSQL backend: one table shared by every replica.
//!
//! `veilrank_profiles(id, meta, sealed, expires, last_used)`: `meta` and `sealed` are the bytes
//! the embedded backend stores; `expires` and `last_used` are copies of the metadata's times so
//! that expiry is one statement. `last_used` is authoritative (a use is one small update, not a
//! rewrite of the metadata). Every statement that writes a profile runs in its own transaction
//! and is durable at commit (`synchronous_commit` as configured, on by default); a use is
//! recorded with `synchronous_commit = off`, as the embedded backend records it without a flush.
//! `veilrank_audit` holds the audit trail of every replica (schema version 2).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{decode_meta, encode_meta, AuditRow, ProfileId, ProfileMeta, Result, StoreError};

/// The schema version this build writes; the table `veilrank_schema` holds the database's.
const SCHEMA_VERSION: i32 = 2;

/// Taken (transaction-scoped) while migrating, so replicas starting together migrate once.
const MIGRATION_LOCK: i64 = 0x7665_696c_7261_6e6b; // "veilrank"

const MIGRATIONS: [&str; 2] = [
    "CREATE TABLE veilrank_profiles (
        id bytea PRIMARY KEY,
        meta bytea NOT NULL,
        sealed bytea NOT NULL,
        expires bigint NOT NULL,
        last_used bigint NOT NULL
    );
    CREATE INDEX veilrank_profiles_expires ON veilrank_profiles (expires);
    CREATE INDEX veilrank_profiles_last_used ON veilrank_profiles (last_used);",
    // the audit trail of every replica in one place (version 2)
    "CREATE TABLE veilrank_audit (
        seq bigserial PRIMARY KEY,
        at bigint NOT NULL,
        event text NOT NULL,
        profile text NOT NULL,
        catalog text NOT NULL,
        app text
    );
    CREATE INDEX veilrank_audit_at ON veilrank_audit (at);",
];

/// A PostgreSQL connection string (`postgres://user:password@host:port/db`), checked when
/// parsed, its password never shown.
#[derive(Clone)]
pub struct DatabaseUrl(pub(super) String);

impl DatabaseUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
            return Err("the database must be a postgres:// URL".into());
        }
        ::postgres::Config::from_str(s).map_err(|e| format!("not a usable PostgreSQL URL: {e}"))?;
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        StoreError::Database(chain(&e))
    }
}

/// An error and its causes ("error performing TLS handshake: invalid peer certificate: ...").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Database(format!("no connection to PostgreSQL: {e}"))
    }
}

type Pool = r2d2::Pool<PostgresConnectionManager<MakeRustlsConnect>>;

/// The PostgreSQL store: a pool of connections.
pub struct Postgres {
    /// Always `Some` but in [`Drop`].
    pool: Option<Pool>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The synchronous client closes a connection on a runtime of its own, which cannot run
        // inside the server's: close them on a thread of their own.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Postgres {
    /// Connects (TLS as the URL's `sslmode` says, verified against Mozilla's roots and
    /// `ca_file`), then migrates the schema under an advisory lock.
    pub fn connect(url: &DatabaseUrl, connections: u32, ca_file: Option<&Path>) -> Result<Self> {
        let config = ::postgres::Config::from_str(&url.0)
            .map_err(|e| StoreError::Database(format!("not a usable PostgreSQL URL: {e}")))?;
        let tls = super::postgres_tls::connector(ca_file)?;
        // one connection first, for an error that says why (the pool's says only that it timed
        // out); on a thread of its own, as the synchronous client runs a runtime of its own
        let probe = (config.clone(), tls.clone());
        std::thread::spawn(move || probe.0.connect(probe.1).map(drop))
            .join()
            .map_err(|_| StoreError::Database("connecting to PostgreSQL panicked".into()))?
            .map_err(|e| {
                StoreError::Database(format!("cannot connect to PostgreSQL: {}", chain(&e)))
            })?;
        let pool = r2d2::Pool::builder()
            .max_size(connections.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(PostgresConnectionManager::new(config, tls))?;
        let store = Self { pool: Some(pool) };
        store.migrate()?;
        Ok(store)
    }

    fn client(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<MakeRustlsConnect>>> {
        match &self.pool {
            Some(pool) => Ok(pool.get()?),
            None => Err(StoreError::Database("the store is closing".into())),
        }
    }

    fn migrate(&self) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        let exists: bool = tx
            .query_one("SELECT to_regclass('veilrank_schema') IS NOT NULL", &[])?
            .get(0);
        if !exists {
            tx.batch_execute("CREATE TABLE veilrank_schema (version integer NOT NULL)")?;
        }
        let found: Option<i32> = tx
            .query_opt("SELECT max(version) FROM veilrank_schema", &[])?
            .and_then(|row| row.get(0));
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "the database's schema is version {found}, newer than this server's \
                 {SCHEMA_VERSION}: upgrade the server"
            )));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.batch_execute(migration)?;
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO veilrank_schema (version) VALUES ($1)",
                &[&version],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn insert(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<()> {
        self.write(
            "INSERT INTO veilrank_profiles (id, meta, sealed, expires, last_used)
             VALUES ($1, $2, $3, $4, $5)",
            id,
            meta,
            sealed,
        )?;
        Ok(())
    }

    pub fn replace(&self, id: &ProfileId, meta: &ProfileMeta, sealed: &[u8]) -> Result<bool> {
        let changed = self.write(
            "UPDATE veilrank_profiles SET meta = $2, sealed = $3, expires = $4, last_used = $5
             WHERE id = $1",
            id,
            meta,
            sealed,
        )?;
        Ok(changed == 1)
    }

    /// `statement` with a whole profile as $1 to $5; the rows it changed.
    fn write(
        &self,
        statement: &str,
        id: &ProfileId,
        meta: &ProfileMeta,
        sealed: &[u8],
    ) -> Result<u64> {
        let encoded = encode_meta(meta)?;
        let (expires, last_used) = (int(meta.expires), int(meta.last_used));
        Ok(self.client()?.execute(
            statement,
            &[&&id.0[..], &encoded, &sealed, &expires, &last_used],
        )?)
    }

    pub fn delete(&self, id: &ProfileId) -> Result<bool> {
        let deleted = self
            .client()?
            .execute("DELETE FROM veilrank_profiles WHERE id = $1", &[&&id.0[..]])?;
        Ok(deleted == 1)
    }

    pub fn meta(&self, id: &ProfileId) -> Result<Option<ProfileMeta>> {
        let row = self.client()?.query_opt(
            "SELECT meta, last_used FROM veilrank_profiles WHERE id = $1",
            &[&&id.0[..]],
        )?;
        row.map(|row| {
            let mut meta = decode_meta(row.get::<_, &[u8]>(0))?;
            meta.last_used = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
            Ok(meta)
        })
        .transpose()
    }

    pub fn sealed(&self, id: &ProfileId) -> Result<Option<Vec<u8>>> {
        let row = self.client()?.query_opt(
            "SELECT sealed FROM veilrank_profiles WHERE id = $1",
            &[&&id.0[..]],
        )?;
        Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
    }

    pub fn touch(&self, id: &ProfileId, now: u64) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")?;
        tx.execute(
            "UPDATE veilrank_profiles SET last_used = greatest(last_used, $2) WHERE id = $1",
            &[&&id.0[..], &int(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn purge_expired(
        &self,
        now: u64,
        idle: Option<Duration>,
    ) -> Result<Vec<(ProfileId, String)>> {
        // one statement: a row is erased, and returned, by exactly one of several replicas
        let idle = idle.map(|d| int(d.as_secs()));
        let rows = self.client()?.query(
            "DELETE FROM veilrank_profiles
             WHERE expires <= $1 OR ($2::bigint IS NOT NULL AND last_used + $2 <= $1)
             RETURNING id, meta",
            &[&int(now), &idle],
        )?;
        rows.iter()
            .map(|row| {
                let id: &[u8] = row.get(0);
                let id = <[u8; 16]>::try_from(id).map_err(|_| {
                    StoreError::Corrupt(format!("a profile id of {} bytes", id.len()))
                })?;
                Ok((ProfileId(id), decode_meta(row.get::<_, &[u8]>(1))?.catalog))
            })
            .collect()
    }

    /// Appends one event to the audit trail (its own transaction, durable at commit).
    pub fn audit(&self, line: &AuditRow<'_>) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO veilrank_audit (at, event, profile, catalog, app)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &int(line.at),
                &line.event,
                &line.profile,
                &line.catalog,
                &line.app,
            ],
        )?;
        Ok(())
    }

    pub fn count(&self) -> Result<u64> {
        let row = self
            .client()?
            .query_one("SELECT count(*) FROM veilrank_profiles", &[])?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}
