//! The `veilrank-server` binary as an operator runs it: a catalog file, port 0, readiness, a
//! clean exit on SIGTERM, and a clear refusal of a bad catalog.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_veilrank-server"))
}

#[test]
fn serves_a_catalog_file_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("films.jsonl");
    let lines: String = (0..50)
        .map(|i| format!("{{\"id\":\"f{i}\",\"title\":\"Film {i}\",\"vector\":[{i},1,-2]}}\n"))
        .collect();
    std::fs::write(&path, lines).unwrap();

    let mut child = server()
        .args(["--addr", "127.0.0.1:0", "--catalog"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the log line "listening url=http://127.0.0.1:PORT", on stderr; keep reading until exit
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut url = None;
    for line in logs.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("url=").nth(1) {
            url = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    let url = url.expect("the server logs its address");
    let rest_of_log =
        std::thread::spawn(move || logs.map_while(Result::ok).collect::<Vec<_>>().join("\n"));

    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let status = http_status(&url, "/readyz");
        if status == Some(200) || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ready, Some(200));
    assert_eq!(http_status(&url, "/v1/catalog"), Some(200));

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
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
}

#[test]
fn a_bad_catalog_file_stops_the_start_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "id,title,f0,f1\na,A,1,2\nb,B,3\n").unwrap();
    let output = server()
        .args(["--addr", "127.0.0.1:0", "--catalog"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv:3"), "{stderr}");
}

/// A bare HTTP/1.1 GET; the status code, or None when the connection fails.
fn http_status(url: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}
