//! Shared helpers for the middleware tests: a real HTTP test server on 127.0.0.1 and a
//! downloader built from the middleware registry with a real fetcher.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request as HttpRequest, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use parking_lot::Mutex;
use serde_json::{json, Value};
use trawl_engine::downloader::{
    DownloadOutcome, Downloader, FetchConfig, Fetcher, SlotConfig, Slots,
};
use trawl_engine::middleware::downloader::downloader_middlewares;
use trawl_engine::middleware::MiddlewareContext;
use trawl_engine::settings::Priority;
use trawl_engine::{Request, Settings, Stats};

/// Hit counts per request path.
pub type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// A running test server.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    hits: Hits,
}

impl Server {
    /// Starts the server on an ephemeral port.
    pub async fn start() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits: Hits = Arc::default();
        let h = hits.clone();
        let app = axum::Router::new().fallback(move |req: HttpRequest<Body>| {
            let hits = h.clone();
            async move { handle(req, hits).await }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server { base, hits }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A GET request for `path`.
    pub fn get(&self, path: &str) -> Request {
        Request::parse(&self.url(path)).unwrap()
    }

    /// How often `path` was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().get(path).copied().unwrap_or(0)
    }
}

fn redirect(status: u16, location: &str) -> HttpResponse {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::LOCATION, location.to_string())],
        "",
    )
        .into_response()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

async fn handle(req: HttpRequest<Body>, hits: Hits) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let n = {
        let mut h = hits.lock();
        let c = h.entry(path.clone()).or_default();
        *c += 1;
        *c
    };
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["robots.txt"] => {
            // Slow enough that concurrent requests overlap with the fetch.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            "User-agent: *\nDisallow: /private\n".into_response()
        }
        ["status", code] => {
            let code: u16 = code.parse().unwrap();
            (
                StatusCode::from_u16(code).unwrap(),
                format!("status {code}"),
            )
                .into_response()
        }
        ["flaky", failures] => {
            if n <= failures.parse::<usize>().unwrap() {
                (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
            } else {
                "recovered".into_response()
            }
        }
        ["redirect", left] => match left.parse::<u32>().unwrap() {
            0 => "arrived".into_response(),
            k => redirect(302, &format!("/redirect/{}", k - 1)),
        },
        ["loop"] => redirect(302, "/loop"),
        ["redirect-abs"] => {
            let to = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "to")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            redirect(302, &to)
        }
        ["redirect-to", code] => redirect(code.parse().unwrap(), "/echo"),
        ["meta-refresh"] => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            r#"<html><head><meta http-equiv="refresh" content="0; url=/echo"></head></html>"#,
        )
            .into_response(),
        ["set-cookie"] => {
            ([(header::SET_COOKIE, "session=abc; Path=/")], "cookie set").into_response()
        }
        ["set-cookie-redirect"] => (
            StatusCode::FOUND,
            [
                (header::SET_COOKIE, "flow=xyz; Path=/".to_string()),
                (header::LOCATION, "/echo".to_string()),
            ],
            "",
        )
            .into_response(),
        ["gzip"] => (
            [(header::CONTENT_ENCODING, "gzip")],
            gzip(b"hello gzip world"),
        )
            .into_response(),
        ["echo"] => echo(&parts.method, &parts.uri, &parts.headers, &body),
        _ => (
            [(header::CONTENT_TYPE, "text/html")],
            format!("<html><body>page {path}</body></html>"),
        )
            .into_response(),
    }
}

fn echo(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(
            k.as_str().to_string(),
            Value::String(v.to_str().unwrap_or("").to_string()),
        );
    }
    let doc = json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "headers": h,
        "body": String::from_utf8_lossy(body),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

/// Default settings with `pairs` set at command-line priority.
pub fn settings(pairs: &[(&str, Value)]) -> Settings {
    let mut s = Settings::new();
    for (k, v) in pairs {
        s.set(k, v.clone(), Priority::Cmdline);
    }
    s
}

