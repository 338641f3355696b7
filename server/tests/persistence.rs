//! The profile store as an operator meets it, through the real binary: a restart keeps every
//! acknowledged write, SIGKILL in the middle of a stream of writes loses nothing acknowledged and
//! shows nothing half-written, and a data directory that is not ours stops the start.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{plain, Query, SecretKey, V1_128};

const DIM: usize = 2;

/// The catalog: 20 items of dimension 2, one value at 127 so that quantization is exact.
fn catalog_values() -> Vec<i8> {
    (0..20 * DIM as i32)
        .map(|i| {
            if i == 0 {
                127
            } else {
                (i * 37 % 255 - 127) as i8
            }
        })
        .collect()
}

fn write_catalog(path: &Path) {
    let lines: String = catalog_values()
        .chunks_exact(DIM)
        .enumerate()
        .map(|(i, v)| format!("{{\"id\":\"i{i}\",\"vector\":[{},{}]}}\n", v[0], v[1]))
        .collect();
    std::fs::write(path, lines).unwrap();
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts the binary on port 0 and waits until it is ready.
    fn start(dir: &Path) -> Self {
        Self::start_on(dir, None)
    }

    /// [`Self::start`] with the profiles in PostgreSQL when `database` names one.
    fn start_on(dir: &Path, database: Option<&str>) -> Self {
        let mut command = common::server(&dir.join("films.jsonl"), &dir.join("data"));
        // the integer catalog quantizes to itself at 8/8, and the queries are encrypted at it
        command.args(["--precision", "8/8"]);
        if let Some(url) = database {
            command.arg("--database").arg(url);
            if let Some(ca) = std::env::var_os("VEILRANK_TEST_DATABASE_CA") {
                command.arg("--database-ca-file").arg(ca);
            }
        }
        let mut child = command
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = logs
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("url=")
                    .nth(1)
                    .map(|rest| rest.split_whitespace().next().unwrap().to_string())
            })
            .expect("the server logs its address");
        // keep draining the log so that the server never blocks on a full pipe
        std::thread::spawn(move || logs.map_while(Result::ok).for_each(drop));
        let deadline = Instant::now() + Duration::from_secs(30);
        while common::http_status(&url, "/readyz") != Some(200) {
            assert!(Instant::now() < deadline, "not ready within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, url }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

/// The write in flight: the profile it targets (`None`: a create) and the preferences it writes
/// (`None`: an erase).
type Pending = (Option<String>, Option<Vec<i8>>);

/// What the test knows of one profile.
#[derive(Clone)]
struct Known {
    token: String,
    /// The acknowledged preferences; `None` once an erase was acknowledged.
    acked: Option<Vec<i8>>,
}

fn catalog_ref() -> CatalogRef {
    // the query's content version is not checked by the server; any value will do
    CatalogRef {
        id: "films".into(),
        version: ContentVersion([0; 32]),
    }
}

fn encrypt(key: &SecretKey, prefs: &[i8]) -> Vec<u8> {
    let query = Query::encrypt(key, prefs).unwrap();
    wire::encode_query(&V1_128, &catalog_ref(), &query).unwrap()
}

/// Scores a stored profile and decrypts the scores; `None` for 404.
async fn stored_scores(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    token: &str,
    key: &SecretKey,
) -> Option<Vec<i32>> {
    let response = http
        .post(format!("{url}/v1/profiles/{id}/score"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if response.status() == 404 {
        return None;
    }
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let header = wire::peek(&bytes).unwrap();
    let decoded = wire::decode_response(&V1_128, &header.catalog, 20, &bytes).unwrap();
    let hint = http
        .get(format!("{url}/v1/catalogs/{}/hint", header.catalog.id))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let hint = wire::decode_hint(&V1_128, &header.catalog, 20, &hint).unwrap();
    Some(decoded.decrypt(key, &hint, 20).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_a_stream_of_writes_loses_nothing_acknowledged() {
    sigkill_in_a_stream_of_writes(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_a_stream_of_writes_loses_nothing_acknowledged_in_postgres() {
    // the synchronous client, off the test's runtime
    let url = tokio::task::spawn_blocking(|| common::postgres_schema("sigkill"))
        .await
        .unwrap();
    if let Some(url) = url {
        sigkill_in_a_stream_of_writes(Some(&url)).await;
    }
}

async fn sigkill_in_a_stream_of_writes(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    write_catalog(&dir.path().join("films.jsonl"));
    let server = Server::start_on(dir.path(), database);
    let url = server.url.clone();
    let key = SecretKey::generate(&V1_128).unwrap();
    let http = reqwest::Client::new();

    // a writer: creates, replaces and erases until the server dies under it
    let known: std::sync::Arc<std::sync::Mutex<HashMap<String, Known>>> = Default::default();
    // the one write in flight when the server died: (profile id or None for a create, prefs)
    let in_flight: std::sync::Arc<std::sync::Mutex<Option<Pending>>> = Default::default();
    let writer = {
        let (known, in_flight, http, url) =
            (known.clone(), in_flight.clone(), http.clone(), url.clone());
        let key = SecretKey::try_from_bytes(&V1_128, &key.to_bytes()).unwrap();
        tokio::spawn(async move {
            for step in 0u32.. {
                let prefs = vec![((step % 200) as i16 - 100) as i8, 1 + (step % 50) as i8];
                let ids: Vec<String> = known
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, k)| k.acked.is_some())
                    .map(|(id, _)| id.clone())
                    .collect();
                let target = (!ids.is_empty() && step % 3 != 0)
                    .then(|| ids[step as usize % ids.len()].clone());
                let erase = target.is_some() && step % 5 == 0;
                *in_flight.lock().unwrap() =
                    Some((target.clone(), (!erase).then(|| prefs.clone())));
                let body = encrypt(&key, &prefs);
                let result = match &target {
                    None => {
                        http.post(format!("{url}/v1/profiles"))
                            .header("content-type", "application/octet-stream")
                            .body(body)
                            .send()
                            .await
                    }
                    Some(id) => {
                        let token = known.lock().unwrap()[id].token.clone();
                        let request = if erase {
                            http.delete(format!("{url}/v1/profiles/{id}"))
                        } else {
                            http.put(format!("{url}/v1/profiles/{id}"))
                                .header("content-type", "application/octet-stream")
                                .body(body)
                        };
                        request.bearer_auth(token).send().await
                    }
                };
                let Ok(response) = result else { return step };
                let status = response.status();
                let Ok(text) = response.text().await else {
                    return step;
                };
                assert!(status.is_success(), "{status}: {text}");
                let mut known = known.lock().unwrap();
                match target {
                    None => {
                        let created: serde_json::Value = serde_json::from_str(&text).unwrap();
                        known.insert(
                            created["profile"]["id"].as_str().unwrap().to_string(),
                            Known {
                                token: created["token"].as_str().unwrap().to_string(),
                                acked: Some(prefs),
                            },
                        );
                    }
                    Some(id) => {
                        known.get_mut(&id).unwrap().acked = (!erase).then_some(prefs);
                    }
                }
                *in_flight.lock().unwrap() = None;
            }
            unreachable!()
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    let steps = writer.await.unwrap();
    assert!(steps > 10, "only {steps} writes before the kill");

    let server = Server::start_on(dir.path(), database);
    let known = known.lock().unwrap().clone();
    let in_flight = in_flight.lock().unwrap().clone();
    let values = catalog_values();
    let mut live = 0;
    for (id, profile) in &known {
        let scores = stored_scores(&http, &server.url, id, &profile.token, &key).await;
        // the unacknowledged write may or may not have happened, but only whole
        let pending = match &in_flight {
            Some((Some(target), prefs)) if target == id => Some(prefs.clone()),
            _ => None,
        };
        let allowed: Vec<Option<Vec<i32>>> = std::iter::once(profile.acked.clone())
            .chain(pending)
            .map(|p| p.map(|p| plain::scores(&values, DIM, &p)))
            .collect();
        assert!(
            allowed.contains(&scores),
            "profile {id}: {scores:?} is none of the acknowledged or pending states"
        );
        live += usize::from(scores.is_some());
    }
    let metrics = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stored: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("veilrank_profiles_stored "))
        .unwrap()
        .parse()
        .unwrap();
    // at most one unacknowledged create may have landed
    let pending_create = matches!(in_flight, Some((None, _)));
    assert!(
        stored == live || (pending_create && stored == live + 1),
        "{stored} stored, {live} known live"
    );
    assert!(live > 0);
    server.kill();
}

#[test]
fn a_restart_keeps_profiles_and_a_foreign_data_directory_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    write_catalog(&dir.path().join("films.jsonl"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let http = reqwest::Client::new();

    let server = Server::start(dir.path());
    let created: serde_json::Value = runtime.block_on(async {
        http.post(format!("{}/v1/profiles", server.url))
            .header("content-type", "application/octet-stream")
            .body(encrypt(&key, &[5, -7]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    server.kill();

    let server = Server::start(dir.path());
    let id = created["profile"]["id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let scores = runtime.block_on(stored_scores(&http, &server.url, id, token, &key));
    assert_eq!(
        scores,
        Some(plain::scores(&catalog_values(), DIM, &[5, -7]))
    );
    server.kill();
    let audit = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"created\"") && audit.contains("\"event\":\"scored\""));
    assert!(!audit.contains(token), "the audit log never holds a token");

    // a corrupt database file: a clear error, and the file left alone
    std::fs::write(dir.path().join("data/profiles.redb"), b"not a database").unwrap();
    let output = common::server(&dir.path().join("films.jsonl"), &dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("profiles.redb"), "{stderr}");
    assert!(stderr.contains("not a usable profile database"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.path().join("data/profiles.redb")).unwrap(),
        b"not a database"
    );
}
