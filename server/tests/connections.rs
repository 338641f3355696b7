//! Raw HTTP against a real server on a loopback port. Slow and idle clients: the header timeout
//! closes their connections, and the connection limit makes the rest wait instead of exhausting
//! the server's file descriptors. Errors that axum and hyper write themselves are JSON too, and
//! a connection whose body was not read is closed with `Connection: close`.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use veilrank_core::V1_128;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::catalogs::Catalogs;
use veilrank_server::{demo, Config, RunningServer};

/// Far longer than any timeout under test: reaching it means the server never closed.
const PATIENCE: Duration = Duration::from_secs(20);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n";

async fn server(max_connections: usize, header_timeout: Duration) -> RunningServer {
    server_with(Config {
        max_connections,
        header_timeout,
        ..Config::demo()
    })
    .await
}

async fn server_with(config: Config) -> RunningServer {
    let catalog = ServedCatalog::new("demo", demo::catalog(10), V1_128).unwrap();
    let catalogs = Catalogs::try_new(vec![(catalog, None)], "demo").unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    let mut server = veilrank_server::start(&config, catalogs).await.unwrap();
    server.ready().await.unwrap();
    server
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// One response's head and body (`Content-Length` bodies only), leaving the connection open.
async fn one_response(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a whole response");
        all.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&all).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .map_or(0, |v| v.trim().parse().unwrap());
            if all.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn headers_trickled_past_the_timeout_lose_the_connection() {
    let server = server(16, Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    // one header line every 200 ms: each byte is timely, the whole is not
    let trickle = async {
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream
                .write_all(format!("x-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        until_closed(&mut stream).await
    };
    let sent = timeout(PATIENCE, trickle)
        .await
        .expect("the server kept a connection whose headers never ended");
    assert!(
        !String::from_utf8_lossy(&sent).contains("200 OK"),
        "an unfinished request was answered"
    );
    // and the server still answers others
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    other.write_all(HEALTHZ).await.unwrap();
    assert!(one_response(&mut other).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = server(16, Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    assert!(one_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // kept alive, then nothing more is sent
    let after = timeout(PATIENCE, until_closed(&mut stream))
        .await
        .expect("an idle connection stayed open");
    assert!(after.is_empty(), "unexpected bytes: {after:?}");
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let server = server(2, Duration::from_secs(60)).await;
    // two kept-alive connections, each with a request answered: both accepted, both held
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(HEALTHZ).await.unwrap();
        assert!(one_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // a third connects (the kernel's backlog takes it) but is not served while both are held
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        timeout(Duration::from_millis(500), third.read(&mut byte))
            .await
            .is_err(),
        "a connection past the limit was served"
    );
    // one closes: the third is accepted and answered
    drop(held.pop());
    let answer = timeout(PATIENCE, one_response(&mut third))
        .await
        .expect("the waiting connection was never served");
    assert!(answer.starts_with("HTTP/1.1 200"));
}

/// The head (lower case) and the JSON body of one response.
fn split(response: &str) -> (String, serde_json::Value) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or_default(),
    )
}

async fn exchange(server: &RunningServer, request: &[u8]) -> (String, serde_json::Value) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    split(&timeout(PATIENCE, one_response(&mut stream)).await.unwrap())
}

#[tokio::test]
async fn errors_that_axum_writes_itself_are_json_too() {
    let server = server(16, Duration::from_secs(10)).await;
    let (head, json) = exchange(&server, b"GET /v1/score HTTP/1.1\r\nhost: t\r\n\r\n").await;
    assert!(head.starts_with("http/1.1 405"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("allow: post"), "{head}");
    assert_eq!(json["error"]["code"], "method_not_allowed", "{json}");

    // a path id that is not UTF-8
    let (head, json) = exchange(
        &server,
        b"GET /v1/profiles/%FF%FE HTTP/1.1\r\nhost: t\r\nauthorization: Bearer x\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 400"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(json["error"]["code"], "bad_request", "{json}");
    assert!(
        json["error"]["message"].as_str().unwrap().len() > 10,
        "{json}"
    );
}

#[tokio::test]
async fn a_request_past_the_timeout_gets_a_json_408_and_the_connection_closes() {
    let server = server_with(Config {
        request_timeout_secs: 1,
        ..Config::demo()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // a body announced and never finished
    stream
        .write_all(b"POST /v1/score HTTP/1.1\r\nhost: t\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\nVRQ")
        .await
        .unwrap();
    let (head, json) = split(&timeout(PATIENCE, one_response(&mut stream)).await.unwrap());
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(json["error"]["code"], "timeout", "{json}");
}

#[tokio::test]
async fn a_body_far_over_the_limit_gets_413_and_connection_close() {
    let server = server(16, Duration::from_secs(10)).await;
    let limit = server.state.catalogs.default_catalog().query_size_limit();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let length = limit * 8;
    let head = format!(
        "POST /v1/score HTTP/1.1\r\nhost: t\r\ncontent-type: application/octet-stream\r\ncontent-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // as much of the body as the server reads before it answers; it stops at the limit
    let writer = async {
        let chunk = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < length {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
    };
    let _ = timeout(Duration::from_secs(2), writer).await;
    let (head, json) = split(&timeout(PATIENCE, one_response(&mut stream)).await.unwrap());
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(json["error"]["code"], "bad_body", "{json}");
    // and the server does close it
    let rest = timeout(PATIENCE, until_closed(&mut stream)).await.unwrap();
    assert!(rest.is_empty() || !String::from_utf8_lossy(&rest).contains("HTTP/1.1"));
}
