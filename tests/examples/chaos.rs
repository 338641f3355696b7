//! Load and chaos, on loopback only and bounded in time: CLIENTS concurrent clients score
//! queries and create, replace, erase and score stored profiles against the server binary; half
//! way through the server is killed with SIGKILL and started again on the same data. Then every
//! profile is checked against what the server acknowledged: an acknowledged write is there, an
//! acknowledged erase stays erased, and every score is the plaintext one, exactly.
//!
//!   cargo build --release -p veilrank-server
//!   cargo run --release -p veilrank-e2e --example chaos -- [--clients 64] [--seconds 30]
//!       [--server PATH]   (default: $CARGO_TARGET_DIR or target, then release/veilrank-server)
//!
//! Exits 1 when anything acknowledged was lost or came back, or a score was wrong.

#![expect(
    clippy::unwrap_used,
    reason = "a load script: a panic is its failure report"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_client::{Client, ClientError, Profile, SecretKey};
use veilrank_core::{plain, V1_128};
use veilrank_e2e::random_values;

const DIM: usize = 8;
const ITEMS: usize = 5_000;

/// What the client knows of one of its profiles from the server's answers.
#[derive(Clone, Debug)]
enum State {
    /// The last acknowledged content.
    Known(Vec<i8>),
    /// Acknowledged erased.
    Erased,
    /// A write whose answer never came (the server died): either content may be there.
    Uncertain(Option<Vec<i8>>, Option<Vec<i8>>),
}

#[derive(Default, Debug)]
struct Tally {
    /// Per operation: (acknowledged, failed).
    ops: BTreeMap<&'static str, (u64, u64)>,
    /// Failures by error code.
    failures: BTreeMap<String, u64>,
    violations: Vec<String>,
}

impl Tally {
    /// Counts an answer; true when it failed (the caller then waits a little).
    fn count<T>(&mut self, op: &'static str, result: &Result<T, ClientError>) -> bool {
        let entry = self.ops.entry(op).or_default();
        match result {
            Ok(_) => entry.0 += 1,
            Err(e) => {
                entry.1 += 1;
                *self.failures.entry(e.code().to_string()).or_default() += 1;
            }
        }
        result.is_err()
    }

    fn merge(&mut self, other: Tally) {
        for (op, (ok, failed)) in other.ops {
            let entry = self.ops.entry(op).or_default();
            entry.0 += ok;
            entry.1 += failed;
        }
        for (code, n) in other.failures {
            *self.failures.entry(code).or_default() += n;
        }
        self.violations.extend(other.violations);
    }
}

struct Options {
    clients: usize,
    seconds: u64,
    server: PathBuf,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut options = Options {
        clients: 64,
        seconds: 30,
        server: Path::new(&target).join("release/veilrank-server"),
    };
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--clients" => options.clients = value.parse().unwrap(),
            "--seconds" => options.seconds = value.parse().unwrap(),
            "--server" => options.server = value.into(),
            other => panic!("unknown flag {other}"),
        }
    }
    options
}

