//! Hostile pages against real loopback servers: a page of 100,000 nested `<div>`s, an
//! endless chunked body and a gzip bomb. Results are asserted; memory is measured with
//! a counting allocator (peak bytes allocated while the download runs), and peak RSS
//! is printed. No timing is asserted.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use trawl_engine::downloader::{DownloadError, FetchConfig, Fetcher};
use trawl_engine::select::{Page, MAX_HTML_DEPTH};
use trawl_engine::Request;

use common::{crawl_spec, serve_router, stat};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests of this file measure the whole process: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Peak heap growth over the live bytes at the start of `f`.
async fn peak_growth<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f.await;
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Peak RSS of the process (VmHWM) in MiB, for the log.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn deep_page(n: usize) -> String {
    format!(
        "<html><head><title>deep</title></head><body>{}deep text{}<p id=\"after\">after</p></body></html>",
        "<div>".repeat(n),
        "</div>".repeat(n)
    )
}

fn fetcher(maxsize: u64) -> Fetcher {
    Fetcher::new(FetchConfig {
        timeout: Duration::from_secs(60),
        maxsize,
        warnsize: 0,
        compression: true,
        pool_per_host: 1,
    })
    .unwrap()
}

/// A gzip stream that inflates to `mib` MiB of zeros: one deflate block for 1 MiB,
/// ended by a sync flush (so it ends on a byte boundary with the window all zeros),
/// repeated. Its trailer is never reached by a bounded reader.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut block = Vec::with_capacity(4096);
    c.compress_vec(&zeros, &mut block, flate2::FlushCompress::Sync)
        .unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0x03, 0x00]); // an empty final block
    out.extend_from_slice(&[0; 8]); // CRC32 and size, wrong on purpose
    out
}

#[test]
fn a_page_of_100000_nested_divs_parses_and_queries_on_a_small_stack() {
    let html = deep_page(100_000);
    assert!(html.len() > 1_000_000);
    let (text, xtext, outer_len, after, elapsed) = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let started = Instant::now();
            let page = Page::parse(&html);
            let text = page.css("div::text").unwrap().getall();
            let xtext = page.xpath("//div/text()").unwrap().getall();
            let outer_len = page.css("body").unwrap().get().unwrap().len();
            let after = page.xpath("//p[@id='after']/text()").unwrap().get();
            (text, xtext, outer_len, after, started.elapsed())
        })
        .unwrap()
        .join()
        .unwrap();
    eprintln!("100,000 nested divs: parsed and queried in {elapsed:?}");
    assert_eq!(text, vec!["deep text"]);
    assert_eq!(xtext, vec!["deep text"]);
    assert_eq!(after.as_deref(), Some("after"));
    // The deep part is flattened: the serialised body holds fewer than the cap's divs.
    assert!(
        outer_len < MAX_HTML_DEPTH * "<div></div>".len() + 200,
        "{outer_len}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_extracts_from_a_deeply_nested_page() {
    let _serial = SERIAL.lock().await;
    let page = deep_page(100_000);
    let base = serve_router(Router::new().route("/", get(move || async move { Html(page) }))).await;
    let spec = format!(
        "name = \"deep\"\nstart_urls = [\"{base}/\"]\nstart_callback = \"page\"\n\
         [callbacks.page.fields]\n\
         text = {{ css = \"div::text\" }}\n\
         after = {{ xpath = \"//p[@id='after']/text()\" }}\n\
         title = {{ css = \"title::text\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["text"], "deep text");
    assert_eq!(items[0]["after"], "after");
    assert_eq!(items[0]["title"], "deep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_stops_at_download_maxsize() {
    let _serial = SERIAL.lock().await;
    let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
    let base = serve_router(Router::new().route(
        "/endless",
        get(move || {
            let chunk = chunk.clone();
            async move {
                let stream = futures::stream::repeat(Ok::<Bytes, Infallible>(chunk));
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    Body::from_stream(stream),
                )
                    .into_response()
            }
        }),
    ))
    .await;
    let max: u64 = 33 << 20;
    let f = fetcher(max);
    let req = Request::parse(&format!("{base}/endless")).unwrap();
    let (result, peak) = peak_growth(f.fetch(req)).await;
    let err = result.expect_err("an endless body cannot succeed").1;
    assert!(
        matches!(err, DownloadError::TooLarge { max: m, .. } if m == max),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("Cancelling download of http://127.0.0.1:"),
        "{msg}"
    );
    assert!(msg.contains("size exceeds DOWNLOAD_MAXSIZE"), "{msg}");
    eprintln!(
        "endless body, DOWNLOAD_MAXSIZE {} MiB: peak heap growth {} MiB, peak RSS {} MiB",
        max >> 20,
        peak >> 20,
        peak_rss_mib()
    );
    // The buffer never grew past the limit (a doubling buffer would reach 2x).
    assert!(
        (peak as u64) < max + max / 4,
        "peak heap growth {peak} for a limit of {max}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_cancelled_once_its_decoded_size_passes_download_maxsize() {
    let _serial = SERIAL.lock().await;
    let bomb = Bytes::from(gzip_bomb(4096));
    let compressed = bomb.len();
    let base = serve_router(Router::new().route(
        "/bomb",
        get(move || {
            let bomb = bomb.clone();
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    bomb,
                )
                    .into_response()
            }
        }),
    ))
    .await;
    let max: u64 = 33 << 20;
    let f = fetcher(max);
    let req = Request::parse(&format!("{base}/bomb")).unwrap();
    let (result, peak) = peak_growth(f.fetch(req)).await;
    let err = result.expect_err("a 4 GiB bomb cannot fit").1;
    assert!(matches!(err, DownloadError::TooLarge { .. }), "{err}");
    eprintln!(
        "gzip bomb of {} KiB (4 GiB decoded), DOWNLOAD_MAXSIZE {} MiB: peak heap growth {} MiB, peak RSS {} MiB",
        compressed >> 10,
        max >> 20,
        peak >> 20,
        peak_rss_mib()
    );
    assert!(
        (peak as u64) < max + max / 4,
        "peak heap growth {peak} for a limit of {max}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_counts_the_bomb_as_too_large_and_goes_on() {
    let _serial = SERIAL.lock().await;
    let bomb = Bytes::from(gzip_bomb(256));
    let base = serve_router(
        Router::new()
            .route(
                "/",
                get(|| async { Html(r#"<a href="/bomb">b</a> <a href="/ok">ok</a>"#) }),
            )
            .route(
                "/bomb",
                get(move || {
                    let bomb = bomb.clone();
                    async move { ([(header::CONTENT_ENCODING, "gzip")], bomb).into_response() }
                }),
            )
            .route("/ok", get(|| async { Html("<h1>ok</h1>") })),
    )
    .await;
    let spec = format!(
        "name = \"bomb\"\nstart_urls = [\"{base}/\"]\n\
         [[rules]]\nallow = '/(bomb|ok)$'\ncallback = \"page\"\n\
         [callbacks.page.fields]\ntitle = {{ css = \"h1::text\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &["DOWNLOAD_MAXSIZE=1000000"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "ok");
    assert_eq!(
        stat(
            &outcome,
            "downloader/exception_type_count/DownloadMaxSizeExceeded"
        ),
        1
    );
}
