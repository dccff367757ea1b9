//! Webhooks survive a crash: `trawl serve` is killed with SIGKILL after a job finished
//! and while its delivery is in flight; the restarted server delivers it again, with the
//! same idempotency key. Also `trawl webhooks add|list|del` against the server.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::Value;
use trawl_core::events::sign;

mod support;

use support::{demo_site, serve_command, spawn_serve, workspace};

/// A receiver whose first delivery never gets an answer (the server dies meanwhile);
/// later ones get 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    hung_once: Arc<AtomicBool>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> &'static str {
    r.got.lock().push((headers, body));
    if !r.hung_once.swap(true, Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    "ok"
}

async fn wait<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn trawl(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run trawl");
    assert!(
        out.status.success(),
        "trawl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_cut_by_kill_9_arrives_after_the_restart() {
    let (_site, shop) = demo_site(20).await;
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    let start = || {
        let mut cmd = serve_command(data.path());
        cmd.env("TRAWL_WEBHOOK_ALLOW_PRIVATE", "true");
        spawn_serve(cmd)
    };
    let (mut server, url) = start();
    trawl(&[
        "deploy",
        "examples/shop.toml",
        "--project",
        "demo",
        "--url",
        &url,
    ]);
    let added = trawl(&[
        "webhooks",
        "add",
        "demo",
        &hook_url,
        "--events",
        "job.finished",
        "--url",
        &url,
    ]);
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("Secret (shown only now): "))
        .expect("the secret is printed")
        .to_string();
    let listed = trawl(&["webhooks", "list", "demo", "--url", &url]);
    assert!(
        listed.contains(&hook_url) && listed.contains("job.finished"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "never the secret: {listed}");

    let http = reqwest::Client::new();
    let site = format!("site={}", shop.base_url());
    let answer = http
        .post(format!("{url}/schedule.json"))
        .body(format!("project=demo&spider=shop&{site}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    let job = v["jobid"].as_str().unwrap().to_string();

    // The job finished and its delivery is in flight: kill the server.
    let first_id = wait("the first delivery", || {
        receiver
            .got
            .lock()
            .first()
            .map(|(h, _)| h["trawl-event-id"].clone())
    })
    .await;
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, url) = start();
    let (headers, body) = wait("the delivery after the restart", || {
        receiver.got.lock().get(1).cloned()
    })
    .await;
    assert_eq!(
        headers["trawl-event-id"], first_id,
        "the same idempotency key"
    );
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "job.finished");
    assert_eq!(event["job"]["id"], job.as_str());
    assert_eq!(event["job"]["items"], 20, "{event}");
    let signature = headers["trawl-signature"].to_str().unwrap();
    assert!(sign::verify(
        &secret,
        signature,
        &body,
        chrono::Utc::now().timestamp(),
        300
    ));

    // The delivery is recorded; then the webhook goes.
    let listed = trawl(&["webhooks", "list", "demo", "--url", &url]);
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(listed.contains("ok 200"), "{listed}");
    trawl(&["webhooks", "del", "demo", &id, "--url", &url]);
    let listed = trawl(&["webhooks", "list", "demo", "--url", &url, "--json"]);
    let v: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v["webhooks"], serde_json::json!([]));
    server.kill().unwrap();
    server.wait().unwrap();
}
