//! What the tests that run the server binary share.

#![allow(dead_code, reason = "each test binary uses its own subset")]

/// A bare HTTP/1.1 GET: the status code and the body, or None when the connection fails.
pub fn http_get(url: &str, path: &str) -> Option<(u16, String)> {
    http_request(url, &format!("GET {path} HTTP/1.1\r\n"))
}

/// A bare HTTP/1.1 request of `head` (its request line and headers, each ending in CRLF, no
/// body): the status code and the body, or None when the connection fails.
pub fn http_request(url: &str, head: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "{head}Host: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

/// The status code of a GET, or None when the connection fails.
pub fn http_status(url: &str, path: &str) -> Option<u16> {
    http_get(url, path).map(|(status, _)| status)
}

/// The server binary on a free loopback port with a catalog file and a data directory.
pub fn server(catalog: &std::path::Path, data_dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_veilrank-server"));
    command
        .args(["--addr", "127.0.0.1:0", "--catalog"])
        .arg(catalog)
        .arg("--data-dir")
        .arg(data_dir);
    command
}

/// A PostgreSQL URL whose connections see only an empty schema of their own, from
/// `VEILRANK_TEST_DATABASE`; `None`, said on stderr where a reader sees it, when that is unset.
pub fn postgres_schema(test: &str) -> Option<String> {
    use std::io::Write;
    let Ok(base) = std::env::var("VEILRANK_TEST_DATABASE") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} on PostgreSQL: VEILRANK_TEST_DATABASE is not set \
             (.ci/run starts a PostgreSQL and sets it)"
        );
        return None;
    };
    let schema = format!("it_{test}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("the test database");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("a schema of the test's own");
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options=-csearch_path%3D{schema}"))
}
