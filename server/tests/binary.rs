//! The `veilrank-server` binary as an operator runs it: a catalog file, port 0, readiness, a
//! clean exit on SIGTERM, and a clear refusal of a bad catalog.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serves_a_catalog_file_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    let lines: String = (0..50)
        .map(|i| format!("{{\"id\":\"f{i}\",\"title\":\"Film {i}\",\"vector\":[{i},1,-2]}}\n"))
        .collect();
    std::fs::write(&path, &lines).unwrap();

    let mut child = common::server(&path, &dir.path().join("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the log line "listening url=http://127.0.0.1:PORT", on stderr; keep reading until exit
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    let (url, _) = listening(&mut logs);
    let rest_of_log =
        std::thread::spawn(move || logs.map_while(Result::ok).collect::<Vec<_>>().join("\n"));

    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let status = common::http_status(&url, "/readyz");
        if status == Some(200) || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ready, Some(200));
    // what the server stores is its user's alone
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = dir.path().join("data");
        assert_eq!(mode(data.clone()), 0o700);
        assert_eq!(mode(data.join("profiles.redb")), 0o600);
        assert_eq!(mode(data.join("audit.jsonl")), 0o600);
    }
    let version = || {
        let (status, body) = common::http_get(&url, "/v1/catalog").unwrap();
        assert_eq!(status, 200, "{body}");
        body.split("\"content_version\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let before = version();

    // SIGHUP reloads the changed file; the new version is served without a restart
    let pid = child.id().to_string();
    std::fs::write(&path, lines.replace("Film 7", "Film Seven")).unwrap();
    signal("-HUP", &pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while version() == before {
        assert!(Instant::now() < deadline, "no reload within 30 s of SIGHUP");
        std::thread::sleep(Duration::from_millis(20));
    }

    signal("-TERM", &pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = rest_of_log.join().unwrap();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("catalog replaced"), "{log}");
}

#[test]
fn a_bad_catalog_file_stops_the_start_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "id,title,f0,f1\na,A,1,2\nb,B,3\n").unwrap();
    let output = common::server(&path, &dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv:3"), "{stderr}");
}

/// `--modulus`: a name the server does not know is refused with the names it knows; a modulus
/// the pinned kernel does not compute under stops the start, naming both.
#[test]
fn a_pinned_modulus_is_checked_before_anything_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.csv");
    std::fs::write(&path, "id,title,f0,f1\na,A,1,2\nb,B,3,4\n").unwrap();
    let run = |args: &[&str]| {
        let output = common::server(&path, &dir.path().join("data"))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let unknown = run(&["--modulus", "crt55"]);
    assert!(
        unknown.contains("one of ifma50, crt54, wide62"),
        "{unknown}"
    );
    // the portable kernel covers every modulus; the IFMA kernel only ifma50 (and runs only on
    // CPUs with IFMA: elsewhere the error says that first)
    let uncovered = run(&["--kernel", "ifma", "--modulus", "crt54"]);
    assert!(uncovered.contains("ifma"), "{uncovered}");
    assert!(
        uncovered.contains("crt54") || uncovered.contains("lacks its instructions"),
        "{uncovered}"
    );
}

#[test]
fn keys_on_the_command_line_are_warned_about_and_the_admin_key_file_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    std::fs::write(&path, "{\"id\":\"a\",\"vector\":[1,2]}\n").unwrap();
    let key_file = dir.path().join("admin.key");
    std::fs::write(&key_file, "the-admin-key-0123456789\n").unwrap();
    let mut child = common::server(&path, &dir.path().join("data"))
        .args([
            "--api-keys",
            "app:an-app-key-0123456789",
            "--admin-key-file",
        ])
        .arg(&key_file)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    let (url, before_listening) = listening(&mut logs);
    assert!(
        before_listening.contains("--api-keys on the command line is readable by every local user"),
        "{before_listening}"
    );
    assert!(
        !before_listening.contains("--admin-key on"),
        "{before_listening}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::http_status(&url, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "not ready within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let reload = |key: &str| {
        common::http_request(
            &url,
            &format!("POST /admin/catalogs/films/reload HTTP/1.1\r\nauthorization: Bearer {key}\r\ncontent-length: 0\r\n"),
        )
    };
    assert_eq!(reload("the-admin-key-0123456789").map(|r| r.0), Some(200));
    assert_eq!(reload("not-the-admin-key-012345").map(|r| r.0), Some(401));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Reads the log up to the line "listening url=http://127.0.0.1:PORT": the URL, and the lines
/// before it.
/// `--split-into`: one `.npy`, `.ids` and sidecar per part, named as the shards load them, at
/// the precision the catalog is served at (the default 12/10: two rows per item, so a block holds
/// 1,024 items); a catalog too small for the parts asked is refused with the reason.
#[test]
fn split_writes_one_part_per_shard_and_refuses_too_many() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    let lines: String = (0..5000)
        .map(|i| {
            format!(
                "{{\"id\":\"f{i}\",\"title\":\"Film {i}\",\"vector\":[{},1,-2]}}\n",
                i % 100
            )
        })
        .collect();
    std::fs::write(&path, &lines).unwrap();
    let parts = dir.path().join("parts");
    let split_at = |shards: &str, precision: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_veilrank-server"))
            .args(["--catalog", &format!("films={}", path.display())])
            .args([
                "--split-into",
                &parts.display().to_string(),
                "--split-shards",
                shards,
            ])
            .args(precision)
            .output()
            .unwrap()
    };
    let split = |shards: &str| split_at(shards, &[]);
    let out = split("3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(listed.len(), 3);
    for (k, part) in listed.iter().enumerate() {
        assert!(part.ends_with(&format!("films.{k}-of-3.npy")), "{part}");
        let sidecar: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{part}.part.json")).unwrap())
                .unwrap();
        assert_eq!(sidecar["shard"], format!("{k}/3"));
        assert_eq!(sidecar["catalog_items"], 5000);
        assert_eq!(
            sidecar["precision"],
            serde_json::json!({"catalog_bits": 12, "query_bits": 10})
        );
        // 10,000 rows in 5 blocks: blocks 0, 1-2 and 3-4
        let ids = std::fs::read_to_string(part.replace(".npy", ".ids")).unwrap();
        assert_eq!(ids.lines().count(), [1024, 2048, 1928][k]);
    }
    let out = split("6");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be cut in 6 shards"), "{stderr}");
    // at 8/8 a block holds 2,048 items, and the sidecar is the one before precisions
    let out = split_at("3", &["--precision", "8/8"]);
    assert!(out.status.success());
    let first = String::from_utf8(out.stdout).unwrap();
    let first = first.lines().next().unwrap();
    let sidecar = std::fs::read_to_string(format!("{first}.part.json")).unwrap();
    assert!(!sidecar.contains("precision"), "{sidecar}");
    let ids = std::fs::read_to_string(first.replace(".npy", ".ids")).unwrap();
    assert_eq!(ids.lines().count(), 2048);
    assert!(!split_at("4", &["--precision", "8/8"]).status.success());
}

fn listening(logs: &mut impl Iterator<Item = std::io::Result<String>>) -> (String, String) {
    let mut before = String::new();
    for line in logs {
        let line = line.unwrap();
        if let Some(rest) = line.split("url=").nth(1) {
            return (rest.split_whitespace().next().unwrap().to_string(), before);
        }
        before.push_str(&line);
        before.push('\n');
    }
    panic!("the server never logged its address; its log:\n{before}");
}

/// Sends a signal to a process with kill(1).
fn signal(which: &str, pid: &str) {
    assert!(Command::new("kill")
        .args([which, pid])
        .status()
        .unwrap()
        .success());
}
