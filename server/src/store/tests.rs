//! The same promises on every backend: PostgreSQL too where `VEILRANK_TEST_DATABASE` names one
//! (`.ci/run` starts one); where it does not, the tests say so.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A profile's metadata, created at `created`, expiring 100 s later.
pub(super) fn meta(created: u64) -> ProfileMeta {
    ProfileMeta {
        verifier: [3; 32],
        catalog: "demo".into(),
        dim: 4,
        fingerprint: [4; 32],
        created,
        expires: created + 100,
        last_used: created,
        size: 9,
    }
}

/// A PostgreSQL URL whose connections see only a schema of their own (so that tests running at
/// once do not count each other's profiles), made empty now; `None` when no database is set.
fn postgres_schema(test: &str) -> Option<DatabaseUrl> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(base) = std::env::var("VEILRANK_TEST_DATABASE") else {
        // written to stderr itself, not captured like eprintln!: a reader of the output sees it
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED store test {test} on PostgreSQL: VEILRANK_TEST_DATABASE is not set \
             (.ci/run starts a PostgreSQL and sets it)"
        );
        return None;
    };
    let schema = format!(
        "t_{}_{}_{}",
        test,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = ::postgres::Client::connect(&base, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(
        DatabaseUrl::parse(&format!(
            "{base}{separator}options=-csearch_path%3D{schema}"
        ))
        .unwrap(),
    )
}

/// The test database's CA (`.ci/postgres` serves TLS under a throwaway CA): with it, every test
/// here connects over verified TLS.
fn ca() -> Option<std::path::PathBuf> {
    std::env::var_os("VEILRANK_TEST_DATABASE_CA").map(Into::into)
}

/// Every backend this machine can test: embedded in memory, and PostgreSQL where set.
fn backends(test: &str) -> Vec<(&'static str, Store)> {
    let mut all = vec![("embedded", Store::in_memory().unwrap())];
    if let Some(url) = postgres_schema(test) {
        all.push((
            "postgres",
            Store::connect(&url, 4, ca().as_deref()).unwrap(),
        ));
    }
    all
}

#[test]
fn every_verb_keeps_its_promise() {
    for (name, store) in backends("verbs") {
        // what the privacy statement says of the audit log follows from this
        assert_eq!(store.persistent(), name == "postgres", "{name}");
        let (a, b) = (ProfileId([1; 16]), ProfileId([2; 16]));
        store.insert(&a, &meta(10), b"sealed-a").unwrap();
        store.insert(&b, &meta(10), b"sealed-b").unwrap();
        assert!(
            store.replace(&a, &meta(20), b"sealed-a2").unwrap(),
            "{name}"
        );
        assert!(store.delete(&b).unwrap(), "{name}");
        assert!(!store.delete(&b).unwrap(), "{name}");
        assert!(!store.replace(&b, &meta(20), b"x").unwrap(), "{name}");
        assert_eq!(store.meta(&a).unwrap(), Some(meta(20)), "{name}");
        assert_eq!(
            store.sealed(&a).unwrap(),
            Some(b"sealed-a2".to_vec()),
            "{name}"
        );
        assert_eq!(store.meta(&b).unwrap(), None, "{name}");
        assert_eq!(store.sealed(&b).unwrap(), None, "{name}");
        assert_eq!(store.count().unwrap(), 1, "{name}");
    }
}

#[test]
fn expired_profiles_are_purged_and_idle_expiry_counts_use() {
    for (name, store) in backends("expiry") {
        let (a, b) = (ProfileId([1; 16]), ProfileId([2; 16]));
        store.insert(&a, &meta(0), b"a").unwrap();
        store.insert(&b, &meta(50), b"b").unwrap();
        assert!(store.purge_expired(99, None).unwrap().is_empty(), "{name}");
        assert_eq!(
            store.purge_expired(100, None).unwrap(),
            vec![(a, "demo".to_string())],
            "{name}"
        );
        // idle 10 s: b was last used at 50, then touched at 70
        store.touch(&b, 70).unwrap();
        assert_eq!(store.meta(&b).unwrap().unwrap().last_used, 70, "{name}");
        let idle = Some(Duration::from_secs(10));
        assert!(store.purge_expired(79, idle).unwrap().is_empty(), "{name}");
        assert_eq!(store.purge_expired(80, idle).unwrap().len(), 1, "{name}");
        assert_eq!(store.count().unwrap(), 0, "{name}");
    }
}

#[test]
fn postgres_is_shared_by_replicas_that_purge_at_once() {
    let Some(url) = postgres_schema("replicas") else {
        return;
    };
    let first = Store::connect(&url, 4, ca().as_deref()).unwrap();
    // a second replica, migrating the same schema again: nothing to do, nothing lost
    let second = Store::connect(&url, 4, ca().as_deref()).unwrap();
    let ids: Vec<ProfileId> = (0..300u16)
        .map(|i| {
            let mut id = [0u8; 16];
            id[..2].copy_from_slice(&i.to_le_bytes());
            ProfileId(id)
        })
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let replica = if i % 2 == 0 { &first } else { &second };
        replica.insert(id, &meta(0), b"sealed").unwrap();
    }
    // what one replica wrote, the other reads
    assert_eq!(second.sealed(&ids[0]).unwrap(), Some(b"sealed".to_vec()));
    assert!(first.delete(&ids[1]).unwrap());
    assert_eq!(second.meta(&ids[1]).unwrap(), None);
    // both purge at once, several times over: each profile is erased and reported once
    let purged: Vec<Vec<(ProfileId, String)>> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|k| {
                let replica = if k % 2 == 0 { &first } else { &second };
                s.spawn(move || replica.purge_expired(1_000, None).unwrap())
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut all: Vec<ProfileId> = purged.into_iter().flatten().map(|(id, _)| id).collect();
    all.sort_by_key(|id| id.0);
    let mut expected = ids.clone();
    expected.remove(1);
    expected.sort_by_key(|id| id.0);
    assert_eq!(all.len(), expected.len());
    assert!(
        all == expected,
        "some profiles were purged twice or not at all"
    );
    assert_eq!(first.count().unwrap(), 0);
}

#[test]
fn a_newer_postgres_schema_is_refused_not_downgraded() {
    let Some(url) = postgres_schema("newer") else {
        return;
    };
    drop(Store::connect(&url, 1, ca().as_deref()).unwrap());
    let mut client = ::postgres::Client::connect(&url.0, ::postgres::NoTls).unwrap();
    client
        .execute("INSERT INTO veilrank_schema (version) VALUES (99)", &[])
        .unwrap();
    let e = Store::connect(&url, 1, ca().as_deref())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("schema is version 99") && e.contains("upgrade the server"),
        "{e}"
    );
}

