//! The real `trawl` binary's client commands (deploy, schedule, jobs, logs, cancel…).
//!
//! Tests that need no server run always; the ones against a real `trawl serve` are
//! ignored until that command exists (see `start_server`).

use std::process::{Command, Output};

mod support;

use support::workspace;

/// Runs `trawl args…` from the workspace root with no client settings inherited.
fn trawl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .current_dir(workspace())
        .env_remove("TRAWL_URL")
        .env_remove("TRAWL_USERNAME")
        .env_remove("TRAWL_PASSWORD")
        .output()
        .expect("run trawl")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A loopback URL where nothing listens.
fn closed_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn refused_connection_names_the_url_and_suggests_serve() {
    let url = closed_url();
    for args in [
        vec!["jobs"],
        vec!["projects"],
        vec!["status", "j1"],
        vec!["schedule", "p", "s"],
        vec!["cancel", "p", "j1", "--force"],
        vec!["logs", "p", "s", "j1"],
        vec!["schedules", "list"],
        vec!["deploy", "examples/shop.toml", "--project", "p"],
    ] {
        let mut all = args.clone();
        all.extend(["--url", &url]);
        let o = trawl(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with("error: cannot connect to "), "{err}");
        assert!(err.contains(&url), "{err}");
        assert!(err.contains("trawl serve"), "{err}");
    }
}

#[test]
fn the_url_comes_from_the_environment() {
    let url = closed_url();
    let o = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["projects"])
        .env("TRAWL_URL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&url), "{}", stderr(&o));
}

