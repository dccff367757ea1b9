//! Checkpoints end to end in the engine: the shop spec crawls the demo site over
//! loopback, is stopped again and again (gracefully, and at once with requests in
//! flight), and resumes each time from its last checkpoint; its feeds end holding every
//! product exactly once, and the final stats are the totals.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use trawl_demo::{serve, Site, SiteSpec};
use trawl_engine::checkpoint::{self, DirCheckpoints};
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, FeedStorages, UriParams};
use trawl_engine::{CrawlBuilder, FinishReason};

use common::{crawl_settings, spec_spider};

const SHOP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/shop.toml"
));

fn feed_configs(dir: &Path) -> Vec<FeedConfig> {
    [
        ("items.jsonl", FeedFormat::JsonLines),
        ("items.json", FeedFormat::Json),
        ("items.csv", FeedFormat::Csv),
    ]
    .into_iter()
    .map(|(file, f)| {
        let mut c = FeedConfig::new(dir.join(file).to_str().unwrap(), f);
        c.overwrite = true;
        c
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_and_resumes_write_every_item_once() {
    let site = Arc::new(Site::generate(SiteSpec::new(300, 11)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DirCheckpoints::new(dir.path().join("job")));
    let mut runs = 0;
    let outcome = loop {
        runs += 1;
        assert!(runs < 40, "the crawl never finished");
        let resume = checkpoint::load(store.as_ref()).await.unwrap();
        let sink = Arc::new(match &resume {
            Some(r) => FeedSink::resume(
                feed_configs(dir.path()),
                &FeedStorages::builtin(),
                UriParams::new("shop"),
                r.snapshot.sink(0),
            )
            .unwrap(),
            None => FeedSink::new(
                feed_configs(dir.path()),
                &FeedStorages::builtin(),
                UriParams::new("shop"),
            )
            .unwrap(),
        });
        let settings = crawl_settings(&[
            "CONCURRENT_REQUESTS=8",
            "CHECKPOINT_INTERVAL=0.05",
            "DOWNLOAD_DELAY=0.002",
        ]);
        let spider = Arc::new(spec_spider(SHOP, &[("site", &server.base_url())]));
        let mut builder = CrawlBuilder::new(spider, settings)
            .sink(sink)
            .checkpoints(store.clone());
        if let Some(r) = resume {
            builder = builder.resume_from(r);
        }
        let crawl = builder.build().unwrap();
        let handle = crawl.handle();
        let running = tokio::spawn(crawl.run());
        // Stop once some more items are out: killed (requests in flight abandoned),
        // paused (the same, for a crawl that checkpoints) or stopped gracefully.
        let before = handle.progress().items;
        let stopper = tokio::spawn(async move {
            while handle.progress().items < before + 40 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            match runs % 3 {
                0 => handle.kill(FinishReason::Shutdown),
                1 => handle.pause(),
                _ => handle.stop(FinishReason::Shutdown),
            }
        });
        let outcome = running.await.unwrap();
        stopper.abort();
        if outcome.finish_reason == FinishReason::Finished {
            assert!(!outcome.resumable);
            break outcome;
        }
        assert_eq!(
            outcome.resumable,
            runs % 3 == 1,
            "a paused crawl with work left is resumable (its sinks stay open)"
        );
    };
    assert!(
        runs >= 4,
        "the crawl was stopped several times ({runs} runs)"
    );

    let expected: BTreeSet<u64> = site.products().map(|p| p.id as u64).collect();
    let ids = |items: Vec<Value>| -> Vec<u64> {
        items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
    };
    let jsonl: Vec<Value> = std::fs::read_to_string(dir.path().join("items.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let json: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("items.json")).unwrap()).unwrap();
    for (name, got) in [("jsonl", ids(jsonl)), ("json", ids(json))] {
        assert_eq!(
            got.len(),
            expected.len(),
            "{name}: every product exactly once"
        );
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected, "{name}");
    }
    let csv = std::fs::read_to_string(dir.path().join("items.csv")).unwrap();
    let csv_ids: Vec<u64> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap()[0].parse().expect("one CSV header, then rows"))
        .collect();
    assert_eq!(
        csv_ids.len(),
        expected.len(),
        "csv: every product exactly once"
    );
    assert_eq!(csv_ids.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(
        outcome.stats["item_scraped_count"].as_u64(),
        Some(expected.len() as u64),
        "the final stats are the totals"
    );
    assert!(outcome.stats["checkpoint/count"].as_u64().unwrap() > runs as u64);
    server.shutdown().await;
}

/// CLOSESPIDER limits count the whole crawl, across a pause and a resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_itemcount_counts_across_a_resume() {
    let site = Arc::new(Site::generate(SiteSpec::new(300, 5)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DirCheckpoints::new(dir.path().join("job")));
    let mut items = 0;
    for pause in [true, false] {
        let resume = checkpoint::load(store.as_ref()).await.unwrap();
        let settings = crawl_settings(&[
            "CONCURRENT_REQUESTS=4",
            "CLOSESPIDER_ITEMCOUNT=100",
            "DOWNLOAD_DELAY=0.002",
        ]);
        let spider = Arc::new(spec_spider(SHOP, &[("site", &server.base_url())]));
        let mut builder = CrawlBuilder::new(spider, settings).checkpoints(store.clone());
        if let Some(r) = resume {
            builder = builder.resume_from(r);
        }
        let crawl = builder.build().unwrap();
        let handle = crawl.handle();
        let run = tokio::spawn(crawl.run());
        if pause {
            while handle.progress().items < 40 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            handle.pause();
        }
        let outcome = run.await.unwrap();
        items = outcome.stats["item_scraped_count"].as_u64().unwrap();
        if pause {
            assert!(outcome.resumable);
            assert!((40..100).contains(&items), "{items}");
        } else {
            assert_eq!(outcome.finish_reason, "closespider_itemcount");
        }
    }
    assert!(
        (100..110).contains(&items),
        "the limit held over both runs: {items}"
    );
    server.shutdown().await;
}
