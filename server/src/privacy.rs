//! The machine-readable privacy statement of `GET /v1/privacy`: what the server stores, for how
//! long, and what it learns. The README's threat model says the same in prose.

use serde::Serialize;

use crate::state::AppState;

/// The statement.
#[derive(Debug, Clone, Serialize)]
pub struct Privacy {
    /// The scheme that protects preferences.
    pub encryption: Encryption,
    /// What a query reveals to the server, and what it does not.
    pub query: QueryDisclosure,
    /// Everything the server keeps.
    pub stored: Vec<StoredItem>,
    /// How long stored profiles live.
    pub retention: RetentionPolicy,
    /// What erasing a profile means.
    pub deletion: String,
    /// What the logs hold.
    pub logs: Vec<String>,
}

/// The encryption scheme.
#[derive(Debug, Clone, Serialize)]
pub struct Encryption {
    /// Scheme and parameter set.
    pub scheme: String,
    /// Security level in bits.
    pub security_bits: u32,
    /// Where the secret key lives.
    pub secret_key: String,
}

/// What the server learns from a query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryDisclosure {
    /// What it learns.
    pub learns: Vec<String>,
    /// What it never sees.
    pub never_sees: Vec<String>,
}

/// One kind of thing the server stores.
#[derive(Debug, Clone, Serialize)]
pub struct StoredItem {
    /// What it is.
    pub what: String,
    /// In what form.
    pub form: String,
    /// Until when.
    pub kept: String,
}

/// The retention policy in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionPolicy {
    /// Longest a profile lives, in seconds.
    pub max_lifetime_secs: u64,
    /// Unused profiles expire after this many seconds; `null` when idle expiry is off.
    pub idle_expiry_secs: Option<u64>,
    /// Expired profiles are erased within this many seconds of expiring; they are refused from
    /// the moment they expire.
    pub purge_interval_secs: u64,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Privacy {
    /// The statement for this server's configuration.
    pub fn of(state: &AppState) -> Self {
        let retention = state.retention;
        Self {
            encryption: Encryption {
                scheme: format!(
                    "GLWE (RLWE) secret-key encryption, parameter set {}",
                    veilrank_core::V1_128.name
                ),
                security_bits: 128,
                secret_key: "generated and kept on the user's device; never sent to the server; \
                             each query is encrypted under a fresh secret derived from it and a \
                             random public nonce"
                    .into(),
            },
            query: QueryDisclosure {
                learns: strings(&[
                    "that a query arrived, when, from which API key (app) and network address",
                    "which catalog it is for, and its dimension (public)",
                    "the query's size, which depends only on the dimension",
                    "the query's nonce: 16 random bytes, fresh for every encryption, which link nothing",
                    "that a client downloaded a catalog's hint (public, the same for every user)",
                    "for stored profiles: the profile id, and when it is created, used, replaced and erased",
                ]),
                never_sees: strings(&[
                    "the preference vector (it arrives encrypted)",
                    "the scores (computed and returned encrypted)",
                    "the ranking, or which items were recommended (clients fetch the whole catalog's metadata, never single items)",
                    "the secret key",
                ]),
            },
            stored: vec![
                StoredItem {
                    what: "encrypted profile".into(),
                    form: "the encrypted query as uploaded, sealed (ChaCha20-Poly1305) under a key derived from the profile's access token, which the server does not keep".into(),
                    kept: "until erased by its owner or expired".into(),
                },
                StoredItem {
                    what: "profile metadata".into(),
                    form: "id, catalog id, dimension, parameter fingerprint, creation, expiry and last-use times, size, and a one-way verifier of the access token".into(),
                    kept: "with the profile".into(),
                },
                StoredItem {
                    what: "audit log".into(),
                    form: match state.audit.kept() {
                        Some(place) => format!("one record per profile event in {place}: time, event, profile id, catalog id, app name; never content or tokens"),
                        None => "events in the service log only (this server keeps profiles in memory)".into(),
                    },
                    kept: "as the operator's log retention says".into(),
                },
            ],
            retention: RetentionPolicy {
                max_lifetime_secs: retention.lifetime.as_secs(),
                idle_expiry_secs: retention.idle.map(|d| d.as_secs()),
                purge_interval_secs: retention.purge_interval.as_secs(),
            },
            deletion: "DELETE /v1/profiles/{id} removes the profile in a committed, durable \
                transaction; every later request gets 404. The database may keep the erased \
                bytes in free pages until it reuses them, but those bytes are sealed under a key \
                derived from the access token, which the server never stored, so nobody, the \
                server included, can open them."
                .into(),
            logs: strings(&[
                "request method, route, status and latency; never bodies, tokens or API keys",
                "profile lifecycle events (audit), with ids and times only",
            ]),
        }
    }
}
