//! The engine loop against a real HTTP server on loopback.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use trawl_engine::pipeline::MemorySink;
use trawl_engine::settings::Priority;
use trawl_engine::spider::StartRequests;
use trawl_engine::{CrawlBuilder, Output, Request, Response, Settings, Spider};

/// `/n/{i}` links to `/n/{2i}` and `/n/{2i+1}` below `limit`, and back to `/n/1`.
async fn serve(limit: u32, delay: Duration) -> String {
    let app = Router::new().route(
        "/n/{i}",
        get(move |Path(i): Path<u32>| async move {
            tokio::time::sleep(delay).await;
            let mut body = format!("<html><body><h1>node {i}</h1><a href='/n/1'>home</a>");
            for c in [2 * i, 2 * i + 1] {
                if c < limit {
                    body.push_str(&format!("<a href='/n/{c}'>child</a>"));
                }
            }
            axum::response::Html(body + "</body></html>")
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

struct TreeSpider {
    base: String,
}

impl Spider for TreeSpider {
    fn name(&self) -> &str {
        "tree"
    }

    fn start_requests(&self) -> anyhow::Result<StartRequests> {
        let r = Request::parse(&format!("{}/n/1", self.base))?;
        Ok(Box::new(std::iter::once(r)))
    }

    fn parse(&self, _cb: &str, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        let text = response.text();
        let title = text
            .split("<h1>")
            .nth(1)
            .and_then(|t| t.split("</h1>").next())
            .unwrap_or_default();
        let mut item = trawl_engine::Item::new();
        item.insert("title".into(), title.into());
        item.insert("url".into(), response.url.as_str().into());
        out.item(item);
        for part in text.split("href='").skip(1) {
            let href = part.split('\'').next().unwrap_or_default();
            out.follow(response, href, "parse");
        }
        Ok(())
    }
}

fn settings(pairs: &[&str]) -> Settings {
    let mut s = Settings::new();
    s.set("LOGSTATS_INTERVAL", 0, Priority::Cmdline);
    s.set("STATS_DUMP", false, Priority::Cmdline);
    for p in pairs {
        s.set_pair(p, Priority::Cmdline).unwrap();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_every_page_once_and_finishes() {
    let base = serve(200, Duration::ZERO).await;
    let sink = Arc::new(MemorySink::new());
    let crawl = CrawlBuilder::new(Arc::new(TreeSpider { base }), settings(&[]))
        .sink(sink.clone())
        .build()
        .unwrap();
    let outcome = crawl.run().await;
    assert_eq!(outcome.finish_reason, "finished");
    let items = sink.items();
    assert_eq!(items.len(), 199, "pages 1..200 each once");
    let mut titles: Vec<u32> = items
        .iter()
        .map(|i| i["title"].as_str().unwrap()[5..].parse().unwrap())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, (1..200).collect::<Vec<_>>());
    assert_eq!(outcome.stats["item_scraped_count"], 199);
    assert_eq!(outcome.stats["response_received_count"], 199);
    // Every page links home: 199 duplicates of /n/1 at least.
    assert!(outcome.stats["dupefilter/filtered"].as_i64().unwrap() >= 199);
    assert!(outcome.pending.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_itemcount_stops_early_and_keeps_pending_state() {
    let base = serve(10_000, Duration::ZERO).await;
    let sink = Arc::new(MemorySink::new());
    let crawl = CrawlBuilder::new(
        Arc::new(TreeSpider { base }),
        settings(&["CLOSESPIDER_ITEMCOUNT=20", "CONCURRENT_REQUESTS=4"]),
    )
    .sink(sink.clone())
    .build()
    .unwrap();
    let outcome = crawl.run().await;
    assert_eq!(outcome.finish_reason, "closespider_itemcount");
    let n = sink.items().len();
    assert!(
        (20..20 + 12).contains(&n),
        "stopped near the limit, got {n}"
    );
    assert!(outcome.pending.is_some_and(|p| !p.pending.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_then_forced_stop() {
    let base = serve(10_000, Duration::from_millis(200)).await;
    let sink = Arc::new(MemorySink::new());
    let crawl = CrawlBuilder::new(Arc::new(TreeSpider { base }), settings(&[]))
        .sink(sink.clone())
        .build()
        .unwrap();
    let handle = crawl.handle();
    let run = tokio::spawn(crawl.run());
    tokio::time::sleep(Duration::from_millis(700)).await;
    handle.stop(trawl_engine::FinishReason::Cancelled);
    let outcome = run.await.unwrap();
    assert_eq!(outcome.finish_reason, "cancelled");
    let pages = outcome.stats["response_received_count"].as_i64().unwrap();
    assert_eq!(sink.items().len() as i64, pages, "in-flight pages finished");

    // On a site whose pages take 30 s, a second stop, or a pause after a stop, ends
    // the crawl at once, and the crawl stays cancelled.
    let second_stop = |h: &trawl_engine::CrawlHandle| h.stop(trawl_engine::FinishReason::Cancelled);
    let pause = |h: &trawl_engine::CrawlHandle| h.pause();
    for then in [&second_stop as &dyn Fn(&trawl_engine::CrawlHandle), &pause] {
        let base = serve(10_000, Duration::from_secs(30)).await;
        let crawl = CrawlBuilder::new(Arc::new(TreeSpider { base }), settings(&[]))
            .build()
            .unwrap();
        let handle = crawl.handle();
        let run = tokio::spawn(crawl.run());
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle.stop(trawl_engine::FinishReason::Cancelled);
        then(&handle);
        let outcome = tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("the second request ends the crawl at once")
            .unwrap();
        assert_eq!(outcome.finish_reason, "cancelled");
        assert!(outcome.stats.get("response_received_count").is_none());
        assert!(!outcome.resumable);
    }
}
