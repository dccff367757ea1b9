//! Crawls that outlive their process: `trawl crawl -s JOBDIR=…` killed with SIGKILL and
//! paused with SIGINT, then resumed, writes every item exactly once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::{demo_site, workspace};

/// The checkpoint's item count, once `state.json` exists and parses.
fn checkpointed_items(jobdir: &Path) -> Option<u64> {
    let raw = std::fs::read(jobdir.join("state.json")).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    v["items"].as_u64()
}

/// Waits until a checkpoint holds more than `above` items.
fn wait_for_checkpoint(jobdir: &Path, above: u64) -> u64 {
    let t0 = Instant::now();
    loop {
        if let Some(n) = checkpointed_items(jobdir).filter(|n| *n > above) {
            return n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint past {above} items"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn crawl(site: &str, dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["crawl", "examples/shop.toml", "-a"])
        .arg(format!("site={site}"))
        .args([
            "-s",
            "CHECKPOINT_INTERVAL=0.2",
            "-s",
            "CONCURRENT_REQUESTS=4",
        ])
        .args(["-s", "DOWNLOAD_DELAY=0.01", "-s"])
        .arg(format!("JOBDIR={}", dir.join("job").display()))
        .arg("-o")
        .arg(dir.join("items.json"))
        .arg("-o")
        .arg(dir.join("items.csv"))
        .current_dir(workspace())
        .env("TRAWL_LOG_LEVEL", "WARN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start trawl crawl")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobdir_crawl_killed_twice_and_paused_once_writes_every_item_once() {
    let (site, server) = demo_site(600).await;
    let url = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        // Two SIGKILLs, each after a new checkpoint with more items.
        for _ in 0..2 {
            let mut child = crawl(&url, &d);
            seen = wait_for_checkpoint(&d.join("job"), seen + 20);
            signal(&child, "KILL");
            child.wait().unwrap();
        }
        // A pause: SIGINT stops gracefully and saves the state.
        let child = crawl(&url, &d);
        wait_for_checkpoint(&d.join("job"), seen + 20);
        signal(&child, "INT");
        let paused = child.wait_with_output().unwrap();
        let paused_err = String::from_utf8_lossy(&paused.stderr).into_owned();
        assert!(paused.status.success(), "{paused_err}");
        assert!(
            paused_err.lines().any(|l| l.starts_with("shutdown:")),
            "{paused_err}"
        );
        // The last run resumes and finishes.
        let last = crawl(&url, &d).wait_with_output().unwrap();
        String::from_utf8_lossy(&last.stderr).into_owned()
    })
    .await
    .unwrap();
    assert!(
        outcome.lines().any(|l| l.starts_with("finished:")),
        "{outcome}"
    );

    let expected: BTreeSet<u64> = site.products().map(|p| p.id as u64).collect();
    assert_eq!(expected.len(), site.expected_item_count());
    let items: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("items.json")).unwrap())
            .expect("one valid JSON array");
    let ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), expected.len(), "every product exactly once");
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), expected);

    let csv = std::fs::read_to_string(dir.path().join("items.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let id_col = header.iter().position(|h| h == "id").unwrap();
    let csv_ids: Vec<u64> = rows
        .records()
        .map(|r| r.unwrap()[id_col].parse().unwrap())
        .collect();
    assert_eq!(csv_ids.len(), expected.len(), "one header, every row once");
    assert_eq!(csv_ids.into_iter().collect::<BTreeSet<_>>(), expected);
    server.shutdown().await;
}

/// A `trawl serve` child on a free port over `data`; its URL.
fn trawl_serve(data: &Path) -> (Child, String) {
    support::spawn_serve(support::serve_command(data))
}

/// `trawl ARGS --url URL`, which must succeed; its stdout.
fn client(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .args(["--url", url])
        .current_dir(workspace())
        .output()
        .expect("run trawl");
    assert!(
        out.status.success(),
        "trawl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_job_survives_two_kills_of_the_server() {
    let (site, server) = demo_site(600).await;
    let site_arg = format!("site={}", server.base_url());
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_path_buf();
    let (jobs, items) = tokio::task::spawn_blocking(move || {
        let jobdir = d.join("checkpoints/shop/shop/job1");
        let (mut srv, mut url) = trawl_serve(&d);
        client(
            &url,
            &["deploy", "examples/shop.toml", "-p", "shop", "-v", "v1"],
        );
        #[rustfmt::skip]
        let id = client(&url, &[
            "schedule", "shop", "shop", "--jobid", "job1", "-a", &site_arg,
            "-s", "CHECKPOINT_INTERVAL=0.2", "-s", "CONCURRENT_REQUESTS=4",
            "-s", "DOWNLOAD_DELAY=0.01",
        ]);
        assert_eq!(id.trim(), "job1");
        let mut seen = 0;
        for _ in 0..2 {
            seen = wait_for_checkpoint(&jobdir, seen + 20);
            signal(&srv, "KILL");
            srv.wait().unwrap();
            (srv, url) = trawl_serve(&d);
            // The job is still running (resumed as a new attempt), not failed.
            assert_eq!(client(&url, &["status", "job1"]).trim(), "running");
        }
        let t0 = Instant::now();
        while client(&url, &["status", "job1"]).trim() != "finished" {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "job1 never finished"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let jobs: Value = serde_json::from_str(&client(&url, &["jobs", "--json"])).unwrap();
        let items = std::fs::read_to_string(d.join("items/shop/shop/job1.jl")).unwrap();
        signal(&srv, "TERM");
        srv.wait().unwrap();
        (jobs, items)
    })
    .await
    .unwrap();
    let job = &jobs["finished"][0];
    assert_eq!(job["id"], "job1", "{jobs}");
    assert_eq!(job["finish_reason"], "finished", "{jobs}");
    let ids: Vec<u64> = items
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let expected: BTreeSet<u64> = site.products().map(|p| p.id as u64).collect();
    assert_eq!(ids.len(), expected.len(), "every product exactly once");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(
        !data
            .path()
            .join("checkpoints/shop/shop/job1/state.json")
            .exists(),
        "a finished job's checkpoint is deleted"
    );
    server.shutdown().await;
}

/// The deepest checkpoint item count over a partitioned job's partitions.
fn partition_items(job_ck: &Path) -> u64 {
    let Ok(dirs) = std::fs::read_dir(job_ck.join("p")) else {
        return 0;
    };
    dirs.filter_map(|d| checkpointed_items(&d.ok()?.path()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_four_crawlers_survives_a_kill_of_the_server() {
    // Four shops on four loopback addresses: four partitions. The server is killed
    // once the partitions' checkpoints hold 40 items; the restarted server takes the
    // partitions over once their leases lapse.
    let mut sites = Vec::new();
    for ip in 3..7 {
        let site = std::sync::Arc::new(trawl_demo::Site::generate(trawl_demo::SiteSpec::new(
            150, 5,
        )));
        let server = trawl_demo::serve(site.clone(), format!("127.0.0.{ip}:0").parse().unwrap())
            .await
            .unwrap();
        sites.push((site, server));
    }
    let bases: Vec<String> = sites.iter().map(|(_, s)| s.base_url()).collect();
    let data = tempfile::tempdir().unwrap();
    let spec = data.path().join("shops.toml");
    std::fs::write(
        &spec,
        r#"
name = "shops"
start_urls = ["{sites}/index.html"]
[args]
sites = ["http://127.0.0.1:1"]
[[rules]]
allow = ['/category/\d+']
[[rules]]
allow = ['/p/\d+\.html$', '/item/\d+$']
callback = "product"
follow = true
[callbacks.product.fields]
id = { css = "div.product::attr(data-id)", type = "int", required = true }
host = { value = "{url}", process = [{ replace = ['^http://([^/]+)/.*$', "$1"] }] }
"#,
    )
    .unwrap();
    let d = data.path().to_path_buf();
    let sites_arg = format!("sites={}", bases.join(","));
    let (jobs, items) = tokio::task::spawn_blocking(move || {
        let job_ck = d.join("checkpoints/shops/shops/job4");
        let (mut srv, mut url) = trawl_serve(&d);
        client(
            &url,
            &["deploy", spec.to_str().unwrap(), "-p", "shops", "-v", "v1"],
        );
        #[rustfmt::skip]
        client(&url, &[
            "schedule", "shops", "shops", "--jobid", "job4", "-a", &sites_arg,
            "-s", "CONCURRENT_CRAWLERS=4", "-s", "FRONTIER_LEASE_TTL=2",
            "-s", "CHECKPOINT_INTERVAL=0.2", "-s", "CONCURRENT_REQUESTS=2",
            "-s", "DOWNLOAD_DELAY=0.01",
        ]);
        let t0 = Instant::now();
        while partition_items(&job_ck) < 40 {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no partition checkpoints"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(&srv, "KILL");
        srv.wait().unwrap();
        (srv, url) = trawl_serve(&d);
        assert_eq!(client(&url, &["status", "job4"]).trim(), "running");
        let t0 = Instant::now();
        while client(&url, &["status", "job4"]).trim() != "finished" {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "job4 never finished"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let jobs: Value = serde_json::from_str(&client(&url, &["jobs", "--json"])).unwrap();
        let items = std::fs::read_to_string(d.join("items/shops/shops/job4.jl")).unwrap();
        signal(&srv, "TERM");
        srv.wait().unwrap();
        (jobs, items)
    })
    .await
    .unwrap();
    let job = &jobs["finished"][0];
    assert_eq!(job["finish_reason"], "finished", "{jobs}");
    let urls: Vec<String> = items
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!("{} {}", v["host"].as_str().unwrap(), v["id"])
        })
        .collect();
    let expected: BTreeSet<String> = sites
        .iter()
        .flat_map(|(site, server)| {
            let host = server.base_url().trim_start_matches("http://").to_string();
            site.products()
                .map(move |p| format!("{host} {}", p.id))
                .collect::<Vec<_>>()
        })
        .collect();
    let got: BTreeSet<String> = urls.iter().cloned().collect();
    assert_eq!(urls.len(), got.len(), "an item written twice");
    let missing: Vec<&String> = expected.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing, e.g. {:?}; {} unexpected, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)],
        extra.len(),
        &extra[..extra.len().min(5)]
    );
    for (_, server) in sites {
        server.shutdown().await;
    }
}
