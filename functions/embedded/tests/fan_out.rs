//! One job across many crawlers in `trawl serve`'s node: a broad crawl over 16 hosts on
//! loopback (127.0.0.2 … 127.0.0.17, links across them, a per-host DOWNLOAD_DELAY),
//! crawled with CONCURRENT_CRAWLERS 1, 4 and 8 to the exact same items, once each;
//! a batch delivered twice, a cancel, and CLOSESPIDER_ITEMCOUNT across crawlers.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{item_urls, wait_finished};

use bytes::Bytes;
use trawl_core::control::ScheduleRequest;
use trawl_core::frontier::InboxBatch;
use trawl_core::model::{CancelLevel, JobState};
use trawl_core::runner::RunnerConfig;
use trawl_core::ControlConfig;
use trawl_embedded::local::{LocalConfig, LocalNode};

/// Hosts of the test web.
const HOSTS: usize = 16;
/// Pages per host.
const PAGES: usize = 12;

const SPEC: &str = trawl_demo::WEB_SPEC;

fn install_job_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(trawl_core::joblog::JobLogLayer)
        .try_init();
}

fn config(dir: &Path) -> LocalConfig {
    install_job_logs();
    LocalConfig {
        data_dir: dir.to_path_buf(),
        control: ControlConfig {
            max_proc: 4,
            allowed_destinations: vec!["127.0.0.0/8".parse().unwrap()],
            ..ControlConfig::default()
        },
        poll_interval: Duration::from_secs(5),
        runner: RunnerConfig {
            heartbeat_every: Duration::from_millis(200),
            ..RunnerConfig::default()
        },
    }
}

async fn web() -> Vec<String> {
    trawl_demo::start_web(HOSTS, PAGES, Duration::ZERO)
        .await
        .unwrap()
}

fn every_url(bases: &[String]) -> BTreeSet<String> {
    trawl_demo::page_urls(bases, PAGES)
}

fn request(bases: &[String], id: &str, crawlers: usize, extra: &[(&str, &str)]) -> ScheduleRequest {
    let mut r = ScheduleRequest {
        project: "p".into(),
        spider: "web".into(),
        job_id: Some(id.into()),
        ..Default::default()
    };
    r.args.insert("start".into(), bases[0].clone());
    for (k, v) in [
        ("CONCURRENT_CRAWLERS", crawlers.to_string()),
        ("DOWNLOAD_DELAY", "0.01".to_string()),
        ("RANDOMIZE_DOWNLOAD_DELAY", "false".to_string()),
        ("FRONTIER_LEASE_TTL", "2".to_string()),
    ] {
        r.settings.insert(k.into(), v);
    }
    for (k, v) in extra {
        r.settings.insert(k.to_string(), v.to_string());
    }
    r
}

