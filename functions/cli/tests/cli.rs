//! The real `trawl` binary: check, crawl, parse and demo, against a demo site served on
//! loopback by the test process.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod support;

use support::{demo_site, workspace};

/// Runs `trawl args…` from the workspace root, off the async runtime.
async fn trawl(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args(&args)
            .current_dir(workspace())
            .env_remove("TRAWL_SPIDERS")
            .env("TRAWL_LOG_LEVEL", "WARN")
            .output()
            .expect("run trawl")
    })
    .await
    .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn check_accepts_the_example_spec() {
    let out = trawl(&["check", "examples/shop.toml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"shop\" is valid"), "{stdout}");
    assert!(stdout.contains("2 rule(s)"), "{stdout}");
}

#[tokio::test]
async fn check_rejects_an_invalid_spec_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.toml");
    std::fs::write(
        &spec,
        r#"name = "bad"
start_urls = ["http://127.0.0.1:1/"]
start_callback = "page"
[callbacks.page.fields]
price = { css = ".price::text", re = '[0-9' }
"#,
    )
    .unwrap();
    let out = trawl(&["check", spec.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("callbacks.page.fields.price.re"), "{err}");
    assert!(err.contains("invalid regex"), "{err}");
}

#[tokio::test]
async fn crawl_with_an_unknown_spider_lists_the_available_specs() {
    let out = trawl(&["crawl", "no-such-spider"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("\"no-such-spider\" not found"), "{err}");
    assert!(err.contains("shop"), "lists examples/shop: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_writes_every_item_to_jsonl_and_csv() {
    let (site, server) = demo_site(150).await;
    let dir = tempfile::tempdir().unwrap();
    let jl = dir.path().join("out.jsonl");
    let csv = dir.path().join("out.csv");
    let site_arg = format!("site={}", server.base_url());
    let out = trawl(&[
        "crawl",
        "examples/shop.toml",
        "-a",
        &site_arg,
        "-O",
        jl.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let items = jsonl(&jl);
    assert_eq!(items.len(), site.expected_item_count());
    let mut ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), site.expected_item_count(), "no duplicates");

    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("id,title,price,description,url\r\n"),
        "{}",
        &text[..80]
    );
    assert_eq!(
        text.matches("id,title,price,description,url").count(),
        1,
        "one header"
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut csv_ids: Vec<u64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    csv_ids.sort_unstable();
    assert_eq!(csv_ids, ids, "the CSV holds the same items");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_itemcount_stops_early() {
    let (site, server) = demo_site(300).await;
    let dir = tempfile::tempdir().unwrap();
    let jl = dir.path().join("few.jsonl");
    let site_arg = format!("site={}", server.base_url());
    let out = trawl(&[
        "crawl",
        "examples/shop.toml",
        "-a",
        &site_arg,
        "-s",
        "CLOSESPIDER_ITEMCOUNT=5",
        "-s",
        "CONCURRENT_REQUESTS=2",
        "-O",
        jl.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let n = jsonl(&jl).len();
    assert!(n >= 5, "at least the limit, got {n}");
    assert!(n < site.expected_item_count(), "stopped early, got {n}");
    assert!(
        stderr(&out).contains("closespider_itemcount"),
        "{}",
        stderr(&out)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_prints_the_items_of_one_page() {
    let (site, server) = demo_site(20).await;
    let product = site.product(7).unwrap();
    let site_arg = format!("site={}", server.base_url());
    let out = trawl(&[
        "parse",
        &server.url(&product.url),
        "--spec",
        "examples/shop.toml",
        "--callback",
        "product",
        "-a",
        &site_arg,
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["items"].as_array().unwrap().len(), 1);
    assert_eq!(report["items"][0]["title"], product.title);
    assert_eq!(report["items"][0]["id"], 7);
    assert_eq!(report["items"][0]["price"].as_f64(), Some(product.price));
    assert_eq!(report["status"], 200);
    server.shutdown().await;
}

#[tokio::test]
async fn demo_crawls_the_bundled_site() {
    let dir = tempfile::tempdir().unwrap();
    let jl = dir.path().join("items.jsonl");
    let out = trawl(&["demo", "--products", "100", "-O", jl.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(jsonl(&jl).len(), 100);
}

/// An unauthenticated server on a non-loopback address is how Scrapyd servers get
/// hijacked: `trawl serve` refuses it unless told.
#[tokio::test]
async fn serve_refuses_a_public_address_without_credentials() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = trawl(&[
        "serve",
        "--bind",
        "0.0.0.0",
        "--port",
        "0",
        "--data-dir",
        dir,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refusing to listen on 0.0.0.0"), "{err}");
    assert!(err.contains("--allow-unauthenticated"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_failing_at_crawl_time_is_logged_with_its_field_and_url() {
    let (site, server) = demo_site(40).await;
    let dir = tempfile::tempdir().unwrap();
    // Look-behind is valid for parsel's (Python's) regexes, not for Rust's: the field
    // compiles, then fails on every product page.
    let spec = std::fs::read_to_string(workspace().join("examples/shop.toml"))
        .unwrap()
        .replace(
            "[callbacks.product.fields]\n",
            "[callbacks.product.fields]\nbad = { xpath = \"//h1[re:test(., '(?<=W)idget')]/text()\" }\n",
        );
    let spec_path = dir.path().join("shop.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let jl = dir.path().join("out.jsonl");
    let site_arg = format!("site={}", server.base_url());
    let out = trawl(&[
        "crawl",
        spec_path.to_str().unwrap(),
        "-a",
        &site_arg,
        "-O",
        jl.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The items are kept, without the failing field.
    let items = jsonl(&jl);
    assert_eq!(items.len(), site.expected_item_count());
    assert!(items
        .iter()
        .all(|i| i.get("bad").is_none() && i["title"].is_string()));
    let err = stderr(&out);
    let first: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("selector failed; the value is left out"))
        .collect();
    assert_eq!(first.len(), 1, "logged once per field: {err}");
    assert!(
        first[0].contains("callbacks.product.fields.bad"),
        "{}",
        first[0]
    );
    assert!(
        first[0].contains(&server.base_url()),
        "the URL: {}",
        first[0]
    );
    assert!(first[0].contains("look-around"), "the reason: {}", first[0]);
    // Then again with the count at the 10th failure (40 products: not at the 100th).
    let again: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("selector failed again"))
        .collect();
    assert_eq!(again.len(), 1, "{err}");
    assert!(again[0].contains("failures=10"), "{}", again[0]);
    server.shutdown().await;
}