#[test]
fn deploy_refuses_invalid_specs_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace().join("examples/shop.toml"),
        dir.path().join("shop.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "name = \"broken\"\nstart_urls = [\"http://x/\"]\nstart_callback = \"nope\"\n",
    )
    .unwrap();
    // The URL is closed: exit 2 with the spec error proves nothing was sent.
    let o = trawl(&[
        "deploy",
        dir.path().to_str().unwrap(),
        "--project",
        "p",
        "--url",
        &closed_url(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("broken.toml: "), "{err}");
    assert!(!err.contains("shop.toml"), "{err}");
    assert!(err.contains("nothing deployed"), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = trawl(&[
        "schedule",
        "p",
        "s",
        "-a",
        "novalue",
        "--url",
        &closed_url(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("expected NAME=VALUE"), "{}", stderr(&o));
    let o = trawl(&["schedule", "p", "s", "--cron", "@daily", "--jobid", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = trawl(&["schedules", "add", "p", "s"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--cron is required: {}",
        stderr(&o)
    );
}

/// A `trawl serve` child on a free port with its own data directory; killed on drop.
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

/// Starts `trawl serve --port 0` and reads its URL from the `Trawl listening on` line.
fn start_server(auth: Option<(&str, &str)>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = support::serve_command(data.path());
    if let Some((u, p)) = auth {
        cmd.env("SCRAPYD_USERNAME", u).env("SCRAPYD_PASSWORD", p);
    }
    let (child, url) = support::spawn_serve(cmd);
    Server {
        child,
        url,
        _data: data,
    }
}

/// `trawl args… --url server` (off the async runtime).
async fn client(server: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--url".into(), server.into()]);
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        trawl(&refs)
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts success and gives stdout.
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

async fn wait_state(url: &str, job: &str, want: &str) {
    for _ in 0..300 {
        let state = ok(&client(url, &["status", job, "--project", "shop"]).await);
        if state.trim() == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {job} never became {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_schedule_follow_list_and_cancel_against_trawl_serve() {
    use std::sync::Arc;
    use trawl_demo::{Site, SiteSpec};
    let site = trawl_demo::serve(
        Arc::new(Site::generate(SiteSpec::new(50, 1))),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let site_arg = format!("site={}", site.base_url());
    let server = start_server(None);
    let url = server.url.as_str();

    // Deploy, then the thin listings.
    let out = ok(&client(
        url,
        &["deploy", "examples/shop.toml", "-p", "shop", "-v", "v1"],
    )
    .await);
    assert_eq!(out.trim(), "Deployed shop version v1: 1 spider");
    assert_eq!(ok(&client(url, &["projects"]).await).trim(), "shop");
    assert_eq!(ok(&client(url, &["versions", "shop"]).await).trim(), "v1");
    assert_eq!(ok(&client(url, &["spiders", "shop"]).await).trim(), "shop");

    // A status: error answer.
    let o = client(url, &["spiders", "nope"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));

    // Schedule with a chosen job id, follow the log to the end.
    let job = ok(&client(
        url,
        &[
            "schedule", "shop", "shop", "-a", &site_arg, "--jobid", "job1",
        ],
    )
    .await);
    assert_eq!(job.trim(), "job1");
    let followed = ok(&client(url, &["logs", "shop", "shop", "job1", "-f"]).await);
    assert!(!followed.is_empty());
    assert_eq!(
        ok(&client(url, &["status", "job1"]).await).trim(),
        "finished"
    );
    // Following ends with the whole log: a plain read prints the same bytes.
    let full = ok(&client(url, &["logs", "shop", "shop", "job1"]).await);
    assert_eq!(full, followed);

    // The jobs table shows how it ended.
    let table = ok(&client(url, &["jobs", "shop"]).await);
    let row = table
        .lines()
        .find(|l| l.starts_with("job1"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("finished"), "{table}");
    assert!(row.split_whitespace().any(|c| c == "50"), "{table}");
    let raw: serde_json::Value =
        serde_json::from_str(&ok(&client(url, &["jobs", "--json"]).await)).unwrap();
    assert_eq!(raw["finished"][0]["id"], "job1");

    // A slow job (one request a second): cancel it while running, forcefully.
    let slow = ok(&client(
        url,
        &[
            "schedule",
            "shop",
            "shop",
            "-a",
            &site_arg,
            "-s",
            "DOWNLOAD_DELAY=1",
        ],
    )
    .await);
    let slow = slow.trim();
    assert_eq!(slow.len(), 32, "{slow}");
    wait_state(url, slow, "running").await;
    // Follow it while it runs (ranged reads), then cancel: -f stops by itself and has
    // printed exactly the whole log.
    let follow = {
        let (url, slow) = (url.to_string(), slow.to_string());
        tokio::spawn(async move { client(&url, &["logs", "shop", "shop", &slow, "-f"]).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(!follow.is_finished());
    let prev = ok(&client(url, &["cancel", "shop", slow, "--force"]).await);
    assert_eq!(prev.trim(), "running");
    let followed = ok(&follow.await.unwrap());
    wait_state(url, slow, "finished").await;
    let full = ok(&client(url, &["logs", "shop", "shop", slow]).await);
    assert_eq!(followed, full);
    assert!(full.lines().count() > 3, "{full}");

    assert_eq!(
        ok(&client(url, &["status", "no-such-job"]).await).trim(),
        "unknown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_against_trawl_serve() {
    let server = start_server(None);
    let url = server.url.as_str();
    ok(&client(url, &["deploy", "examples", "-p", "shop"]).await);
    let id = ok(&client(
        url,
        &[
            "schedule",
            "shop",
            "shop",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Paris",
            "--disabled",
            "-a",
            "site=http://127.0.0.1:9",
        ],
    )
    .await);
    let id = id.split_whitespace().next().unwrap().to_string();
    let id2 = ok(&client(
        url,
        &[
            "schedules",
            "add",
            "shop",
            "shop",
            "--cron",
            "*/5 * * * *",
            "--overlap",
            "allow",
        ],
    )
    .await);
    let id2 = id2.split_whitespace().next().unwrap().to_string();
    let list = ok(&client(url, &["schedules", "list", "shop"]).await);
    assert_eq!(list.lines().count(), 3, "{list}");
    let row = list.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(
        row.contains("Europe/Paris") && row.contains(" no "),
        "{list}"
    );

    ok(&client(url, &["schedules", "enable", &id]).await);
    let list = ok(&client(url, &["schedules", "list"]).await);
    let row = list.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(row.contains(" yes "), "{list}");
    ok(&client(url, &["schedules", "disable", &id2]).await);
    ok(&client(url, &["schedules", "rm", &id]).await);
    let list = ok(&client(url, &["schedules", "list", "--json"]).await);
    let raw: serde_json::Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = raw["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id2.as_str()]);
    assert_eq!(raw["schedules"][0]["enabled"], false);

    let o = client(
        url,
        &["schedules", "add", "shop", "shop", "--cron", "not cron"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_against_trawl_serve() {
    let server = start_server(Some(("admin", "s3cret")));
    let url = server.url.as_str();
    let o = client(url, &["projects"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--username"), "{}", stderr(&o));
    let o = client(
        url,
        &["projects", "--username", "admin", "--password", "nope"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    ok(&client(
        url,
        &["projects", "--username", "admin", "--password", "s3cret"],
    )
    .await);
}