/// Starts the server on `port` and waits until it is ready.
fn start(server: &Path, catalog: &Path, data: &Path, port: u16) -> Child {
    let mut child = Command::new(server)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--catalog"])
        .arg(catalog)
        .arg("--data-dir")
        .arg(data)
        .args(["--max-concurrent-scores", "4"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in logs.by_ref() {
        if line.unwrap().contains("listening") {
            break;
        }
    }
    // keep draining the log so that the server never blocks on it
    std::thread::spawn(move || for _ in logs {});
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn prefs_of(values: &[i8]) -> Vec<f32> {
    values.iter().map(|&v| f32::from(v)).collect()
}

/// A preference vector whose largest magnitude is 127: quantized, it is itself.
fn random_prefs(rng: &mut ChaCha8Rng) -> Vec<i8> {
    let mut values = random_values(rng.random(), DIM);
    values[rng.random_range(0..DIM)] = 127;
    values
}

fn is_not_found(e: &ClientError) -> bool {
    e.code() == "profile_not_found"
}

/// One client's life: random operations until `stop`, its profiles' states, its tally.
async fn client(
    url: String,
    catalog: Arc<Vec<i8>>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> (Vec<(Profile, State)>, Tally, Arc<SecretKey>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let mut tally = Tally::default();
    let mut profiles: Vec<(Profile, State)> = Vec::new();
    let mut connection: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(client) = connection.as_ref() else {
            match Client::connect(&url, Duration::from_secs(5)).await {
                Ok(c) => connection = Some(c),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
            continue;
        };
        let expected = |p: &[i8]| plain::scores(&catalog, DIM, p);
        let failed;
        let pick = rng.random_range(0..100);
        let known: Vec<usize> = (0..profiles.len())
            .filter(|&i| matches!(profiles[i].1, State::Known(_)))
            .collect();
        if pick < 30 || (pick >= 50 && known.is_empty()) {
            let prefs = random_prefs(&mut rng);
            let result = client.score(&key, &prefs_of(&prefs)).await;
            if let Ok(scores) = &result {
                if scores.raw != expected(&prefs) {
                    tally
                        .violations
                        .push("an uploaded query's scores differ from plaintext".into());
                }
            }
            failed = tally.count("score (upload)", &result);
        } else if pick < 50 {
            let prefs = random_prefs(&mut rng);
            let result = client.create_profile(&key, &prefs_of(&prefs)).await;
            failed = tally.count("create profile", &result);
            if let Ok(profile) = result {
                profiles.push((profile, State::Known(prefs)));
            }
        } else {
            let i = known[rng.random_range(0..known.len())];
            let State::Known(current) = profiles[i].1.clone() else {
                unreachable!()
            };
            if pick < 70 {
                let prefs = random_prefs(&mut rng);
                let result = client
                    .replace_profile(&mut profiles[i].0, &key, &prefs_of(&prefs))
                    .await;
                failed = tally.count("replace profile", &result);
                profiles[i].1 = match result {
                    Ok(_) => State::Known(prefs),
                    Err(_) => State::Uncertain(Some(current), Some(prefs)),
                };
            } else if pick < 80 {
                let result = client.delete_profile(&profiles[i].0).await;
                failed = tally.count("erase profile", &result);
                profiles[i].1 = match result {
                    Ok(()) => State::Erased,
                    Err(_) => State::Uncertain(Some(current), None),
                };
            } else {
                let result = client.score_profile(&profiles[i].0, &key).await;
                match &result {
                    Ok(scores) if scores.raw != expected(&current) => tally
                        .violations
                        .push(format!("profile {} scored other content", profiles[i].0.id)),
                    Err(e) if is_not_found(e) => tally
                        .violations
                        .push(format!("acknowledged profile {} is gone", profiles[i].0.id)),
                    _ => {}
                }
                failed = tally.count("score profile", &result);
            }
        }
        if failed {
            // the server may be down: try again in a moment rather than spin
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (profiles, tally, key)
}

/// Checks one profile against what its client was told.
async fn verify(
    client: &Client,
    profile: &Profile,
    state: &State,
    key: &Arc<SecretKey>,
    catalog: &[i8],
) -> Result<(), String> {
    let got = match client.score_profile(profile, key).await {
        Ok(scores) => Some(scores.raw),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(format!("profile {}: {e}", profile.id)),
    };
    let scores = |p: &Option<Vec<i8>>| p.as_ref().map(|p| plain::scores(catalog, DIM, p));
    let allowed = match state {
        State::Known(p) => vec![scores(&Some(p.clone()))],
        State::Erased => vec![None],
        State::Uncertain(a, b) => vec![scores(a), scores(b)],
    };
    if allowed.contains(&got) {
        Ok(())
    } else {
        Err(format!(
            "profile {}: acknowledged {}, found {}",
            profile.id,
            match state {
                State::Known(_) => "content",
                State::Erased => "erased",
                State::Uncertain(..) => "one of two contents",
            },
            if got.is_some() {
                "other content"
            } else {
                "nothing"
            }
        ))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let catalog = random_values(7, DIM * ITEMS);
    let mut catalog = catalog;
    catalog[0] = 127; // the catalog's scale is 1: the file's values are the quantized ones
    let lines: String = catalog
        .chunks(DIM)
        .enumerate()
        .map(|(i, v)| format!("{{\"id\":\"i{i}\",\"vector\":{:?}}}\n", v))
        .collect();
    let path = dir.path().join("chaos.jsonl");
    std::fs::write(&path, lines).unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = start(&options.server, &path, &data, port);

    let catalog = Arc::new(catalog);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.clients)
        .map(|i| tokio::spawn(client(url.clone(), catalog.clone(), i as u64, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(options.seconds / 2)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let killed_at = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    server = start(&options.server, &path, &data, port);
    let back_at = started.elapsed();
    tokio::time::sleep(Duration::from_secs(options.seconds - options.seconds / 2)).await;
    stop.store(true, Ordering::Relaxed);

    let mut tally = Tally::default();
    let checker = Client::connect(&url, Duration::from_secs(30))
        .await
        .unwrap();
    let (mut checked, mut erased, mut uncertain) = (0, 0, 0);
    for task in tasks {
        let (profiles, client_tally, key) = task.await.unwrap();
        tally.merge(client_tally);
        for (profile, state) in &profiles {
            match state {
                State::Erased => erased += 1,
                State::Uncertain(..) => uncertain += 1,
                State::Known(_) => {}
            }
            checked += 1;
            if let Err(e) = verify(&checker, profile, state, &key, &catalog).await {
                tally.violations.push(e);
            }
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();

    println!(
        "{} clients, {} s on loopback; SIGKILL at {:.1} s, serving again at {:.1} s",
        options.clients,
        options.seconds,
        killed_at.as_secs_f64(),
        back_at.as_secs_f64()
    );
    println!("| operation | acknowledged | failed |");
    println!("|---|---|---|");
    for (op, (ok, failed)) in &tally.ops {
        println!("| {op} | {ok} | {failed} |");
    }
    println!(
        "profiles checked after the run: {checked} ({erased} acknowledged erased, {uncertain} \
         with a write unanswered at the kill); violations: {}",
        tally.violations.len()
    );
    println!("failures by code: {:?}", tally.failures);
    for v in tally.violations.iter().take(20) {
        println!("VIOLATION: {v}");
    }
    if tally.violations.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
