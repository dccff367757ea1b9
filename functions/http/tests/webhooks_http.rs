//! Webhooks end to end: a real local node (SQLite, files, crawls as tasks) behind the
//! router on loopback, crawling a one-page loopback site, delivering to receivers on
//! loopback (allowed by `webhook_allow_private`, as a test must).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use parking_lot::Mutex;
use serde_json::Value;
use trawl_core::events::{sign, EventsConfig};
use trawl_core::runner::RunnerConfig;
use trawl_core::ControlConfig;
use trawl_embedded::local::{LocalConfig, LocalNode};
use trawl_http::{router, ApiOptions};

const SPEC: &str = r#"
name = "one"
start_urls = ["{site}/p/1.html"]
start_callback = "product"

[args]
site = "http://127.0.0.1:1"

[callbacks.product.fields]
title = { css = "h1::text", required = true }
"#;

/// A site with one product page.
async fn site() -> String {
    let app = Router::new().route(
        "/p/1.html",
        get(|| async { Html("<html><body><h1>Product 1</h1></body></html>") }),
    );
    serve(app).await
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// One POST a receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_string()
    }
}

/// A webhook receiver on loopback: records every POST and answers the next status of
/// its plan (200 once the plan is used up).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<StatusCode>>>,
}

impl Receiver {
    async fn start(plan: &[u16]) -> (Self, String) {
        let r = Receiver::default();
        r.plan
            .lock()
            .extend(plan.iter().map(|s| StatusCode::from_u16(*s).unwrap()));
        async fn hook(
            State(r): State<Receiver>,
            headers: HeaderMap,
            body: Bytes,
        ) -> impl IntoResponse {
            r.got.lock().push(Received { headers, body });
            let status = r.plan.lock().pop_front().unwrap_or(StatusCode::OK);
            (status, [("location", "http://127.0.0.1:9/elsewhere")])
        }
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        let url = serve(app).await;
        (r, format!("{url}/hook"))
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().clone()
    }

