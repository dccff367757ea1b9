//! `cancel.json` on running crawls, end to end: a real local node (SQLite, files,
//! crawls as tasks) behind the router on loopback, crawling a loopback site whose three
//! product pages each take 8 s to answer. A single cancel stops gracefully (Scrapy's
//! first signal: no new requests, the in-flight ones finish and keep their items); a
//! second cancel, or `signal=KILL`, stops at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use trawl_core::runner::RunnerConfig;
use trawl_core::ControlConfig;
use trawl_embedded::local::{LocalConfig, LocalNode};
use trawl_http::{router, ApiOptions};

/// How long each product page takes to answer.
const PAGE_DELAY: Duration = Duration::from_secs(8);

const SPEC: &str = r#"
name = "slow"
start_urls = ["{site}/p/1.html", "{site}/p/2.html", "{site}/p/3.html"]
start_callback = "product"

[args]
site = "http://127.0.0.1:1"

[callbacks.product.fields]
title = { css = "h1::text", required = true }

[settings]
DOWNLOAD_TIMEOUT = 60
"#;

/// A site whose product pages answer after [`PAGE_DELAY`].
async fn slow_site() -> String {
    async fn product(Path(file): Path<String>) -> axum::response::Html<String> {
        tokio::time::sleep(PAGE_DELAY).await;
        let n = file.trim_end_matches(".html");
        axum::response::Html(format!("<html><body><h1>Product {n}</h1></body></html>"))
    }
    let app = Router::new().route("/p/{file}", get(product));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
    }

    async fn state(&self, job: &str) -> Value {
        self.get(&format!("/status.json?job={job}")).await["currstate"].clone()
    }

    async fn wait_state(&self, job: &str, state: &str, limit: Duration) {
        let start = Instant::now();
        while self.state(job).await != state {
            assert!(
                start.elapsed() < limit,
                "job {job} not {state} after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The finished entry of `job` in `listjobs.json`.
    async fn finished(&self, job: &str) -> Value {
        let v = self.get("/listjobs.json?project=shop").await;
        let list = v["finished"].as_array().unwrap();
        list.iter().find(|j| j["id"] == job).unwrap().clone()
    }

    async fn item_lines(&self, job: &str) -> usize {
        let res = self
            .http
            .get(format!("{}/items/shop/slow/{job}.jl", self.url))
            .send()
            .await
            .unwrap();
        res.text().await.unwrap().lines().count()
    }
}

/// A local node (heartbeats every 200 ms, so a crawl also learns of each cancel from
/// its heartbeat) behind the API on loopback, with the slow spider deployed.
async fn start() -> (Api, LocalNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = LocalNode::start(LocalConfig {
        data_dir: dir.path().to_path_buf(),
        control: ControlConfig {
            max_proc: 8,
            // The slow site is on loopback.
            allowed_destinations: vec!["127.0.0.0/8".parse().unwrap()],
            ..ControlConfig::default()
        },
        poll_interval: Duration::from_secs(5),
        runner: RunnerConfig {
            heartbeat_every: Duration::from_millis(200),
            ..RunnerConfig::default()
        },
    })
    .await
    .unwrap();
    let app = router(Arc::clone(node.control()), ApiOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let api = Api {
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
    };
    let v = api
        .post(
            "/addversion.json",
            &[("project", "shop"), ("version", "1"), ("egg", SPEC)],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    (api, node, dir)
}

/// Schedules `job` on the slow site and waits until it has run for 2 s.
async fn run_two_seconds(api: &Api, site: &str, job: &str) {
    let v = api
        .post(
            "/schedule.json",
            &[
                ("project", "shop"),
                ("spider", "slow"),
                ("jobid", job),
                ("site", site),
            ],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    api.wait_state(job, "running", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
}

async fn cancel(api: &Api, job: &str, signal: Option<&str>) -> Value {
    let mut form = vec![("project", "shop"), ("job", job)];
    if let Some(s) = signal {
        form.push(("signal", s));
    }
    api.post("/cancel.json", &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cancel_is_graceful_and_keeps_in_flight_items() {
    let site = slow_site().await;
    let (api, node, _dir) = start().await;
    // The default signal (INT) and TERM both stop gracefully.
    for (job, signal) in [("plain", None), ("term", Some("TERM"))] {
        run_two_seconds(&api, &site, job).await;
        let v = cancel(&api, job, signal).await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["prevstate"], "running");
    }
    for job in ["plain", "term"] {
        // Long after a heartbeat has seen the cancel too, the crawl still waits for
        // its three pages.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(api.state(job).await, "running", "{job}: stopped too early");
        api.wait_state(job, "finished", Duration::from_secs(20))
            .await;
        let f = api.finished(job).await;
        assert_eq!(f["finish_reason"], "cancelled", "{job}");
        assert_eq!(f["items_scraped"], 3, "{job}: 3 of 3 items");
        assert_eq!(api.item_lines(job).await, 3, "{job}: the items are kept");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cancel_or_kill_stops_at_once() {
    let site = slow_site().await;
    let (api, node, _dir) = start().await;
    run_two_seconds(&api, &site, "twice").await;
    run_two_seconds(&api, &site, "kill").await;

    let sent = Instant::now();
    assert_eq!(cancel(&api, "twice", None).await["prevstate"], "running");
    assert_eq!(cancel(&api, "twice", None).await["prevstate"], "running");
    assert_eq!(
        cancel(&api, "kill", Some("KILL")).await["prevstate"],
        "running"
    );
    for job in ["twice", "kill"] {
        api.wait_state(job, "finished", Duration::from_secs(20))
            .await;
        let f = api.finished(job).await;
        assert_eq!(f["finish_reason"], "cancelled", "{job}");
        assert_eq!(f["items_scraped"], 0, "{job}: in-flight pages abandoned");
    }
    assert!(
        sent.elapsed() < Duration::from_secs(4),
        "stopped at once, not after the pages answered: {:?}",
        sent.elapsed()
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_signals_are_refused() {
    let site = slow_site().await;
    let (api, node, _dir) = start().await;
    run_two_seconds(&api, &site, "sig").await;
    for bad in ["HUP", "STOP", "1", "FOO"] {
        let v = cancel(&api, "sig", Some(bad)).await;
        assert_eq!(v["status"], "error", "{bad}: {v}");
        assert_eq!(
            v["message"],
            format!(
                "signal is invalid: \"{bad}\" is not a signal Trawl applies: INT or TERM \
                 (2, 15) stop gracefully, KILL (9) stops at once"
            )
        );
    }
    assert_eq!(
        api.state("sig").await,
        "running",
        "a refused signal does nothing"
    );
    // Numbers and SIG-prefixed names are accepted: 9 stops at once.
    assert_eq!(cancel(&api, "sig", Some("9")).await["prevstate"], "running");
    api.wait_state("sig", "finished", Duration::from_secs(5))
        .await;
    assert_eq!(api.finished("sig").await["items_scraped"], 0);
    node.shutdown().await;
}
