//! The `veilrank` binary, run as a person would: keygen, recommend (text and JSON), demo, errors.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

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
    let served = server.state.catalogs.default_catalog();
    let mut prefs = vec![0f32; served.dim];
    for name in ["horror", "comedy"] {
        let topic = served.topics.iter().find(|t| t.name == name).unwrap();
        prefs
            .iter_mut()
            .zip(&topic.vector)
            .for_each(|(p, v)| *p += v);
    }
    let precision = served.params.precision;
    let query = quantize::quantize_bits(&prefs, precision.query_bits()).unwrap();
    let expected = plain::item_scores(precision, served.quantized(), served.dim, &query.values);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_verbs_create_score_replace_show_delete() {
    let server = veilrank_server::start_demo_on_loopback(3000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let run = |args: Vec<String>| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            veilrank(&args, &dir)
        })
    };
    let args = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();

    let mut create = args("profile create --likes horror --server");
    create.push(url.clone());
    let created = run(create).await.unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    let kept = dir.path().join("veilrank.key.profile.json");
    assert!(kept.exists(), "the profile is kept beside the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(text(&created.stdout).contains("catalog    demo (dimension 64)"));

    // scores of the stored profile: the plaintext ranking for "horror"
    let served = server.state.catalogs.default_catalog();
    let horror = &served
        .topics
        .iter()
        .find(|t| t.name == "horror")
        .unwrap()
        .vector;
    let expected_top = |prefs: &[f32]| {
        let precision = served.params.precision;
        let query = quantize::quantize_bits(prefs, precision.query_bits()).unwrap();
        let expected = plain::item_scores(precision, served.quantized(), served.dim, &query.values);
        rank::top_k(&expected, 5)
            .into_iter()
            .map(|i| served.items[i].id.clone())
            .collect::<Vec<_>>()
    };
    let ids = |output: &Output| {
        let items: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let scored = run(args("profile score --top 5 --json")).await.unwrap();
    assert!(scored.status.success(), "{}", text(&scored.stderr));
    assert_eq!(ids(&scored), expected_top(horror));

    let replaced = run(args("profile replace --likes comedy")).await.unwrap();
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));
    let scored = run(args("profile score --top 5 --json")).await.unwrap();
    let comedy = &served
        .topics
        .iter()
        .find(|t| t.name == "comedy")
        .unwrap()
        .vector;
    assert_eq!(ids(&scored), expected_top(comedy));

    let shown = run(args("profile show")).await.unwrap();
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains("expires"),
        "{}",
        text(&shown.stdout)
    );

    let deleted = run(args("profile delete")).await.unwrap();
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(!kept.exists(), "the local copy is forgotten too");
    assert_eq!(
        server.state.store.count().unwrap(),
        0,
        "erased on the server"
    );
    let gone = run(args("profile score")).await.unwrap();
    assert!(!gone.status.success());
    assert!(
        text(&gone.stderr).contains("profile.json"),
        "{}",
        text(&gone.stderr)
    );
    server.shutdown().await.unwrap();
}
