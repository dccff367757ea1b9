//! A crawl that owns one partition: it keeps the requests its router keeps, hands the
//! others over unscheduled, takes injected requests through its duplicate filter, and
//! can skip the spider's start requests.

mod common;

use std::sync::Arc;

use axum::extract::Path;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use trawl_engine::pipeline::MemorySink;
use trawl_engine::{CrawlBuilder, Request, RequestRouter};

use common::{crawl_settings, serve_router, spec_spider, stat};

/// Keeps `/a/` pages, diverts the rest.
#[derive(Default)]
struct KeepA(Mutex<Vec<String>>);

impl RequestRouter for KeepA {
    fn keeps(&self, r: &Request) -> bool {
        r.url.path().starts_with("/a/")
    }
    fn divert(&self, r: Request) {
        self.0.lock().push(r.url.path().to_string());
    }
}

const SPEC: &str = r#"
name = "parts"
start_urls = ["{site}/a/0", "{site}/b/0"]
start_callback = "page"
[callbacks.page]
follow = [{ css = "a::attr(href)" }]
fields = { title = { css = "h1::text" } }
"#;

async fn site() -> String {
    serve_router(Router::new().route(
        "/{part}/{n}",
        get(|Path((part, n)): Path<(String, u32)>| async move {
            // /x/n links to /x/n+1, /x/n+2 (mod 9) and /b/n.
            let links = format!(
                "<a href=\"/{part}/{}\">x</a><a href=\"/{part}/{}\">x</a><a href=\"/b/{n}\">x</a>",
                (n + 1) % 9,
                (n + 2) % 9
            );
            Html(format!("<h1>{part}{n}</h1>{links}"))
        }),
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_keeps_its_requests_and_hands_over_the_rest() {
    let base = site().await;
    let router = Arc::new(KeepA::default());
    let sink = Arc::new(MemorySink::new());
    let spider = Arc::new(spec_spider(SPEC, &[("site", base.as_str())]));
    let crawl = CrawlBuilder::new(spider, crawl_settings(&[]))
        .router(router.clone())
        .sink(sink.clone())
        .build()
        .unwrap();
    let outcome = crawl.run().await;
    let mut titles: Vec<String> = sink
        .items()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles.dedup();
    // Every /a/ page reachable through /a/ links, none of /b/.
    assert_eq!(titles, (0..9).map(|n| format!("a{n}")).collect::<Vec<_>>());
    let diverted = router.0.lock().clone();
    assert!(diverted.contains(&"/b/0".to_string()), "{diverted:?}");
    assert!(diverted.iter().all(|p| p.starts_with("/b/")));
    assert_eq!(stat(&outcome, "frontier/diverted"), diverted.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_requests_pass_the_duplicate_filter_and_starts_can_be_skipped() {
    let base = site().await;
    let router = Arc::new(KeepA::default());
    let sink = Arc::new(MemorySink::new());
    let spider = Arc::new(spec_spider(SPEC, &[("site", base.as_str())]));
    let page = |n: u32| {
        Request::parse(&format!("{base}/a/{n}"))
            .unwrap()
            .callback("page")
    };
    let crawl = CrawlBuilder::new(spider, crawl_settings(&["CLOSESPIDER_PAGECOUNT=1"]))
        .router(router.clone())
        .skip_start_requests()
        .inject(vec![page(4), page(4), page(4)])
        .sink(sink.clone())
        .build()
        .unwrap();
    let outcome = crawl.run().await;
    assert_eq!(stat(&outcome, "frontier/received"), 3);
    assert_eq!(stat(&outcome, "dupefilter/filtered"), 2);
    assert_eq!(sink.items()[0]["title"], "a4");
    // The spider's start URLs were never requested.
    assert_eq!(stat(&outcome, "response_received_count"), 1);
}
