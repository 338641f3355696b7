//! The `veilrank` binary, run as a person would: keygen, recommend (text and JSON), demo, errors.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use veilrank_core::{plain, quantize, rank};

fn veilrank(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veilrank"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keygen_writes_a_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = veilrank(&["keygen", "--out", "my.key"], dir.path());
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(dir.path().join("my.key").exists());
    let second = veilrank(&["keygen", "--out", "my.key"], dir.path());
    assert!(!second.status.success());
    assert!(
        text(&second.stderr).contains("my.key"),
        "{}",
        text(&second.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_prints_the_plaintext_ranking_as_json() {
    let server = veilrank_server::start_demo_on_loopback(3000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();

    let keygen = veilrank(&["keygen"], dir.path());
    assert!(keygen.status.success());
    let output = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        let url = url.clone();
        move || {
            veilrank(
                &[
                    "recommend",
                    "--server",
                    &url,
                    "--likes",
                    "horror,comedy",
                    "--top",
                    "7",
                    "--json",
                ],
                &dir,
            )
        }
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let items: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 7);

    // the same ranking in plaintext, from the catalog the server holds
    let served = &server.state.catalog;
    let mut prefs = vec![0f32; served.dim];
    for name in ["horror", "comedy"] {
        let topic = served.topics.iter().find(|t| t.name == name).unwrap();
        prefs
            .iter_mut()
            .zip(&topic.vector)
            .for_each(|(p, v)| *p += v);
    }
    let query = quantize::quantize(&prefs).unwrap();
    let expected = plain::scores(served.quantized(), served.dim, &query.values);
    for (position, (item, index)) in items.iter().zip(rank::top_k(&expected, 7)).enumerate() {
        assert_eq!(item["rank"], position + 1);
        assert_eq!(item["id"], served.items[index].id.as_str());
        assert_eq!(item["title"], served.items[index].title.as_str());
        assert_eq!(item["raw_score"], expected[index]);
        assert!(item["score"].as_f64().unwrap() > 0.0);
    }

    // wrong input: a clear message, a failing exit code
    let dir2 = dir.path().to_path_buf();
    let bad = tokio::task::spawn_blocking(move || {
        veilrank(&["recommend", "--server", &url, "--prefs", "1,2,3"], &dir2)
    })
    .await
    .unwrap();
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("dimension is 64"),
        "{}",
        text(&bad.stderr)
    );
    server.shutdown().await.unwrap();
}

#[test]
fn demo_runs_and_agrees_with_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let output = veilrank(
        &["demo", "--items", "4000", "--likes", "sci-fi", "--top", "5"],
        dir.path(),
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("is identical to the plaintext ranking"),
        "{stdout}"
    );
    assert!(
        stdout.contains("encrypt") && stdout.contains("bytes: sent"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("(sci-fi").count(), 5, "{stdout}");
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = veilrank(
        &[
            "recommend",
            "--server",
            "http://127.0.0.1:9",
            "--prefs",
            "a,b",
        ],
        dir.path(),
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("invalid value"),
        "{}",
        text(&output.stderr)
    );
    let output = veilrank(&["recommend", "--server", "http://127.0.0.1:9"], dir.path());
    assert!(!output.status.success());
}
