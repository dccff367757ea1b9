//! One job across crawlers of their own, as on AWS, in one process over SQLite and
//! files: the crawl queue is a channel, every message a "function invocation" with a
//! deadline of a few seconds, and the poller runs when a crawler kicks it (and on a
//! tick). The job's first crawler seeds the frontier and hands over; the poller asks
//! crawlers to join while partitions wait; crawlers hand partitions back at their
//! deadline; one crawler proves the crawl over and closes the job. The same 16-host
//! loopback web as `fan_out.rs`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{item_urls, wait_finished};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use trawl_core::control::{FanOut, ScheduleRequest};
use trawl_core::model::{CancelLevel, Dispatch, Job};
use trawl_core::ports::{Dispatcher, Kicker, SystemClock};
use trawl_core::runner::RunnerConfig;
use trawl_core::{Control, ControlConfig};
use trawl_embedded::{FileBlobStore, SqliteStore};

const HOSTS: usize = 16;
const PAGES: usize = 12;

const SPEC: &str = trawl_demo::WEB_SPEC;

enum Msg {
    Run(Dispatch),
    Poll,
}

/// The crawl queue and the poller's wake-up, as one channel.
struct Queue(mpsc::UnboundedSender<Msg>);

#[async_trait]
impl Dispatcher for Queue {
    async fn dispatch(&self, job: &Job) -> anyhow::Result<()> {
        Ok(self.0.send(Msg::Run(Dispatch::of(job)))?)
    }
    async fn notify_cancel(&self, _: &str, _: u32) {}
    async fn dispatch_crawler(&self, job: &Job, n: u32) -> anyhow::Result<()> {
        Ok(self.0.send(Msg::Run(Dispatch::join(job, n)))?)
    }
}

impl Kicker for Queue {
    fn kick(&self) {
        let _ = self.0.send(Msg::Poll);
    }
}

struct Cloud {
    control: Arc<Control>,
    invocations: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

/// A control plane whose crawlers run as "invocations" of `lifetime` each.
async fn cloud(lifetime: Duration) -> Cloud {
    let _ = tracing_subscriber::registry()
        .with(trawl_core::joblog::JobLogLayer)
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(SqliteStore::open(&dir.path().join("trawl.db")).unwrap());
    let blobs = Arc::new(FileBlobStore::new(dir.path().join("blobs")).unwrap());
    let stores = trawl_embedded::stores(db, blobs, Arc::new(SystemClock));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let queue = Arc::new(Queue(tx.clone()));
    let cfg = ControlConfig {
        max_proc: 16,
        allowed_destinations: vec!["127.0.0.0/8".parse().unwrap()],
        fan_out: FanOut::Dispatched,
        ..ControlConfig::default()
    };
    let control = Arc::new(Control::new(stores, queue.clone(), queue, cfg));
    let invocations = Arc::new(AtomicUsize::new(0));
    let (c, n) = (control.clone(), invocations.clone());
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Poll => {
                    c.poll_once("poller").await.unwrap();
                }
                Msg::Run(d) => {
                    let me = format!("fn{}", n.fetch_add(1, Ordering::Relaxed));
                    let c = c.clone();
                    tokio::spawn(async move {
                        let cfg = RunnerConfig {
                            heartbeat_every: Duration::from_millis(200),
                            deadline: Some(tokio::time::Instant::now() + lifetime),
                            ..RunnerConfig::default()
                        };
                        c.claim_and_run(&d, &me, &cfg).await.unwrap();
                    });
                }
            }
        }
    });
    // EventBridge's tick, as a backstop for lost kicks.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if tx.send(Msg::Poll).is_err() {
                return;
            }
        }
    });
    control
        .add_version("p", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    Cloud {
        control,
        invocations,
        _dir: dir,
    }
}

