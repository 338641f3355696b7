//! The audit log of profile lifecycle events: which profile, what happened, when, for which app.
//! Never content, never tokens.
//!
//! With the embedded store, one JSON object per line in `audit.jsonl` in the data directory
//! (each line written with one `write` call on a file opened for appending); with PostgreSQL,
//! one row per event in `veilrank_audit`, shared by every replica. And always the same event in
//! the service log under the target `veilrank::audit`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::store::{AuditRow, ProfileId, Store, StoreError};

/// What happened to a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Uploaded.
    Created,
    /// Scored against its catalog.
    Scored,
    /// Its content replaced by its owner.
    Replaced,
    /// Erased by its owner.
    Deleted,
    /// Erased by the retention policy.
    Expired,
}

impl Event {
    /// The event's name, as in the log.
    pub fn name(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Scored => "scored",
            Event::Replaced => "replaced",
            Event::Deleted => "deleted",
            Event::Expired => "expired",
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    event: Event,
    profile: String,
    catalog: &'a str,
    app: Option<&'a str>,
}

/// The audit log.
pub struct Audit {
    sink: Sink,
}

/// Where events go besides the service log.
enum Sink {
    File(Mutex<File>),
    Database(Arc<Store>),
    LogOnly,
}

impl Audit {
    /// Appends to `audit.jsonl` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(crate::store::AUDIT_FILE);
        let file = crate::private_files::append(&path)
            .map_err(|source| StoreError::Io { path, source })?;
        Ok(Self {
            sink: Sink::File(Mutex::new(file)),
        })
    }

    /// Rows in the database's audit table (a store in PostgreSQL).
    pub fn in_database(store: Arc<Store>) -> Self {
        Self {
            sink: Sink::Database(store),
        }
    }

    /// Events go to the service log only (an ephemeral server).
    pub fn log_only() -> Self {
        Self {
            sink: Sink::LogOnly,
        }
    }

    /// Where the trail is kept, for the privacy statement.
    pub fn kept(&self) -> Option<&'static str> {
        match self.sink {
            Sink::File(_) => Some("audit.jsonl in the data directory"),
            Sink::Database(_) => Some("the table veilrank_audit in PostgreSQL"),
            Sink::LogOnly => None,
        }
    }

    /// Records an event at `unix` seconds (blocking file I/O: call off the async executor).
    pub fn record(
        &self,
        event: Event,
        profile: &ProfileId,
        catalog: &str,
        app: Option<&str>,
        unix: u64,
    ) {
        tracing::info!(
            target: "veilrank::audit",
            event = event.name(),
            profile = %profile,
            catalog,
            app = app.unwrap_or("-"),
            "profile {}", event.name()
        );
        let file = match &self.sink {
            Sink::LogOnly => return,
            Sink::Database(store) => {
                let row = AuditRow {
                    at: unix,
                    event: event.name(),
                    profile: &profile.to_string(),
                    catalog,
                    app,
                };
                match store.audit(&row) {
                    Ok(true) => {}
                    Ok(false) => tracing::error!("the profile store keeps no audit table"),
                    Err(e) => tracing::error!(error = %e, "cannot write the audit trail"),
                }
                return;
            }
            Sink::File(file) => file,
        };
        let line = Line {
            time: humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix))
                .to_string(),
            event,
            profile: profile.to_string(),
            catalog,
            app,
        };
        let mut bytes = match serde_json::to_vec(&line) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an audit line");
                return;
            }
        };
        bytes.push(b'\n');
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&bytes) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_appended_as_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let id = ProfileId([0xab; 16]);
        {
            let audit = Audit::open(dir.path()).unwrap();
            audit.record(Event::Created, &id, "demo", Some("app1"), 0);
        }
        let audit = Audit::open(dir.path()).unwrap();
        audit.record(Event::Expired, &id, "demo", None, 86_400);
        let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "created");
        assert_eq!(lines[0]["app"], "app1");
        assert_eq!(lines[0]["time"], "1970-01-01T00:00:00Z");
        assert_eq!(lines[1]["event"], "expired");
        assert_eq!(lines[1]["profile"], "ab".repeat(16));
        assert_eq!(lines[1]["time"], "1970-01-02T00:00:00Z");
    }
}