/// A middleware context for these settings and allowed domains.
pub fn context(settings: Settings, allowed: &[&str]) -> MiddlewareContext {
    let fetcher = Fetcher::new(FetchConfig::from_settings(&settings).unwrap()).unwrap();
    MiddlewareContext {
        settings: Arc::new(settings),
        stats: Arc::new(Stats::new()),
        fetcher: Arc::new(fetcher),
        spider_name: "test".into(),
        allowed_domains: Arc::new(allowed.iter().map(|s| s.to_string()).collect()),
    }
}

/// A downloader with the registry's middlewares and the context's fetcher.
pub fn downloader(ctx: &MiddlewareContext) -> Downloader {
    let mws = downloader_middlewares(ctx, Vec::new()).unwrap();
    let slots = Slots::new(SlotConfig::from_settings(&ctx.settings).unwrap());
    Downloader::new(mws, ctx.fetcher.clone(), slots)
}

/// Downloads `req`, feeding rescheduled requests back in (as the scheduler would) until
/// the outcome is a response or a failure. Returns it with the rescheduled requests.
pub async fn drive(dl: &Downloader, mut req: Request) -> (DownloadOutcome, Vec<Request>) {
    let mut rescheduled = Vec::new();
    for _ in 0..50 {
        match dl.download(req).await {
            DownloadOutcome::Reschedule(next) => {
                rescheduled.push((*next).clone());
                req = *next;
            }
            other => return (other, rescheduled),
        }
    }
    panic!("more than 50 reschedules");
}

/// The response of an outcome, panicking on anything else.
pub fn response(outcome: DownloadOutcome) -> trawl_engine::Response {
    match outcome {
        DownloadOutcome::Response(r) => *r,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// The echo server's JSON view of the request it received.
pub fn echoed(resp: &trawl_engine::Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap()
}

/// Serves `app` on an ephemeral loopback port; returns `http://127.0.0.1:<port>`.
pub async fn serve_router(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    base
}

/// Crawl settings without periodic logs or stats dumps, with `NAME=VALUE` pairs at
/// command-line priority.
pub fn crawl_settings(pairs: &[&str]) -> Settings {
    let mut s = Settings::new();
    s.set("LOGSTATS_INTERVAL", 0, Priority::Cmdline);
    s.set("STATS_DUMP", false, Priority::Cmdline);
    for p in pairs {
        s.set_pair(p, Priority::Cmdline).unwrap();
    }
    s
}

/// A spider for a TOML spec with `-a` arguments (the spec must be valid).
pub fn spec_spider(toml: &str, args: &[(&str, &str)]) -> trawl_engine::spec::SpecSpider {
    use trawl_engine::spec::{Spec, SpecFormat, SpecSpider};
    let names: Vec<&str> = args.iter().map(|(k, _)| *k).collect();
    let spec = Spec::parse(toml, SpecFormat::Toml, &names).unwrap_or_else(|e| panic!("{e}"));
    let args: Vec<(String, String)> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SpecSpider::new(Arc::new(spec), &args).unwrap()
}

/// Runs a TOML spec to its end with `settings`; returns the outcome and the items.
pub async fn crawl_spec(
    toml: &str,
    args: &[(&str, &str)],
    settings: &[&str],
) -> (trawl_engine::CrawlOutcome, Vec<trawl_engine::Item>) {
    let sink = Arc::new(trawl_engine::pipeline::MemorySink::new());
    let crawl = trawl_engine::CrawlBuilder::new(
        Arc::new(spec_spider(toml, args)),
        crawl_settings(settings),
    )
    .sink(sink.clone())
    .build()
    .unwrap();
    let outcome = crawl.run().await;
    (outcome, sink.items())
}

/// A stat as an integer (0 when absent).
pub fn stat(outcome: &trawl_engine::CrawlOutcome, key: &str) -> i64 {
    outcome.stats.get(key).and_then(Value::as_i64).unwrap_or(0)
}
