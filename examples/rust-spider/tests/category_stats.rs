//! The `category_stats` Rust spider against the demo shop served on loopback: through
//! the custom binary (`shop-trawl crawl`, `check`, `parse`, `serve`), and through the
//! crawler function's path (the runner with the registry, on SQLite and file stores).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use trawl_core::model::Dispatch;
use trawl_core::runner::{RunResult, RunnerConfig};
use trawl_core::ControlConfig;
use trawl_demo::{serve, Site, SiteServer, SiteSpec};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shop with several categories of several listing pages each (and one category
/// with a short last page).
async fn shop() -> (Arc<Site>, SiteServer) {
    let spec = SiteSpec {
        categories: 4,
        listing_page_size: 7,
        ..SiteSpec::new(90, 11)
    };
    let site = Arc::new(Site::generate(spec));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (site, server)
}

/// The items the spider must yield, from the site's ground truth, by category.
fn expected(site: &Site) -> Vec<Value> {
    site.categories()
        .map(|c| {
            let prices: Vec<u64> = site
                .products()
                .filter(|p| p.category == c.number)
                .map(|p| (p.price * 100.0).round() as u64)
                .collect();
            let n = prices.len() as u64;
            let total: u64 = prices.iter().sum();
            json!({
                "category": c.number,
                "name": c.name,
                "pages": c.pages,
                "products": n,
                "total_cents": total,
                "min_cents": prices.iter().min(),
                "max_cents": prices.iter().max(),
                "mean_cents": total.checked_div(n),
            })
        })
        .collect()
}

fn by_category(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_key(|i| i["category"].as_u64());
    items
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Runs `shop-trawl args…` from the workspace root, off the async runtime.
async fn shop_trawl(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_shop-trawl"))
            .args(&args)
            .current_dir(workspace())
            .env_remove("TRAWL_SPIDERS")
            .env_remove("TRAWL_URL")
            .env("TRAWL_LOG_LEVEL", "WARN")
            .output()
            .expect("run shop-trawl")
    })
    .await
    .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_yields_one_exact_item_per_category_without_product_pages() {
    let (site, server) = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("items.jsonl");
    let site_arg = format!("site={}", server.base_url());
    let o = shop_trawl(&[
        "crawl",
        "category_stats",
        "-a",
        &site_arg,
        "-o",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let items = by_category(jsonl(&std::fs::read_to_string(&out).unwrap()));
    assert_eq!(items, expected(&site));
    assert!(
        items.iter().all(|i| i["pages"].as_u64() > Some(1)),
        "{items:?}"
    );
    // The index and every listing page, each once: page URLs were computed from
    // "Page 1 of N", and no product page was fetched.
    let pages: usize = site.categories().map(|c| c.pages).sum();
    let summary = format!(": {} pages, {} items", pages + 1, items.len());
    assert!(stderr(&o).contains(&summary), "{summary} in {}", stderr(&o));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_and_parse_accept_the_rust_spider_and_specs_still_work() {
    let o = shop_trawl(&["check", "category_stats", "-a", "site=http://127.0.0.1:9"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("\"category_stats\" is valid: a Rust spider"),
        "{stdout}"
    );

    // The factory's argument checks reach the user, before any request.
    let o = shop_trawl(&["check", "category_stats", "-a", "sit=x"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown spider argument 'sit'"),
        "{}",
        stderr(&o)
    );
    let o = shop_trawl(&["crawl", "category_stats", "-a", "site=ftp://x/"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not an http(s) URL"), "{}", stderr(&o));

    // An unknown name lists the spiders of the binary with the specs.
    let o = shop_trawl(&["crawl", "nope"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Rust spiders of this binary: category_stats"),
        "{}",
        stderr(&o)
    );
    let o = shop_trawl(&["check", "examples/shop.toml"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // parse: one listing page through a named callback of the Rust spider.
    let (site, server) = shop().await;
    let first = server.url("/category/2.html");
    let site_arg = format!("site={}", server.base_url());
    let o = shop_trawl(&[
        "parse",
        &first,
        "--spec",
        "category_stats",
        "-c",
        "listing",
        "-a",
        &site_arg,
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let pages = site.categories().nth(1).unwrap().pages;
    let urls: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (2..=pages)
        .map(|k| server.url(&format!("/category/2/{k}.html")))
        .collect();
    assert_eq!(urls, want);
    server.shutdown().await;
}

/// A `shop-trawl serve` child on a free port; killed on drop.
struct Server {
    child: std::process::Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    use std::io::BufRead;
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shop-trawl"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data.path())
        .current_dir(workspace())
        .env("TRAWL_POLL_INTERVAL", "0.2")
        .env("TRAWL_ALLOWED_DESTINATIONS", "127.0.0.0/8")
        .env_remove("SCRAPYD_USERNAME")
        .env_remove("SCRAPYD_PASSWORD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start shop-trawl serve");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    Server {
        child,
        url: format!("http://{addr}"),
        _data: data,
    }
}

async fn api(req: reqwest::RequestBuilder) -> Value {
    let text = req.send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_jobs_of_the_rust_spider() {
    let (site, shop) = shop().await;
    let server = tokio::task::spawn_blocking(start_server).await.unwrap();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}/{p}", server.url);

    // The project exists once a version is deployed (a spec bundle here).
    let o = shop_trawl(&[
        "deploy",
        "examples/shop.toml",
        "--project",
        "demo",
        "--url",
        &server.url,
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed = api(http.get(url("listspiders.json?project=demo"))).await;
    assert_eq!(listed["spiders"], json!(["category_stats", "shop"]));

    // Arguments are checked when the job is queued; an unknown project stays unknown.
    let bad = api(http.post(url("schedule.json")).form(&[
        ("project", "demo"),
        ("spider", "category_stats"),
        ("site", "ftp://x"),
    ]))
    .await;
    assert_eq!(bad["status"], "error", "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("not an http(s) URL"),
        "{bad}"
    );
    let bad = api(http
        .post(url("schedule.json"))
        .form(&[("project", "other"), ("spider", "category_stats")]))
    .await;
    assert_eq!(bad["message"], "project 'other' not found", "{bad}");

    let base = shop.base_url();
    let queued = api(http.post(url("schedule.json")).form(&[
        ("project", "demo"),
        ("spider", "category_stats"),
        ("site", base.as_str()),
    ]))
    .await;
    let job = queued["jobid"]
        .as_str()
        .unwrap_or_else(|| panic!("{queued}"))
        .to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = api(http.get(url(&format!("status.json?job={job}")))).await;
        if st["currstate"] == "finished" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job not finished: {st}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jobs = api(http.get(url("listjobs.json?project=demo"))).await;
    let finished = &jobs["finished"][0];
    assert_eq!(finished["id"], job.as_str());
    assert_eq!(finished["finish_reason"], "finished", "{finished}");
    let items = http
        .get(url(&format!("items/demo/category_stats/{job}.jl")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(by_category(jsonl(&items)), expected(&site));
    drop(server);
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crawler_function_path_runs_the_registered_spider() {
    let (site, shop) = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        spiders: trawl_example_rust_spider::registry(),
        // The demo shop is on loopback.
        allowed_destinations: vec!["127.0.0.0/8".parse().unwrap()],
        ..ControlConfig::default()
    };
    let (control, _clock, dispatched) = trawl_embedded::testkit::control(dir.path(), cfg);
    let spec = std::fs::read(workspace().join("examples/shop.toml")).unwrap();
    control.add_version("demo", "1", spec.into()).await.unwrap();
    let req = trawl_core::control::ScheduleRequest {
        project: "demo".into(),
        spider: "category_stats".into(),
        args: [("site".to_string(), shop.base_url())].into(),
        ..Default::default()
    };
    let id = control.schedule(req).await.unwrap();

    // The poller starts it and hands it to the crawl queue's consumer, as on AWS.
    control.poll_once("poller").await.unwrap();
    assert_eq!(dispatched.0.lock().as_slice(), std::slice::from_ref(&id));
    let job = control.status(&id, None).await.unwrap().unwrap();
    let dispatch = Dispatch::of(&job);
    let cfg = RunnerConfig {
        heartbeat_every: Duration::from_millis(200),
        ..RunnerConfig::default()
    };
    let outcome = match control
        .claim_and_run(&dispatch, "crawler:1", &cfg)
        .await
        .unwrap()
    {
        RunResult::Ran(o) => o,
        skipped => panic!("not run: {skipped:?}"),
    };
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.finish_reason.to_string(), "finished");
    assert_eq!(outcome.items_scraped(), site.categories().len() as u64);
    let items = control
        .job_items("demo", "category_stats", &id)
        .await
        .unwrap()
        .expect("the job's items");
    let items = jsonl(std::str::from_utf8(&items).unwrap());
    assert_eq!(by_category(items), expected(&site));

    // A redelivered message runs nothing.
    let again = control
        .claim_and_run(&dispatch, "crawler:2", &cfg)
        .await
        .unwrap();
    assert!(matches!(again, RunResult::Skipped(_)), "{again:?}");
    shop.shutdown().await;
}