    /// Waits until a received body satisfies `done`.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "receiver never got {what}; got {:?}",
                got.iter().map(Received::json).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn has_type(got: &[Received], kind: &str) -> bool {
    got.iter().any(|r| r.json()["type"] == kind)
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

    async fn add_webhook(&self, url: &str, events: &str) -> Value {
        let v = self
            .post(
                "/addwebhook.json",
                &[("project", "shop"), ("url", url), ("events", events)],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        v
    }

    async fn schedule(&self, site: &str) -> String {
        let v = self
            .post(
                "/schedule.json",
                &[("project", "shop"), ("spider", "one"), ("site", site)],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        v["jobid"].as_str().unwrap().to_string()
    }
}

/// A local node behind the API on loopback, the spider deployed; retries after 0.3 s.
async fn start(allow_private: bool) -> (Api, LocalNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = LocalNode::start(LocalConfig {
        data_dir: dir.path().to_path_buf(),
        control: ControlConfig {
            allowed_destinations: vec!["127.0.0.0/8".parse().unwrap()],
            events: EventsConfig {
                allow_private,
                retry_base: Duration::from_millis(300),
                timeout: Duration::from_secs(5),
                public_url: Some("https://trawl.example".into()),
                ..EventsConfig::default()
            },
            ..ControlConfig::default()
        },
        poll_interval: Duration::from_secs(5),
        runner: RunnerConfig::default(),
    })
    .await
    .unwrap();
    let app = router(Arc::clone(node.control()), ApiOptions::default());
    let api = Api {
        url: serve(app).await,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_life_is_delivered_signed_and_in_order() {
    let (api, node, _dir) = start(true).await;
    let (receiver, hook) = Receiver::start(&[]).await;
    let added = api.add_webhook(&hook, "job.*").await;
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let site = site().await;
    let job = api.schedule(&site).await;
    let got = receiver
        .wait_for("job.finished", |g| has_type(g, "job.finished"))
        .await;
    let kinds: Vec<String> = got
        .iter()
        .map(|r| r.json())
        .filter(|b| b["job"]["id"] == job.as_str())
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["job.pending", "job.running", "job.finished"]);
    let now = chrono::Utc::now().timestamp();
    for r in &got {
        let body = r.json();
        assert!(
            sign::verify(&secret, &r.header("trawl-signature"), &r.body, now, 300),
            "signature of {body}"
        );
        assert!(!sign::verify(
            "whsec_wrong",
            &r.header("trawl-signature"),
            &r.body,
            now,
            300
        ));
        assert_eq!(r.header("trawl-event-id"), body["id"].as_str().unwrap());
        assert_eq!(r.header("trawl-event-type"), body["type"].as_str().unwrap());
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(body["version"], 1);
    }
    let finished = got.last().unwrap().json();
    assert_eq!(finished["project"], "shop");
    assert_eq!(finished["job"]["finish_reason"], "finished");
    assert_eq!(finished["job"]["items"], 1);
    assert_eq!(finished["job"]["state"], "finished");
    assert_eq!(
        finished["job"]["log_url"],
        format!("https://trawl.example/logs/shop/one/{job}.log")
    );
    assert_eq!(
        finished["job"]["items_url"],
        format!("https://trawl.example/items/shop/one/{job}.jl")
    );
    let list = api.get("/listwebhooks.json?project=shop").await;
    let listed = &list["webhooks"][0];
    assert_eq!(listed["url"], hook);
    assert_eq!(listed["events"][0], "job.pending");
    assert!(listed.get("secret").is_none(), "never the secret: {listed}");
    assert!(!list.to_string().contains(&secret[10..]));
    assert_eq!(listed["secret_hint"], format!("{}…", &secret[..10]));
    let deliveries = listed["deliveries"].as_array().unwrap();
    assert!(deliveries.len() >= 3);
    assert!(deliveries
        .iter()
        .all(|d| d["ok"] == true && d["status"] == 200 && d["final"] == true));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_the_event_once_more_after_the_retries() {
    let (api, node, _dir) = start(true).await;
    let (receiver, hook) = Receiver::start(&[500, 503]).await;
    let added = api.add_webhook(&hook, "job.finished").await;
    let id = added["id"].as_str().unwrap().to_string();
    let site = site().await;
    api.schedule(&site).await;
    let got = receiver.wait_for("three attempts", |g| g.len() >= 3).await;
    // No fourth attempt: the third was taken.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_later = receiver.got();
    assert_eq!(got_later.len(), 3, "delivered once after two failures");
    let ids: Vec<String> = got.iter().map(|r| r.header("trawl-event-id")).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one event, one idempotency key: {ids:?}"
    );
    assert!(got.iter().all(|r| r.json()["type"] == "job.finished"));
    let list = api.get("/listwebhooks.json?project=shop").await;
    let hooks = list["webhooks"].as_array().unwrap();
    let listed = hooks.iter().find(|h| h["id"] == id.as_str()).unwrap();
    let attempts: Vec<(u64, u64, bool)> = listed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap(),
                d["status"].as_u64().unwrap(),
                d["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [(3, 200, true), (2, 503, false), (1, 500, false)]);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_and_redirects_are_refused() {
    let (api, node, _dir) = start(false).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.1.2.3/",
    ] {
        let v = api
            .post("/addwebhook.json", &[("project", "shop"), ("url", url)])
            .await;
        assert_eq!(v["status"], "error", "{url}: {v}");
        assert!(
            v["message"].as_str().unwrap().starts_with("url is invalid"),
            "{v}"
        );
    }
    // A name resolving to loopback passes registration; its deliveries are refused
    // when they resolve (as a DNS-rebound name would be).
    let (receiver, hook) = Receiver::start(&[]).await;
    let by_name = hook.replace("127.0.0.1", "localhost");
    api.add_webhook(&by_name, "job.pending").await;
    api.schedule("http://127.0.0.1:1").await;
    let t0 = Instant::now();
    let error = loop {
        let list = api.get("/listwebhooks.json?project=shop").await;
        if let Some(d) = list["webhooks"][0]["deliveries"]
            .as_array()
            .and_then(|d| d.first())
        {
            break d["error"].as_str().unwrap().to_string();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no delivery attempt"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("loopback"), "{error}");
    assert!(receiver.got().is_empty(), "nothing reached the receiver");
    node.shutdown().await;

    // With private addresses allowed, a redirect is still not followed.
    let (api, node, _dir) = start(true).await;
    let (redirector, hook) = Receiver::start(&[302]).await;
    let added = api.add_webhook(&hook, "job.pending").await;
    api.schedule("http://127.0.0.1:1").await;
    redirector
        .wait_for("the first attempt", |g| !g.is_empty())
        .await;
    let t0 = Instant::now();
    loop {
        let list = api.get("/listwebhooks.json?project=shop").await;
        let listed = &list["webhooks"][0];
        assert_eq!(listed["id"], added["id"]);
        if let Some(d) = listed["deliveries"].as_array().and_then(|d| d.last()) {
            assert_eq!(d["status"], 302);
            assert_eq!(d["ok"], false);
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no delivery recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_webhook_parameters_are_refused() {
    let (api, node, _dir) = start(true).await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("project", "shop")], "'url' parameter is required"),
        (
            &[("project", "shop"), ("url", "ftp://x/")],
            "url is invalid",
        ),
        (
            &[("project", "shop"), ("url", "http://u:p@x.example/")],
            "url is invalid",
        ),
        (
            &[
                ("project", "shop"),
                ("url", "http://x.example/"),
                ("events", "job.exploded"),
            ],
            "events is invalid",
        ),
        (
            &[
                ("project", "shop"),
                ("url", "http://x.example/"),
                ("secret", "short"),
            ],
            "secret is invalid",
        ),
        (
            &[("project", "nope"), ("url", "http://x.example/")],
            "project 'nope' not found",
        ),
        (
            &[("project", "../etc"), ("url", "http://x.example/")],
            "project '../etc' not found",
        ),
    ];
    for (form, message) in cases {
        let v = api.post("/addwebhook.json", form).await;
        assert_eq!(v["status"], "error", "{form:?}: {v}");
        assert!(
            v["message"].as_str().unwrap().starts_with(message),
            "{form:?}: {v}"
        );
    }
    let v = api
        .post(
            "/delwebhook.json",
            &[("project", "shop"), ("id", "wh_missing")],
        )
        .await;
    assert_eq!(v["status"], "error", "{v}");
    let long = format!("http://x.example/{}", "a".repeat(5000));
    let v = api
        .post("/addwebhook.json", &[("project", "shop"), ("url", &long)])
        .await;
    assert_eq!(v["status"], "error");
    let mut ids = Vec::new();
    for _ in 0..trawl_core::events::MAX_WEBHOOKS_PER_PROJECT {
        ids.push(api.add_webhook("http://x.example/", "*").await["id"].clone());
    }
    let v = api
        .post(
            "/addwebhook.json",
            &[("project", "shop"), ("url", "http://x.example/")],
        )
        .await;
    assert_eq!(v["status"], "error", "the cap holds: {v}");
    let v = api
        .post(
            "/delwebhook.json",
            &[("project", "shop"), ("id", ids[0].as_str().unwrap())],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    let list = api.get("/listwebhooks.json?project=shop").await;
    assert_eq!(
        list["webhooks"].as_array().unwrap().len(),
        trawl_core::events::MAX_WEBHOOKS_PER_PROJECT - 1
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_webhooks_get_their_job_only_and_go_with_it() {
    let (api, node, _dir) = start(true).await;
    let (receiver, hook) = Receiver::start(&[]).await;
    let site = site().await;
    let v = api
        .post(
            "/schedule.json",
            &[
                ("project", "shop"),
                ("spider", "one"),
                ("site", &site),
                ("notify", &hook),
                ("notify_events", "job.finished"),
            ],
        )
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    let job = v["jobid"].as_str().unwrap().to_string();
    let notify = &v["notify"][0];
    let secret = notify["secret"].as_str().unwrap();
    assert_eq!(notify["events"], serde_json::json!(["job.finished"]));
    let other = api.schedule(&site).await;
    let got = receiver
        .wait_for("job.finished", |g| has_type(g, "job.finished"))
        .await;
    let first = &got[0];
    assert_eq!(first.json()["job"]["id"], job.as_str());
    let sig = first.header("trawl-signature");
    let now = chrono::Utc::now().timestamp();
    assert!(sign::verify(secret, &sig, &first.body, now, 300));
    // The other job finishes too; its events never reach this job's receiver, and the
    // notify webhook is gone once its job's last event was delivered.
    let start = Instant::now();
    loop {
        let jobs = api.get("/listjobs.json?project=shop").await;
        let done = jobs["finished"].as_array().unwrap().len() == 2;
        let hooks = api.get("/listwebhooks.json?project=shop").await;
        if done && hooks["webhooks"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{jobs} {hooks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids: Vec<Value> = receiver
        .got()
        .iter()
        .map(|r| r.json()["job"]["id"].clone())
        .collect();
    assert!(!ids.contains(&Value::from(other.as_str())), "{ids:?}");
    // Refused like addwebhook.json, and no job is queued then.
    for (url, events, message) in [
        ("ftp://x/", "job.*", "notify is invalid"),
        (
            "http://x.example/",
            "job.exploded",
            "notify_events is invalid",
        ),
    ] {
        let v = api
            .post(
                "/schedule.json",
                &[
                    ("project", "shop"),
                    ("spider", "one"),
                    ("notify", url),
                    ("notify_events", events),
                ],
            )
            .await;
        assert_eq!(v["status"], "error", "{v}");
        assert!(v["message"].as_str().unwrap().starts_with(message), "{v}");
    }
    let s = api
        .post(
            "/addschedule.json",
            &[
                ("project", "shop"),
                ("spider", "one"),
                ("cron", "0 3 * * *"),
                ("notify", &hook),
            ],
        )
        .await;
    assert_eq!(s["status"], "ok", "{s}");
    let hooks = api.get("/listwebhooks.json?project=shop").await;
    assert_eq!(hooks["webhooks"][0]["schedule"], s["id"], "{hooks}");
    let id = s["id"].as_str().unwrap();
    let d = api.post("/delschedule.json", &[("id", id)]).await;
    assert_eq!(d["status"], "ok", "{d}");
    let hooks = api.get("/listwebhooks.json?project=shop").await;
    assert!(hooks["webhooks"].as_array().unwrap().is_empty(), "{hooks}");
    let jobs = api.get("/listjobs.json?project=shop").await;
    assert_eq!(jobs["pending"].as_array().unwrap().len(), 0, "{jobs}");
    node.shutdown().await;
}
