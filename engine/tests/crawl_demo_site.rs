//! End to end: examples/shop.toml crawls the generated demo shop over loopback HTTP;
//! every product is scraped exactly once, equal to the site's ground truth, into memory
//! and into real feed files.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use trawl_demo::{serve, Site, SiteServer, SiteSpec};
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, FeedStorages, UriParams};
use trawl_engine::pipeline::MemorySink;
use trawl_engine::{CrawlBuilder, Item};

use common::{crawl_settings, spec_spider, stat};

const SHOP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/shop.toml"
));

async fn site(products: usize, seed: u64) -> (Arc<Site>, SiteServer) {
    let site = Arc::new(Site::generate(SiteSpec::new(products, seed)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (site, server)
}

fn feeds(dir: &Path, formats: &[(&str, FeedFormat)]) -> Arc<FeedSink> {
    let configs = formats
        .iter()
        .map(|(file, f)| {
            let mut c = FeedConfig::new(dir.join(file).to_str().unwrap(), *f);
            c.overwrite = true;
            c
        })
        .collect();
    Arc::new(FeedSink::new(configs, &FeedStorages::builtin(), UriParams::new("shop")).unwrap())
}

/// Items by id, failing on duplicates.
fn by_id(items: &[Item]) -> BTreeMap<u64, Item> {
    let mut map = BTreeMap::new();
    for it in items {
        let id = it["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no int id in {it:?}"));
        assert!(map.insert(id, it.clone()).is_none(), "duplicate item {id}");
    }
    map
}

fn read_jsonl(path: &Path) -> Vec<Item> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSONL line {l:?}: {e}")))
        .collect()
}

