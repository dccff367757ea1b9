//! The local node end to end: real crawls of the demo site over loopback, real SQLite
//! and files; scheduling, cancelling in each state, and surviving a crash.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use trawl_core::control::ScheduleRequest;
use trawl_core::model::{CancelLevel::Graceful, Job, JobState};
use trawl_core::runner::RunnerConfig;
use trawl_core::{Control, ControlConfig};
use trawl_demo::{serve, Site, SiteServer, SiteSpec};
use trawl_embedded::local::{LocalConfig, LocalNode};

const SPEC: &str = include_str!("../../../examples/shop.toml");

/// Job logs need the job-log layer in the global subscriber, as `trawl serve` installs it.
fn install_job_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(trawl_core::joblog::JobLogLayer)
        .try_init();
}

fn config(dir: &Path, max_proc: usize) -> LocalConfig {
    install_job_logs();
    LocalConfig {
        data_dir: dir.to_path_buf(),
        control: ControlConfig {
            max_proc,
            // The test sites are on loopback.
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

async fn site(products: usize) -> (Arc<Site>, SiteServer) {
    let site = Arc::new(Site::generate(SiteSpec::new(products, 7)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (site, server)
}

fn request(site: &SiteServer, id: &str, slow: bool) -> ScheduleRequest {
    let mut r = ScheduleRequest {
        project: "demo".into(),
        spider: "shop".into(),
        job_id: Some(id.into()),
        ..Default::default()
    };
    r.args.insert("site".into(), site.base_url());
    if slow {
        r.settings.insert("DOWNLOAD_DELAY".into(), "0.05".into());
        r.settings
            .insert("CONCURRENT_REQUESTS_PER_DOMAIN".into(), "1".into());
        r.settings
            .insert("RANDOMIZE_DOWNLOAD_DELAY".into(), "false".into());
    }
    r
}

async fn wait_for(control: &Control, id: &str, state: JobState) -> Job {
    for _ in 0..600 {
        if let Some(j) = control.status(id, None).await.unwrap() {
            if j.state == state {
                return j;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never reached {state:?}");
}

async fn wait_items(control: &Control, id: &str, at_least: usize) {
    for _ in 0..600 {
        let n = control
            .job_items("demo", "shop", id)
            .await
            .unwrap()
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        if n >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never wrote {at_least} items");
}

fn lines(b: &Option<Bytes>) -> usize {
    b.as_ref()
        .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_job_runs_and_keeps_its_log_and_items() {
    let dir = tempfile::tempdir().unwrap();
    let (site, server) = site(60).await;
    let node = LocalNode::start(config(dir.path(), 4)).await.unwrap();
    let c = node.control().clone();
    assert_eq!(
        c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
            .await
            .unwrap(),
        1
    );
    let id = c.schedule(request(&server, "job-1", false)).await.unwrap();
    let job = wait_for(&c, &id, JobState::Finished).await;
    let outcome = job.outcome.clone().unwrap();
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(outcome.items_scraped(), site.expected_item_count() as u64);
    let items = c.job_items("demo", "shop", &id).await.unwrap();
    assert_eq!(lines(&items), site.expected_item_count());
    let log = c.job_log("demo", "shop", &id).await.unwrap().unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains("Spider opened"), "{log}");
    assert!(log.contains("Spider closed"), "{log}");
    // Scrapy's log counts, for the lines the job's log holds.
    let info_lines = log.lines().filter(|l| l.contains("] INFO: ")).count() as u64;
    assert!(info_lines >= 2);
    assert_eq!(outcome.stats["log_count/INFO"], info_lines);
    assert_eq!(job.runner, Some(std::process::id().to_string()));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_in_each_state() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, server) = site(200).await;
    let node = LocalNode::start(config(dir.path(), 1)).await.unwrap();
    let c = node.control().clone();
    c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    c.schedule(request(&server, "slow", true)).await.unwrap();
    c.schedule(request(&server, "queued", false)).await.unwrap();
    wait_for(&c, "slow", JobState::Running).await;

    // Pending: removed at once.
    assert_eq!(
        c.cancel("demo", "queued", Graceful).await.unwrap(),
        Some(JobState::Pending)
    );
    assert!(c.status("queued", None).await.unwrap().is_none());
    // Unknown job: null; unknown project: Scrapyd's error.
    assert_eq!(c.cancel("demo", "nope", Graceful).await.unwrap(), None);
    assert_eq!(
        c.cancel("other", "slow", Graceful)
            .await
            .unwrap_err()
            .to_string(),
        "project 'other' not found"
    );

    // Running: a graceful stop once some items exist; items and log are kept.
    wait_items(&c, "slow", 3).await;
    assert_eq!(
        c.cancel("demo", "slow", Graceful).await.unwrap(),
        Some(JobState::Running)
    );
    let job = wait_for(&c, "slow", JobState::Finished).await;
    let outcome = job.outcome.unwrap();
    assert_eq!(outcome.finish_reason, "cancelled");
    let items = c.job_items("demo", "shop", "slow").await.unwrap();
    assert!(outcome.items_scraped() >= 3);
    assert_eq!(lines(&items) as u64, outcome.items_scraped());
    let log = c.job_log("demo", "shop", "slow").await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&log).contains("Cancelled"));

    // Finished: nothing to cancel.
    assert_eq!(c.cancel("demo", "slow", Graceful).await.unwrap(), None);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cancel_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, server) = site(200).await;
    let node = LocalNode::start(config(dir.path(), 1)).await.unwrap();
    let c = node.control().clone();
    c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    // A crawl whose downloads take long: a graceful stop would wait for them.
    let mut r = request(&server, "hung", false);
    r.settings.insert("DOWNLOAD_DELAY".into(), "30".into());
    r.settings
        .insert("RANDOMIZE_DOWNLOAD_DELAY".into(), "false".into());
    c.schedule(r).await.unwrap();
    wait_for(&c, "hung", JobState::Running).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cancel("demo", "hung", Graceful).await.unwrap();
    c.cancel("demo", "hung", Graceful).await.unwrap();
    let job = tokio::time::timeout(
        Duration::from_secs(10),
        wait_for(&c, "hung", JobState::Finished),
    )
    .await
    .expect("the second cancel stops the job at once");
    assert_eq!(job.outcome.unwrap().finish_reason, "cancelled");
    node.shutdown().await;
}

#[test]
fn a_restart_keeps_pending_jobs_and_fails_interrupted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let site_rt = tokio::runtime::Runtime::new().unwrap();
    let (_site, server) = site_rt.block_on(site(200));

    // First process: one slow job running, one waiting; then it dies.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let node = LocalNode::start(config(dir.path(), 1)).await.unwrap();
        let c = node.control().clone();
        c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
            .await
            .unwrap();
        c.schedule(request(&server, "interrupted", true))
            .await
            .unwrap();
        c.schedule(request(&server, "waiting", false))
            .await
            .unwrap();
        wait_items(&c, "interrupted", 2).await;
        std::mem::forget(node); // no shutdown: the runtime's end kills everything
    });
    rt.shutdown_timeout(Duration::from_millis(100));

    // Second process on the same data directory.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let node = LocalNode::start(config(dir.path(), 1)).await.unwrap();
        let c = node.control().clone();
        let job = c.status("interrupted", None).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Finished);
        assert_eq!(job.outcome.unwrap().finish_reason, "failed");
        let items = c.job_items("demo", "shop", "interrupted").await.unwrap();
        assert!(lines(&items) >= 2, "partial items are kept");
        let log = c.job_log("demo", "shop", "interrupted").await.unwrap();
        assert!(log.is_some_and(|l| !l.is_empty()), "the log is kept");
        let waiting = wait_for(&c, "waiting", JobState::Finished).await;
        assert_eq!(waiting.outcome.unwrap().finish_reason, "finished");
        node.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_spider_emits_only_new_items() {
    let dir = tempfile::tempdir().unwrap();
    let (site, server) = site(40).await;
    let node = LocalNode::start(config(dir.path(), 2)).await.unwrap();
    let c = node.control().clone();
    let spec = SPEC.replacen("name = \"shop\"", "name = \"shop\"\nincremental = true", 1);
    c.add_version("demo", "1", Bytes::from(spec)).await.unwrap();
    c.schedule(request(&server, "first", false)).await.unwrap();
    let first = wait_for(&c, "first", JobState::Finished)
        .await
        .outcome
        .unwrap();
    assert_eq!(first.items_scraped(), site.expected_item_count() as u64);
    c.schedule(request(&server, "second", false)).await.unwrap();
    let second = wait_for(&c, "second", JobState::Finished)
        .await
        .outcome
        .unwrap();
    assert_eq!(second.finish_reason, "finished");
    assert_eq!(second.items_scraped(), 0, "nothing new the second time");
    assert_eq!(
        second.stats["item_dropped_count"],
        site.expected_item_count() as u64
    );
    assert_eq!(
        lines(&c.job_items("demo", "shop", "second").await.unwrap()),
        0
    );
    node.shutdown().await;
}

/// A served job reaches only public addresses: the loopback site, a `file:` start URL
/// and the server's own API are refused unless the operator allows their range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_jobs_cannot_reach_the_servers_network() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, server) = site(20).await;
    let mut cfg = config(dir.path(), 4);
    cfg.control.allowed_destinations.clear();
    let node = LocalNode::start(cfg).await.unwrap();
    let c = node.control().clone();
    c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    let targets = [
        ("loopback", server.base_url()),
        (
            "numeric",
            server.base_url().replace("127.0.0.1", "2130706433"),
        ),
        ("file", "file:///etc".to_string()),
        ("metadata", "http://169.254.169.254".to_string()),
    ];
    for (id, base) in &targets {
        let mut r = request(&server, id, false);
        r.args.insert("site".into(), base.clone());
        c.schedule(r).await.unwrap();
    }
    for (id, base) in &targets {
        let job = wait_for(&c, id, JobState::Finished).await;
        let outcome = job.outcome.unwrap();
        assert_eq!(outcome.items_scraped(), 0, "{base} was fetched");
        assert_eq!(outcome.stats.get("response_received_count"), None, "{base}");
        let log = c.job_log("demo", "shop", id).await.unwrap().unwrap();
        assert!(
            String::from_utf8_lossy(&log).contains("destination refused"),
            "{base}: {}",
            String::from_utf8_lossy(&log)
        );
    }
    node.shutdown().await;
}