async fn node() -> (tempfile::TempDir, LocalNode) {
    let dir = tempfile::tempdir().unwrap();
    let node = LocalNode::start(config(dir.path())).await.unwrap();
    node.control()
        .add_version("p", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    (dir, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_items_once_with_1_4_and_8_crawlers() {
    let bases = web().await;
    let (_dir, node) = node().await;
    let c = node.control().clone();
    for crawlers in [1, 4, 8] {
        let id = format!("web-{crawlers}");
        c.schedule(request(&bases, &id, crawlers, &[]))
            .await
            .unwrap();
        let job = wait_finished(&c, &id).await;
        let outcome = job.outcome.clone().unwrap();
        assert_eq!(outcome.finish_reason, "finished", "{crawlers}: {outcome:?}");
        assert_eq!(
            item_urls(&c, &id).await,
            every_url(&bases),
            "{crawlers} crawler(s)"
        );
        assert_eq!(outcome.items_scraped(), (HOSTS * PAGES) as u64);
        if crawlers > 1 {
            assert_eq!(outcome.stats["frontier/partitions"], HOSTS);
            assert_eq!(outcome.stats["frontier/crawlers"], crawlers);
            // One log, each partition crawl's lines tagged with its crawler.
            let log = c.job_log("p", "web", &id).await.unwrap().unwrap();
            let log = String::from_utf8_lossy(&log);
            let tagged: BTreeSet<&str> = log
                .lines()
                .filter(|l| l.contains("Spider opened"))
                .filter_map(|l| l.rsplit_once(" crawler=").map(|(_, c)| c))
                .collect();
            assert!(tagged.len() > 1, "{log}");
            assert!(
                tagged.iter().all(|c| c.starts_with(&format!("{id}-c"))),
                "{tagged:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delivered_twice_adds_nothing() {
    let bases = web().await;
    let (_dir, node) = node().await;
    let c = node.control().clone();
    // Before the job starts, its first host's inbox already holds the start page and
    // a page of another host, in two batches, as a redelivery would leave them.
    let host0 = bases[0].trim_start_matches("http://").to_string();
    // As a start request: `dont_filter`, which the inbox's duplicate filter overrides.
    let start = trawl_engine::Request::parse(&format!("{}/p/0", bases[0]))
        .unwrap()
        .callback("page")
        .dont_filter(true);
    for id in ["again-1", "again-2"] {
        let batch = InboxBatch {
            partition: host0.clone(),
            id: id.into(),
            requests: vec![start.clone(), start.clone()],
        };
        assert!(c
            .stores()
            .frontier
            .put_batch("web-dup", &batch)
            .await
            .unwrap());
        assert!(!c
            .stores()
            .frontier
            .put_batch("web-dup", &batch)
            .await
            .unwrap());
    }
    c.schedule(request(&bases, "web-dup", 4, &[]))
        .await
        .unwrap();
    let job = wait_finished(&c, "web-dup").await;
    assert_eq!(job.outcome.unwrap().finish_reason, "finished");
    assert_eq!(item_urls(&c, "web-dup").await, every_url(&bases));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_itemcount_counts_every_crawler() {
    let bases = web().await;
    let (_dir, node) = node().await;
    let c = node.control().clone();
    let slow = [("CLOSESPIDER_ITEMCOUNT", "40"), ("DOWNLOAD_DELAY", "0.1")];
    c.schedule(request(&bases, "web-40", 4, &slow))
        .await
        .unwrap();
    let job = wait_finished(&c, "web-40").await;
    let outcome = job.outcome.unwrap();
    assert_eq!(outcome.finish_reason, "closespider_itemcount");
    let got = item_urls(&c, "web-40").await;
    assert!(
        got.len() >= 40 && got.len() < HOSTS * PAGES,
        "{} items",
        got.len()
    );
    assert!(got.is_subset(&every_url(&bases)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_timeout_runs_from_the_jobs_start() {
    let bases = web().await;
    let (_dir, node) = node().await;
    let c = node.control().clone();
    // 16 hosts at 0.3 s per page take about 4 s with 4 crawlers: the job stops at 1.5 s.
    let slow = [("CLOSESPIDER_TIMEOUT", "1.5"), ("DOWNLOAD_DELAY", "0.3")];
    c.schedule(request(&bases, "web-t", 4, &slow))
        .await
        .unwrap();
    let job = wait_finished(&c, "web-t").await;
    let outcome = job.outcome.unwrap();
    assert_eq!(outcome.finish_reason, "closespider_timeout");
    let got = item_urls(&c, "web-t").await;
    assert!(
        !got.is_empty() && got.len() < HOSTS * PAGES,
        "{} items",
        got.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_every_crawler() {
    let bases = web().await;
    let (_dir, node) = node().await;
    let c = node.control().clone();
    c.schedule(request(
        &bases,
        "web-cancel",
        4,
        &[("DOWNLOAD_DELAY", "0.2")],
    ))
    .await
    .unwrap();
    // Let the crawl spread over several hosts first (at 0.3 s a page per host and four
    // crawlers, the whole crawl takes about 15 s).
    for _ in 0..200 {
        match c.status("web-cancel", None).await.unwrap() {
            Some(j) if j.state == JobState::Running => break,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.cancel("p", "web-cancel", CancelLevel::Graceful)
        .await
        .unwrap();
    let job = wait_finished(&c, "web-cancel").await;
    assert_eq!(job.outcome.unwrap().finish_reason, "cancelled");
    let got = item_urls(&c, "web-cancel").await;
    assert!(got.len() < HOSTS * PAGES, "{} items", got.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_pauses_every_crawler_and_the_next_start_finishes_the_job() {
    let bases = web().await;
    let dir = tempfile::tempdir().unwrap();
    let node = LocalNode::start(config(dir.path())).await.unwrap();
    let c = node.control().clone();
    c.add_version("p", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    c.schedule(request(
        &bases,
        "web-pause",
        4,
        &[("DOWNLOAD_DELAY", "0.2")],
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t0 = std::time::Instant::now();
    node.shutdown().await;
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "shutdown waited for the job"
    );
    drop(c);
    let node = LocalNode::start(config(dir.path())).await.unwrap();
    let c = node.control().clone();
    let job = wait_finished(&c, "web-pause").await;
    assert_eq!(job.outcome.unwrap().finish_reason, "finished");
    assert_eq!(item_urls(&c, "web-pause").await, every_url(&bases));
}