fn read_json(path: &Path) -> Vec<Item> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON file: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_spec_scrapes_every_product_exactly_once() {
    let (site, server) = site(400, 7).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(MemorySink::new());
    let files = feeds(
        dir.path(),
        &[
            ("items.jsonl", FeedFormat::JsonLines),
            ("items.json", FeedFormat::Json),
            ("items.csv", FeedFormat::Csv),
            ("items.xml", FeedFormat::Xml),
        ],
    );
    let crawl = CrawlBuilder::new(
        Arc::new(spec_spider(SHOP, &[("site", &base)])),
        crawl_settings(&[]),
    )
    .sink(memory.clone())
    .sink(files.clone())
    .build()
    .unwrap();
    let outcome = crawl.run().await;
    assert_eq!(outcome.finish_reason, "finished");
    assert!(outcome.pending.is_none());

    let items = memory.items();
    assert_eq!(items.len(), site.expected_item_count());
    assert_eq!(stat(&outcome, "item_scraped_count") as usize, items.len());
    assert_eq!(stat(&outcome, "item_dropped_count"), 0);
    let got = by_id(&items);
    for p in site.products() {
        let item = &got[&(p.id as u64)];
        assert_eq!(item["title"], p.title, "title of {}", p.id);
        assert_eq!(item["price"].as_f64(), Some(p.price), "price of {}", p.id);
        assert!(
            item["description"] == p.description,
            "description of {} differs from the ground truth",
            p.id
        );
        assert_eq!(item["url"], format!("{base}{}", p.url), "url of {}", p.id);
        assert_eq!(
            item.keys().collect::<Vec<_>>(),
            ["id", "title", "price", "description", "url"],
            "field order"
        );
    }

    // Broken related links answer 404, each fetched once, ignored by HttpErrorMiddleware.
    let broken = site.broken_urls();
    assert!(!broken.is_empty(), "the site should have broken links");
    assert_eq!(
        stat(&outcome, "httperror/response_ignored_count") as usize,
        broken.len()
    );
    assert_eq!(
        stat(&outcome, "httperror/response_ignored_status_count/404") as usize,
        broken.len()
    );
    // Legacy links redirect (301) to the canonical page, which is scraped.
    let redirects = site.redirects();
    assert!(!redirects.is_empty(), "the site should have redirects");
    assert_eq!(
        stat(&outcome, "downloader/response_status_count/301") as usize,
        redirects.len()
    );
    let urls: BTreeSet<&str> = items.iter().map(|i| i["url"].as_str().unwrap()).collect();
    for canonical in redirects.values() {
        assert!(urls.contains(format!("{base}{canonical}").as_str()));
    }
    assert_eq!(stat(&outcome, "downloader/exception_count"), 0);

    // Feed files hold the same items.
    assert_eq!(by_id(&read_jsonl(&dir.path().join("items.jsonl"))), got);
    assert_eq!(by_id(&read_json(&dir.path().join("items.json"))), got);

    let mut csv = csv::Reader::from_path(dir.path().join("items.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, ["id", "title", "price", "description", "url"]);
    let mut rows = 0;
    let mut titles = BTreeMap::new();
    for r in csv.records() {
        let r = r.unwrap();
        assert_ne!(&r[0], "id", "the CSV header appears once");
        titles.insert(r[0].parse::<u64>().unwrap(), r[1].to_string());
        rows += 1;
    }
    assert_eq!(rows, items.len());
    for (id, item) in &got {
        assert_eq!(item["title"].as_str(), Some(titles[id].as_str()));
    }

    let xml = std::fs::read_to_string(dir.path().join("items.xml")).unwrap();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{}",
        &xml[..60.min(xml.len())]
    );
    assert!(xml.trim_end().ends_with("</items>"));
    assert_eq!(xml.matches("<item>").count(), items.len());
    assert_eq!(xml.matches("</item>").count(), items.len());
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut titles_in_xml = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"title" => {
                titles_in_xml += 1
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(titles_in_xml, items.len());
    server.shutdown().await;
}

/// Waits until the crawl has scraped at least `n` items.
async fn until_items(handle: &trawl_engine::CrawlHandle, n: u64) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while handle.progress().items < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the crawl scrapes items");
}

async fn cancelled_crawl_leaves_valid_feeds(force: bool) {
    let (site, server) = site(1500, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let files = feeds(
        dir.path(),
        &[
            ("items.jsonl", FeedFormat::JsonLines),
            ("items.json", FeedFormat::Json),
        ],
    );
    let crawl = CrawlBuilder::new(
        Arc::new(spec_spider(SHOP, &[("site", &server.base_url())])),
        crawl_settings(&["CONCURRENT_REQUESTS=4"]),
    )
    .sink(files)
    .build()
    .unwrap();
    let handle = crawl.handle();
    let run = tokio::spawn(crawl.run());
    until_items(&handle, 20).await;
    handle.stop(trawl_engine::FinishReason::Cancelled);
    if force {
        handle.stop(trawl_engine::FinishReason::Cancelled);
    }
    let outcome = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the crawl stops")
        .unwrap();
    assert_eq!(outcome.finish_reason, "cancelled");
    let scraped = stat(&outcome, "item_scraped_count") as usize;
    assert!(scraped >= 20);
    assert!(scraped < site.expected_item_count(), "stopped mid-way");
    assert!(outcome.pending.is_some(), "requests were left");

    let truth: BTreeMap<u64, _> = site.products().map(|p| (p.id as u64, p)).collect();
    for items in [
        read_jsonl(&dir.path().join("items.jsonl")),
        read_json(&dir.path().join("items.json")),
    ] {
        assert_eq!(items.len(), scraped);
        for (id, item) in by_id(&items) {
            assert_eq!(item.len(), 5, "complete item {item:?}");
            assert_eq!(item["title"], truth[&id].title);
            assert!(
                item["description"] == truth[&id].description,
                "description of {id} differs from the ground truth"
            );
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_leaves_valid_feed_files() {
    cancelled_crawl_leaves_valid_feeds(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_stop_leaves_valid_feed_files() {
    cancelled_crawl_leaves_valid_feeds(true).await;
}