/// `sslmode=require`: the connections are TLS (as PostgreSQL itself reports them), verified
/// against the CA given; without that CA the server's certificate is refused, not trusted.
#[test]
fn tls_to_postgres_is_verified() {
    let (Some(url), Some(ca)) = (postgres_schema("tls"), ca()) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED store test tls on PostgreSQL: it needs VEILRANK_TEST_DATABASE and \
             VEILRANK_TEST_DATABASE_CA (.ci/run sets both)"
        );
        return;
    };
    let name = format!("veilrank_tls_{}", std::process::id());
    let with = |extra: &str| DatabaseUrl::parse(&format!("{}&{extra}", url.0)).unwrap();
    let required = with(&format!("sslmode=require&application_name={name}"));
    let store = Store::connect(&required, 2, Some(&ca)).unwrap();
    store
        .insert(&ProfileId([7; 16]), &meta(1), b"over tls")
        .unwrap();
    let mut admin = ::postgres::Client::connect(&url.0, ::postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&name],
        )
        .unwrap();
    assert!(
        !rows.is_empty(),
        "the store's connections are not in pg_stat_activity"
    );
    assert!(
        rows.iter().all(|r| r.get::<_, bool>(0)),
        "a connection without TLS"
    );
    drop(store);
    let e = Store::connect(&with("sslmode=require&connect_timeout=2"), 1, None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("TLS handshake") && e.contains("UnknownIssuer"),
        "{e}"
    );
}

#[test]
fn database_urls_are_checked_and_never_shown() {
    assert!(DatabaseUrl::parse("mysql://x").is_err());
    assert!(DatabaseUrl::parse("postgres://u:p@h:notaport/db").is_err());
    let url = DatabaseUrl::parse("postgres://veilrank:hunter2@db.internal:5432/profiles").unwrap();
    assert!(!format!("{url:?}").contains("hunter2"));
}

#[test]
fn ids_parse_only_from_32_hex_digits() {
    let id = ProfileId::generate().unwrap();
    assert_eq!(ProfileId::parse(&id.to_string()), Some(id));
    assert_eq!(ProfileId::parse("abc"), None);
    assert_eq!(ProfileId::parse(&"z".repeat(32)), None);
}