fn request(start: &str, id: &str, settings: &[(&str, &str)]) -> ScheduleRequest {
    let mut r = ScheduleRequest {
        project: "p".into(),
        spider: "web".into(),
        job_id: Some(id.into()),
        ..Default::default()
    };
    r.args.insert("start".into(), start.to_string());
    for (k, v) in [
        ("RANDOMIZE_DOWNLOAD_DELAY", "false"),
        ("FRONTIER_LEASE_TTL", "2"),
    ]
    .iter()
    .chain(settings)
    {
        r.settings.insert(k.to_string(), v.to_string());
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawlers_of_their_own_with_deadlines_crawl_every_page_once() {
    let bases = trawl_demo::start_web(HOSTS, PAGES, Duration::ZERO)
        .await
        .unwrap();
    // Each invocation lives 1.5 s, the crawl takes several: partitions are handed
    // back at deadlines and taken up by later invocations.
    let cloud = cloud(Duration::from_millis(1500)).await;
    let c = &cloud.control;
    let settings = [("CONCURRENT_CRAWLERS", "4"), ("DOWNLOAD_DELAY", "0.1")];
    c.schedule(request(&bases[0], "w4", &settings))
        .await
        .unwrap();
    let job = wait_finished(c, "w4").await;
    let outcome = job.outcome.clone().unwrap();
    assert_eq!(outcome.finish_reason, "finished", "{outcome:?}");
    assert_eq!(
        item_urls(c, "w4").await,
        trawl_demo::page_urls(&bases, PAGES)
    );
    assert_eq!(outcome.items_scraped(), (HOSTS * PAGES) as u64);
    assert_eq!(outcome.stats["frontier/partitions"], HOSTS);
    let invocations = cloud.invocations.load(Ordering::Relaxed);
    assert!(
        invocations > 4,
        "the crawl spans several invocations: {invocations}"
    );
    let log = c.job_log("p", "web", "w4").await.unwrap().unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains("Crawling over partitions"), "{log}");
    let joins: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" joins the crawl"))
        .collect();
    assert!(joins.len() > 4, "{log}");
    for line in joins {
        // "… Crawler fn7 joins the crawl crawler=fn7": each line tagged with its crawler.
        let who = line
            .split("Crawler ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(line.ends_with(&format!(" crawler={who}")), "{line}");
    }
    assert!(
        log.contains("handing the partition back"),
        "deadlines were met: {log}"
    );
    assert!(
        outcome.stats["log_count/INFO"].as_u64().unwrap() > 10,
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_crawlers_of_their_own() {
    let bases = trawl_demo::start_web(HOSTS, PAGES, Duration::ZERO)
        .await
        .unwrap();
    let cloud = cloud(Duration::from_secs(30)).await;
    let c = &cloud.control;
    let settings = [("CONCURRENT_CRAWLERS", "4"), ("DOWNLOAD_DELAY", "0.5")];
    c.schedule(request(&bases[0], "wc", &settings))
        .await
        .unwrap();
    // Cancel once several hosts are being crawled.
    for _ in 0..200 {
        let now = chrono::Utc::now();
        let s = c
            .stores()
            .frontier
            .frontier_summary("wc", now)
            .await
            .unwrap();
        if s.leased >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.cancel("p", "wc", CancelLevel::Graceful).await.unwrap();
    let job = wait_finished(c, "wc").await;
    let outcome = job.outcome.unwrap();
    assert_eq!(outcome.finish_reason, "cancelled", "{outcome:?}");
    let items = item_urls(c, "wc").await;
    assert!(
        !items.is_empty() && items.len() < HOSTS * PAGES,
        "{} items",
        items.len()
    );
}

/// Runs a 4-crawler job with `limit` (a `CLOSESPIDER_*COUNT` setting) at 40 and
/// checks it ends with `reason`, having scraped at least `at_least` items, not all.
async fn closespider_over_crawlers_of_their_own(limit: &str, reason: &str, at_least: usize) {
    let bases = trawl_demo::start_web(HOSTS, PAGES, Duration::ZERO)
        .await
        .unwrap();
    let cloud = cloud(Duration::from_secs(30)).await;
    let c = &cloud.control;
    let settings = [
        ("CONCURRENT_CRAWLERS", "4"),
        ("DOWNLOAD_DELAY", "0.1"),
        (limit, "40"),
    ];
    c.schedule(request(&bases[0], "wl", &settings))
        .await
        .unwrap();
    let job = wait_finished(c, "wl").await;
    let outcome = job.outcome.unwrap();
    assert_eq!(outcome.finish_reason, reason, "{outcome:?}");
    let items = item_urls(c, "wl").await;
    // Every crawler stops within 200 ms of the job-wide count reaching 40.
    assert!(
        items.len() >= at_least && items.len() < HOSTS * PAGES,
        "{limit}: {} items",
        items.len()
    );
    assert_eq!(outcome.items_scraped(), items.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_itemcount_counts_every_crawler_of_its_own() {
    closespider_over_crawlers_of_their_own("CLOSESPIDER_ITEMCOUNT", "closespider_itemcount", 40)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_pagecount_counts_every_crawler_of_its_own() {
    // 40 responses, the entry page (no item) among them.
    closespider_over_crawlers_of_their_own("CLOSESPIDER_PAGECOUNT", "closespider_pagecount", 39)
        .await;
}
