//! The demo page in a real browser: Debian's Chromium, driven by `web/js/tests/demo.mjs`
//! (playwright-core), against a server on loopback. The page encrypts in WebAssembly, the server
//! scores, the page decrypts and ranks; the ranking read from the page must be the plaintext
//! ranking computed here. Then the catalog changes under the page, then the server goes away.
//!
//! Ignored by default: it needs Node.js, `npm ci` in `web/js`, Chromium, and a server built
//! after `web/build.sh` (which embeds the SDK). `.ci/run` runs it with `--ignored`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{json, Value};
use veilrank_client::Session;
use veilrank_core::api::Manifest;
use veilrank_core::{plain, quantize, rank, V1_128};
use veilrank_e2e::test_config;
use veilrank_server::catalog::ServedCatalog;
use veilrank_server::catalog_file::RawCatalog;
use veilrank_server::config::CatalogSource;

const ADMIN: &str = "admin-key-0123456789";
const TOPICS: [&str; 2] = ["jazz", "sports"];

/// The page, as the driver script sees it: one JSON line per recommendation.
struct Page {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Page {
    fn open(url: &str) -> Self {
        let script = repo().join("web/js/tests/demo.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args([url, &TOPICS.join(","), "--wait", "--runs", "3"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (the browser test needs Node.js, and `npm ci` in web/js)");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut page = Self {
            child,
            stdin,
            lines,
        };
        assert_eq!(page.line()["loaded"], true, "the page did not load");
        page
    }

    fn line(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(180))
            .expect("the driver answers (see its stderr above)");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Clicks "Recommend" and reads what the page shows.
    fn recommend(&mut self) -> Value {
        writeln!(self.stdin, "go").expect("driver alive");
        self.line()
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write_jsonl(path: &Path, catalog: &RawCatalog) {
    let mut text = String::new();
    for t in &catalog.topics {
        text += &json!({"topic": t.name, "vector": t.vector}).to_string();
        text.push('\n');
    }
    for i in &catalog.items {
        text += &json!({"id": i.id, "title": i.title, "vector": i.vector}).to_string();
        text.push('\n');
    }
    std::fs::write(path, text).expect("temp file");
}

/// The ranking a user gets in plaintext: the SDK's preference vector for the topics, quantized
/// at the catalog's precision, dotted with the catalog's quantized items, the 10 best (ties by
/// position).
fn plaintext_top10(manifest: &Manifest, catalog: &RawCatalog) -> Vec<(String, i64)> {
    let session = Session::new(manifest.clone()).expect("manifest");
    let prefs = session.preferences_from_topics(&TOPICS).expect("topics");
    let precision = manifest.precision;
    let query = quantize::quantize_bits(&prefs, precision.query_bits())
        .expect("finite")
        .values;
    let served = ServedCatalog::new("demo", catalog.clone(), V1_128.with_precision(precision))
        .expect("catalog");
    let scores = plain::item_scores(precision, served.quantized(), catalog.dim, &query);
    rank::top_k(&scores, 10)
        .into_iter()
        .map(|i| (catalog.items[i].id.clone(), i64::from(scores[i])))
        .collect()
}

fn shown(result: &Value) -> Vec<(String, i64)> {
    assert_eq!(result["error"], Value::Null, "{result}");
    result["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().expect("id").to_owned(),
                i["rawScore"].as_i64().expect("raw score"),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs Node.js, Chromium and web/build.sh; .ci/run runs it"]
fn the_demo_page_ranks_as_plaintext_notices_a_new_catalog_and_says_when_the_server_is_gone() {
    assert!(
        veilrank_server::web::sdk_embedded(),
        "this server was built without the web SDK: run web/build.sh, then this test"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("demo.jsonl");
    let first = veilrank_server::demo::catalog(20_000);
    write_jsonl(&path, &first);
    let config = veilrank_server::Config {
        catalogs: vec![CatalogSource::parse(&format!("demo={}", path.display())).expect("source")],
        admin_key: Some(ADMIN.into()),
        // the default precision, which the page's wasm client learns from the manifest
        precision: veilrank_core::Precision::RECOMMENDED,
        ..test_config()
    };
    let server = rt.block_on(async {
        let catalogs = veilrank_server::load_catalogs(&config).expect("catalog loads");
        let mut server = veilrank_server::start(&config, catalogs)
            .await
            .expect("server starts");
        server.ready().await.expect("catalog prepares");
        server
    });
    let url = server.url();
    let manifest = |rt: &tokio::runtime::Runtime| -> Manifest {
        rt.block_on(async {
            let r = reqwest::get(format!("{url}/v1/catalog"))
                .await
                .expect("manifest");
            r.json().await.expect("manifest JSON")
        })
    };

    let mut page = Page::open(&url);
    let result = page.recommend();
    let m1 = manifest(&rt);
    assert_eq!(m1.precision, veilrank_core::Precision::RECOMMENDED);
    assert_eq!(shown(&result), plaintext_top10(&m1, &first), "{result}");
    assert_eq!(
        result["report"]["contentVersion"],
        m1.content_version.as_str()
    );
    assert_eq!(result["notice"], Value::Null);

    // The catalog changes while the page is open: the page follows and says so.
    let second = veilrank_server::demo::catalog(15_000);
    write_jsonl(&path, &second);
    let reloaded: Value = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}/admin/catalogs/demo/reload"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("reload");
        r.json().await.expect("reload JSON")
    });
    assert_eq!(reloaded["status"], "replaced", "{reloaded}");
    let m2 = manifest(&rt);
    assert_ne!(m1.content_version, m2.content_version);
    let result = page.recommend();
    assert_eq!(shown(&result), plaintext_top10(&m2, &second), "{result}");
    assert_eq!(
        result["report"]["contentVersion"],
        m2.content_version.as_str()
    );
    let notice = result["notice"]
        .as_str()
        .expect("a notice that the catalog changed");
    assert!(notice.contains("updated"), "{notice}");

    // The server goes away: the page says so in words, with the error's code.
    rt.block_on(server.shutdown()).expect("shutdown");
    let result = page.recommend();
    assert_eq!(result["error"]["code"], "network", "{result}");
    let text = result["error"]["text"].as_str().expect("error text");
    assert!(text.contains("cannot be reached"), "{text}");
    assert_eq!(
        result["items"].as_array().map(Vec::len),
        Some(10),
        "the last ranking stays"
    );
}
