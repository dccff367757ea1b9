//! The destination policy against real loopback servers: every spelling of a refused
//! address, host names that resolve to one, redirects, meta refresh, proxies, and
//! `file:` URLs from every request source, plus offsite checks on redirects.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request as HttpRequest, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use parking_lot::Mutex;
use serde_json::Value;
use trawl_engine::downloader::{
    AddressClass, Cidr, DestinationPolicy, DestinationRefused, DownloadError, DownloadOutcome,
    FetchConfig, Fetcher,
};
use trawl_engine::middleware::MiddlewareContext;
use trawl_engine::{CrawlBuilder, CrawlOutcome, Item, Request, Stats};

use common::{crawl_settings, downloader, drive, settings, spec_spider, stat, Server};

/// A loopback site on its own address, counting requests per path.
struct Site {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Site {
    /// Serves on `ip` (an ephemeral port); `None` when `ip` cannot be bound here.
    async fn start(ip: &str) -> Option<Site> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
        let addr = listener.local_addr().unwrap();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let h = hits.clone();
        let app = axum::Router::new().fallback(move |req: HttpRequest<Body>| {
            let hits = h.clone();
            async move {
                *hits.lock().entry(req.uri().path().to_string()).or_default() += 1;
                handle(&req)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Some(Site { addr, hits })
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://<addr>`.
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// All requests received.
    fn total_hits(&self) -> usize {
        self.hits.lock().values().sum()
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().get(path).copied().unwrap_or(0)
    }
}

fn html(body: String) -> HttpResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// `/redirect?to=U` (302), `/refresh?to=U` (meta refresh), `/links?href=U` (a link),
/// `/sitemap.xml?loc=U` (a one-URL sitemap); other paths are a page titled with the path.
fn handle(req: &HttpRequest<Body>) -> HttpResponse {
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let arg = |k: &str| q.get(k).cloned().unwrap_or_default();
    match req.uri().path() {
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, arg("to"))], "").into_response(),
        "/refresh" => html(format!(
            r#"<html><head><meta http-equiv="refresh" content="0; url={}"></head></html>"#,
            arg("to")
        )),
        "/links" => html(format!(
            r#"<h1>links</h1><a href="{}">next</a>"#,
            arg("href")
        )),
        "/sitemap.xml" => (
            [(header::CONTENT_TYPE, "application/xml")],
            format!(
                r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{}</loc></url></urlset>"#,
                arg("loc")
            ),
        )
            .into_response(),
        "/listprojects.json" => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status": "ok", "projects": ["secret"]}"#,
        )
            .into_response(),
        path => html(format!("<h1>page {path}</h1>")),
    }
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

/// The strict policy with an allow-list that does not cover loopback.
fn strict() -> DestinationPolicy {
    DestinationPolicy::public_only().allow_ranges([cidr("10.0.0.0/8"), cidr("192.168.0.0/16")])
}

/// A middleware context whose fetcher enforces `policy`.
fn context(policy: DestinationPolicy, allowed_domains: &[&str]) -> MiddlewareContext {
    let s = settings(&[]);
    let fetcher =
        Fetcher::with_destinations(FetchConfig::from_settings(&s).unwrap(), policy).unwrap();
    MiddlewareContext {
        settings: Arc::new(s),
        stats: Arc::new(Stats::new()),
        fetcher: Arc::new(fetcher),
        spider_name: "test".into(),
        allowed_domains: Arc::new(allowed_domains.iter().map(|d| d.to_string()).collect()),
    }
}

fn get(url: &str) -> Request {
    Request::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The refusal of a failed outcome, panicking on anything else.
fn refusal(outcome: &DownloadOutcome, what: &str) -> DestinationRefused {
    match outcome {
        DownloadOutcome::Failed(_, DownloadError::DestinationRefused(r)) => r.clone(),
        other => panic!("{what}: expected a refused destination, got {other:?}"),
    }
}

fn status(outcome: &DownloadOutcome, what: &str) -> u16 {
    match outcome {
        DownloadOutcome::Response(r) => r.status,
        other => panic!("{what}: expected a response, got {other:?}"),
    }
}

/// Spellings of 127.0.0.1 (the `url` crate normalises the numeric ones; the IPv6 ones
/// reach it through the IPv4-mapped form).
fn loopback_spellings(port: u16) -> Vec<String> {
    [
        "127.0.0.1",
        "2130706433",
        "0x7f.0.0.1",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "127.0.0.1.",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ]
    .iter()
    .map(|h| format!("http://{h}:{port}/page"))
    .collect()
}

#[tokio::test]
async fn every_spelling_of_loopback_is_refused_unless_its_range_is_allowed() {
    let site = Site::start("127.0.0.1").await.unwrap();
    let spellings = loopback_spellings(site.port());

    let ctx = context(strict(), &[]);
    let dl = downloader(&ctx);
    for u in &spellings {
        let r = refusal(&dl.download(get(u)).await, u);
        match r {
            DestinationRefused::Address(a) => assert_eq!(a.class, AddressClass::Loopback, "{u}"),
            other => panic!("{u}: {other:?}"),
        }
    }
    assert_eq!(site.total_hits(), 0);
    assert_eq!(
        ctx.stats
            .get_i64("downloader/exception_type_count/DestinationRefused"),
        spellings.len() as i64
    );
    assert_eq!(
        ctx.stats.get_i64("retry/count"),
        0,
        "refusals are not retried"
    );

    let ctx = context(
        DestinationPolicy::public_only().allow_range(cidr("127.0.0.0/8")),
        &[],
    );
    let dl = downloader(&ctx);
    for u in &spellings {
        assert_eq!(status(&dl.download(get(u)).await, u), 200);
    }
    assert_eq!(site.hits("/page"), spellings.len());
}

#[tokio::test]
async fn unspecified_ipv6_loopback_and_metadata_addresses_are_refused() {
    let site = Site::start("127.0.0.1").await.unwrap();
    // 0.0.0.0 reaches the local host: allowed by allow_all, refused even with
    // 127.0.0.0/8 allowed.
    let zero = format!("http://0.0.0.0:{}/page", site.port());
    let all = context(DestinationPolicy::allow_all(), &[]);
    assert_eq!(
        status(&downloader(&all).download(get(&zero)).await, &zero),
        200
    );
    let lo = context(
        DestinationPolicy::public_only().allow_range(cidr("127.0.0.0/8")),
        &[],
    );
    let r = refusal(&downloader(&lo).download(get(&zero)).await, &zero);
    assert_eq!(r.to_string(), "0.0.0.0 is an unspecified address");

    // Link-local metadata services fail at once, without a connection attempt.
    let ctx = context(strict(), &[]);
    let dl = downloader(&ctx);
    for u in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
    ] {
        let started = Instant::now();
        refusal(&dl.download(get(u)).await, u);
        assert!(started.elapsed() < Duration::from_secs(1), "{u}");
    }

    // [::1]: refused by the strict policy and by 127.0.0.0/8, allowed by ::1/128.
    let Some(v6) = Site::start("::1").await else {
        eprintln!("no IPv6 loopback here: [::1] checked by the unit tests only");
        return;
    };
    let u = format!("http://[::1]:{}/page", v6.port());
    refusal(&downloader(&ctx).download(get(&u)).await, &u);
    refusal(&downloader(&lo).download(get(&u)).await, &u);
    let v6_ok = context(
        DestinationPolicy::public_only().allow_range(cidr("::1/128")),
        &[],
    );
    assert_eq!(status(&downloader(&v6_ok).download(get(&u)).await, &u), 200);
    assert_eq!(v6.hits("/page"), 1);
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_at_connect_time() {
    let site = Site::start("127.0.0.1").await.unwrap();
    let u = format!("http://localhost:{}/page", site.port());
    let policy = strict();
    // The URL check passes: the refusal comes from the resolver.
    assert_eq!(policy.check_url(&url::Url::parse(&u).unwrap()), Ok(()));
    let ctx = context(policy, &[]);
    let r = refusal(&downloader(&ctx).download(get(&u)).await, &u);
    assert!(
        matches!(&r, DestinationRefused::Resolved { host, .. } if host == "localhost"),
        "{r:?}"
    );
    assert!(
        r.to_string().starts_with(
            "localhost resolves only to refused addresses: 127.0.0.1 is a loopback address"
        ),
        "{r}"
    );
    // Middlewares that fetch on their own (robots.txt) use the same fetcher.
    let robots = format!("http://localhost:{}/robots.txt", site.port());
    match ctx.fetcher.fetch(get(&robots)).await {
        Err((_, DownloadError::DestinationRefused(_))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(site.total_hits(), 0);
    assert_eq!(
        ctx.stats
            .get_i64("downloader/exception_type_count/DestinationRefused"),
        1
    );
    assert_eq!(
        ctx.stats.get_i64("retry/count"),
        0,
        "refusals are not retried"
    );

    let ctx = context(
        DestinationPolicy::public_only().allow_range(cidr("127.0.0.0/8")),
        &[],
    );
    assert_eq!(status(&downloader(&ctx).download(get(&u)).await, &u), 200);
    assert_eq!(site.hits("/page"), 1);
}

#[tokio::test]
async fn redirects_and_meta_refresh_to_refused_addresses_are_not_followed() {
    let allowed = Site::start("127.0.0.1").await.unwrap();
    let target = Site::start("127.0.0.2").await.unwrap();
    let hops = [
        format!("/redirect?to=http://127.0.0.2:{}/page", target.port()),
        format!("/redirect?to=http://2130706434:{}/page", target.port()),
        format!(
            "/redirect?to=http://[::ffff:127.0.0.2]:{}/page",
            target.port()
        ),
        format!("/refresh?to=http://127.0.0.2:{}/page", target.port()),
    ];
    // Only 127.0.0.1 is allowed: the redirect targets on 127.0.0.2 are loopback.
    let ctx = context(
        DestinationPolicy::public_only().allow_range(cidr("127.0.0.1/32")),
        &[],
    );
    let dl = downloader(&ctx);
    for hop in &hops {
        let (outcome, rescheduled) = drive(&dl, get(&allowed.url(hop)).dont_filter(true)).await;
        assert_eq!(rescheduled.len(), 1, "{hop}: the hop itself is followed");
        let r = refusal(&outcome, hop);
        let msg = r.to_string();
        assert!(
            msg.contains("127.0.0.2") && msg.contains("loopback"),
            "{hop}: {msg}"
        );
    }
    assert_eq!(target.total_hits(), 0);

    // The same hops reach the target when the policy allows everything.
    let ctx = context(DestinationPolicy::allow_all(), &[]);
    let dl = downloader(&ctx);
    for hop in &hops {
        let (outcome, _) = drive(&dl, get(&allowed.url(hop))).await;
        assert_eq!(status(&outcome, hop), 200);
    }
    assert_eq!(target.hits("/page"), hops.len());
}

#[tokio::test]
async fn proxies_still_work_under_the_strict_policy() {
    let proxy = Server::start().await;
    let ctx = context(strict(), &[]);
    let dl = downloader(&ctx);
    let port = proxy.base.rsplit(':').next().unwrap().to_string();
    for p in [proxy.base.clone(), format!("http://localhost:{port}")] {
        let req = get("http://example.invalid/echo").meta("proxy", p.clone());
        let outcome = dl.download(req).await;
        let DownloadOutcome::Response(resp) = outcome else {
            panic!("{p}: {outcome:?}");
        };
        let echoed: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(echoed["uri"], "http://example.invalid/echo", "{p}");
    }
    // The target is still checked when it is an address.
    let req = get(&format!("http://127.0.0.1:{port}/echo")).meta("proxy", proxy.base.clone());
    refusal(&dl.download(req).await, "loopback target through a proxy");
    assert_eq!(proxy.hits("/echo"), 2);
}

/// Runs a TOML spec with `-a` arguments under `policy`.
async fn crawl(
    toml: &str,
    args: &[(&str, &str)],
    policy: DestinationPolicy,
) -> (CrawlOutcome, Vec<Item>) {
    let sink = Arc::new(trawl_engine::pipeline::MemorySink::new());
    let crawl = CrawlBuilder::new(Arc::new(spec_spider(toml, args)), crawl_settings(&[]))
        .destinations(policy)
        .sink(sink.clone())
        .build()
        .unwrap();
    let outcome = crawl.run().await;
    (outcome, sink.items())
}

fn titles(items: &[Item]) -> Vec<String> {
    let mut t: Vec<String> = items
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect();
    t.sort();
    t
}

const PAGES_SPEC: &str = r#"
name = "dest"
start_urls = ["{site}"]
start_callback = "page"

[callbacks.page]
follow = [{ css = "a::attr(href)" }]

[callbacks.page.fields]
title = { css = "h1::text", required = true }
"#;

const RULES_SPEC: &str = r#"
name = "dest-rules"
start_urls = ["{site}"]

[[rules]]
allow = 'secret'
callback = "page"

[callbacks.page.fields]
title = { css = "h1::text", required = true }
"#;

const SITEMAP_SPEC: &str = r#"
name = "dest-sitemap"
sitemap_urls = ["{site}"]
sitemap_rules = [{ pattern = 'secret', callback = "page" }]

[callbacks.page.fields]
title = { css = "h1::text", required = true }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_are_refused_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.html");
    std::fs::write(&path, "<h1>secret</h1>").unwrap();
    let file = url::Url::from_file_path(&path).unwrap().to_string();
    let site = Site::start("127.0.0.1").await.unwrap();
    let enc = |u: &str| url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>();
    let links = site.url(&format!("/links?href={}", enc(&file)));
    let sitemap = site.url(&format!("/sitemap.xml?loc={}", enc(&file)));
    let redirect = site.url(&format!("/redirect?to={}", enc(&file)));
    let refresh = site.url(&format!("/refresh?to={}", enc(&file)));
    let strict_site = || DestinationPolicy::public_only().allow_range(cidr("127.0.0.1/32"));

    // (spec, start URL, titles scraped when everything is allowed, under the policy)
    let cases: [(&str, &str, &[&str], &[&str]); 6] = [
        (PAGES_SPEC, &file, &["secret"], &[]),
        (PAGES_SPEC, &links, &["links", "secret"], &["links"]),
        // The rules' link extractor never leads from a web page to a local file.
        (RULES_SPEC, &links, &[], &[]),
        (SITEMAP_SPEC, &sitemap, &["secret"], &[]),
        // Redirects and meta refresh never lead to file: URLs, whatever the policy.
        (PAGES_SPEC, &redirect, &[], &[]),
        (PAGES_SPEC, &refresh, &[], &[]),
    ];
    for (spec, start, everything, strict) in cases {
        let (_, items) = crawl(spec, &[("site", start)], DestinationPolicy::allow_all()).await;
        assert_eq!(titles(&items), everything, "allow_all, {start}");
        let (outcome, items) = crawl(spec, &[("site", start)], strict_site()).await;
        assert_eq!(titles(&items), strict, "strict, {start}");
        assert_eq!(outcome.finish_reason, "finished");
        let refused = stat(
            &outcome,
            "downloader/exception_type_count/DestinationRefused",
        );
        let expected = i64::from(everything.contains(&"secret"));
        assert_eq!(refused, expected, "strict, {start}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_url_templates_cannot_reach_local_services() {
    let control = Site::start("127.0.0.1").await.unwrap();
    for site in [
        control.url("/listprojects.json"),
        format!("http://2130706433:{}/listprojects.json", control.port()),
        format!("http://localhost:{}/listprojects.json", control.port()),
        format!(
            "http://[::ffff:127.0.0.1]:{}/listprojects.json",
            control.port()
        ),
    ] {
        let (outcome, items) = crawl(PAGES_SPEC, &[("site", &site)], strict()).await;
        assert!(items.is_empty(), "{site}");
        assert_eq!(outcome.finish_reason, "finished");
        assert_eq!(
            stat(
                &outcome,
                "downloader/exception_type_count/DestinationRefused"
            ),
            1,
            "{site}"
        );
        assert_eq!(stat(&outcome, "downloader/exception_count"), 1, "{site}");
        assert_eq!(stat(&outcome, "response_received_count"), 0, "{site}");
    }
    assert_eq!(control.total_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_of_dont_filter_start_requests_are_checked_for_offsite() {
    let site = Site::start("127.0.0.1").await.unwrap();
    let spec = PAGES_SPEC.replace(
        "start_callback",
        "allowed_domains = [\"127.0.0.1\"]\nstart_callback",
    );
    let other = format!("http://localhost:{}/elsewhere", site.port());
    let run = |start: String| {
        let spec = spec.clone();
        async move { crawl(&spec, &[("site", &start)], DestinationPolicy::allow_all()).await }
    };

    // To another host: filtered, by redirect and by meta refresh.
    for hop in ["redirect", "refresh"] {
        let (outcome, items) = run(site.url(&format!("/{hop}?to={other}"))).await;
        assert!(items.is_empty(), "{hop}");
        assert_eq!(stat(&outcome, "offsite/filtered"), 1, "{hop}");
    }
    assert_eq!(site.hits("/elsewhere"), 0);

    // On the same host: followed.
    let (_, items) = run(site.url("/redirect?to=/same")).await;
    assert_eq!(titles(&items), ["page /same"]);
    // An offsite start request is the spider's choice (dont_filter), and so is a
    // redirect that stays on its host.
    let (_, items) = run(format!("http://localhost:{}/start", site.port())).await;
    assert_eq!(titles(&items), ["page /start"]);
    let (outcome, items) = run(format!(
        "http://localhost:{}/redirect?to=/kept",
        site.port()
    ))
    .await;
    assert_eq!(titles(&items), ["page /kept"]);
    assert_eq!(stat(&outcome, "offsite/filtered"), 0);
}
