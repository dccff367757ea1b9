//! Spec spiders against small real HTTP servers on loopback (and local files): timeouts,
//! refused connections, encodings, size limits, broken HTML, file:// URLs, sitemaps,
//! robots.txt, depth and page limits, and field extraction options.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use trawl_demo::{serve, Site, SiteSpec};

use common::{crawl_spec, serve_router, stat};

/// A spec with one start URL whose page goes to callback `page` with `fields`.
fn one_page_spec(url: &str, fields: &str) -> String {
    format!(
        "name = \"edge\"\nstart_urls = [{url:?}]\nstart_callback = \"page\"\n\
         [callbacks.page.fields]\n{fields}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_timeout_is_retried_then_counted() {
    let base = serve_router(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Html("<h1>too late</h1>")
        }),
    ))
    .await;
    let spec = one_page_spec(&format!("{base}/slow"), r#"title = { css = "h1::text" }"#);
    let (outcome, items) = crawl_spec(&spec, &[], &["DOWNLOAD_TIMEOUT=1", "RETRY_TIMES=1"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert!(items.is_empty());
    assert_eq!(
        stat(&outcome, "downloader/exception_type_count/TimeoutError"),
        2
    );
    assert_eq!(stat(&outcome, "retry/count"), 1);
    assert_eq!(stat(&outcome, "retry/reason_count/TimeoutError"), 1);
    assert_eq!(stat(&outcome, "retry/max_reached"), 1);
    assert_eq!(stat(&outcome, "response_received_count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_retried_then_counted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let spec = one_page_spec(
        &format!("http://127.0.0.1:{port}/"),
        r#"title = { css = "h1::text" }"#,
    );
    let (outcome, items) = crawl_spec(&spec, &[], &["RETRY_TIMES=1"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert!(items.is_empty());
    assert_eq!(
        stat(
            &outcome,
            "downloader/exception_type_count/ConnectionRefusedError"
        ),
        2
    );
    assert_eq!(
        stat(&outcome, "retry/reason_count/ConnectionRefusedError"),
        1
    );
    assert_eq!(stat(&outcome, "retry/max_reached"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_encodings_are_decoded() {
    let cp1252 = {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(
            "<html><head><meta charset=\"windows-1252\"></head>\
             <body><h1>Café “déjà vu” – 5 €</h1></body></html>",
        );
        bytes.into_owned()
    };
    let sjis = {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("<html><body><h1>日本語のページ</h1></body></html>");
        bytes.into_owned()
    };
    assert!(std::str::from_utf8(&cp1252).is_err() && std::str::from_utf8(&sjis).is_err());
    let base = serve_router(
        Router::new()
            .route(
                "/cp1252",
                get(move || async move { ([(header::CONTENT_TYPE, "text/html")], cp1252) }),
            )
            .route(
                "/sjis",
                get(move || async move {
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=shift_jis")],
                        sjis,
                    )
                }),
            ),
    )
    .await;
    let (_, items) = crawl_spec(
        &one_page_spec(&format!("{base}/cp1252"), r#"title = { css = "h1::text" }"#),
        &[],
        &[],
    )
    .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "Café “déjà vu” – 5 €");
    let (_, items) = crawl_spec(
        &one_page_spec(&format!("{base}/sjis"), r#"title = { css = "h1::text" }"#),
        &[],
        &[],
    )
    .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "日本語のページ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_download_maxsize_are_dropped() {
    let big = format!(
        "<html><body><h1>big</h1><p>{}</p></body></html>",
        "x".repeat(50_000)
    );
    let base = serve_router(
        Router::new()
            .route(
                "/",
                get(|| async { Html(r#"<a href="/big">big</a> <a href="/small">small</a>"#) }),
            )
            .route("/big", get(move || async move { Html(big) }))
            .route("/small", get(|| async { Html("<h1>small</h1>") })),
    )
    .await;
    let spec = format!(
        "name = \"maxsize\"\nstart_urls = [\"{base}/\"]\n\
         [[rules]]\nallow = '/(big|small)$'\ncallback = \"page\"\n\
         [callbacks.page.fields]\ntitle = {{ css = \"h1::text\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &["DOWNLOAD_MAXSIZE=10000"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "small");
    assert_eq!(
        stat(
            &outcome,
            "downloader/exception_type_count/DownloadMaxSizeExceeded"
        ),
        1
    );
    assert_eq!(
        stat(&outcome, "retry/count"),
        0,
        "a size error is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_html_still_extracts() {
    let base = serve_router(Router::new().route(
        "/",
        get(|| async {
            Html(
                "<html><body></div><div class=product><h1>Broken <b>page</h1>\
                 <span class=price>$1,234.50</span></div></div><p>unclosed <p>para \
                 <ul><li>a<li>b<li>c</ul>",
            )
        }),
    ))
    .await;
    let spec = one_page_spec(
        &format!("{base}/"),
        r#"title = { css = "h1 ::text", join = "", strip = false }
price = { css = ".price::text", re = '[\d,.]+', type = "float" }
li = { css = "li ::text", all = true }"#,
    );
    let (_, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "Broken page");
    assert_eq!(items[0]["price"], json!(1234.5));
    assert_eq!(
        items[0].get("li").cloned().unwrap_or_default(),
        json!(["a", "b", "c"]),
        "{items:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_are_crawled_with_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        r#"<a href="a.html">A</a> <a href="sub/b.html">B</a> <a href="missing.html">gone</a>"#,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.html"), "<h1>Page A</h1>").unwrap();
    std::fs::write(
        dir.path().join("sub/b.html"),
        r#"<h1>Page B</h1><a href="../a.html">back</a>"#,
    )
    .unwrap();
    let start = url::Url::from_file_path(dir.path().join("index.html")).unwrap();
    let spec = format!(
        "name = \"files\"\nstart_urls = [\"{start}\"]\n\
         [[rules]]\nallow = '\\.html$'\ncallback = \"page\"\nfollow = true\n\
         [callbacks.page.fields]\ntitle = {{ css = \"h1::text\", required = true }}\nurl = {{ value = \"{{url}}\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let mut titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Page A", "Page B"]);
    assert!(items
        .iter()
        .all(|i| i["url"].as_str().unwrap().starts_with("file://")));
    assert_eq!(
        stat(&outcome, "downloader/exception_type_count/FileError"),
        1,
        "missing.html"
    );
}

async fn demo_site(products: usize) -> (Arc<Site>, trawl_demo::SiteServer) {
    let site = Arc::new(Site::generate(SiteSpec::new(products, 11)));
    let server = serve(site.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (site, server)
}

fn sitemap_spec(sitemap: &str) -> String {
    format!(
        r#"name = "sitemap"
sitemap_urls = ["{{site}}{sitemap}"]
sitemap_rules = [{{ pattern = '/p/\d+\.html$', callback = "product" }}]

[callbacks.product.fields]
id = {{ css = "div.product::attr(data-id)", type = "int", required = true }}
title = {{ css = "h1::text" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemap_specs_extract_every_product() {
    let (site, server) = demo_site(120).await;
    let base = server.base_url();
    for sitemap in ["/robots.txt", "/sitemap.xml"] {
        let (outcome, items) = crawl_spec(&sitemap_spec(sitemap), &[("site", &base)], &[]).await;
        assert_eq!(outcome.finish_reason, "finished");
        assert_eq!(items.len(), site.expected_item_count(), "via {sitemap}");
        let mut got: Vec<(u64, String)> = items
            .iter()
            .map(|i| {
                (
                    i["id"].as_u64().unwrap(),
                    i["title"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        got.sort();
        let truth: Vec<(u64, String)> = site.products().map(|p| (p.id as u64, p.title)).collect();
        assert_eq!(got, truth, "via {sitemap}");
        // Only product pages were fetched besides the sitemap files: no listings, no 404s.
        let sitemap_fetches = if sitemap == "/robots.txt" { 2 } else { 1 };
        assert_eq!(
            stat(&outcome, "response_received_count") as usize,
            site.expected_item_count() + sitemap_fetches
        );
    }
    server.shutdown().await;
}

fn shop_router(robots: &'static str) -> Router {
    Router::new()
        .route("/robots.txt", get(move || async move { robots }))
        .route(
            "/index.html",
            get(|| async {
                Html(r#"<a href="/p/1.html">1</a><a href="/p/2.html">2</a><a href="/about.html">about</a>"#)
            }),
        )
        .route(
            "/p/{id}",
            get(|Path(id): Path<String>| async move { Html(format!("<h1>product {id}</h1>")) }),
        )
        .route("/about.html", get(|| async { Html("<h1>about</h1>") }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_disallow_is_obeyed() {
    let base = serve_router(shop_router("User-agent: *\nDisallow: /p/\n")).await;
    let spec = format!(
        "name = \"robots\"\nstart_urls = [\"{base}/index.html\"]\n\
         [[rules]]\nallow = '/p/'\ncallback = \"page\"\n\
         [[rules]]\nallow = '/about'\ncallback = \"page\"\n\
         [callbacks.page.fields]\ntitle = {{ css = \"h1::text\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &["ROBOTSTXT_OBEY=true"]).await;
    let titles: Vec<&Value> = items.iter().map(|i| &i["title"]).collect();
    assert_eq!(titles, [&json!("about")], "no product page was scraped");
    assert_eq!(stat(&outcome, "robotstxt/forbidden"), 2);
    assert_eq!(stat(&outcome, "robotstxt/request_count"), 1);

    // The same crawl without ROBOTSTXT_OBEY scrapes the products.
    let (outcome, items) = crawl_spec(&spec, &[], &["ROBOTSTXT_OBEY=false"]).await;
    assert_eq!(items.len(), 3);
    assert_eq!(stat(&outcome, "robotstxt/forbidden"), 0);
}

/// `/d/{n}` links to `/d/{n+1}`, forever.
fn chain() -> Router {
    Router::new().route(
        "/d/{n}",
        get(|Path(n): Path<u64>| async move {
            Html(format!("<h1>{n}</h1><a href=\"/d/{}\">next</a>", n + 1))
        }),
    )
}

fn chain_spec(base: &str) -> String {
    format!(
        "name = \"chain\"\nstart_urls = [\"{base}/d/0\"]\nstart_callback = \"page\"\n\
         [[rules]]\nallow = '/d/'\ncallback = \"page\"\nfollow = true\n\
         [callbacks.page.fields]\nn = {{ css = \"h1::text\", type = \"int\" }}\ndepth = {{ value = \"{{depth}}\", type = \"int\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_limit_stops_following() {
    let base = serve_router(chain()).await;
    let (outcome, items) = crawl_spec(&chain_spec(&base), &[], &["DEPTH_LIMIT=1"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let mut got: Vec<(i64, i64)> = items
        .iter()
        .map(|i| (i["n"].as_i64().unwrap(), i["depth"].as_i64().unwrap()))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [(0, 0), (1, 1)]);
    assert_eq!(stat(&outcome, "request_depth_max"), 1);
    assert_eq!(stat(&outcome, "response_received_count"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closespider_pagecount_stops_the_crawl() {
    let base = serve_router(chain()).await;
    let (outcome, items) = crawl_spec(&chain_spec(&base), &[], &["CLOSESPIDER_PAGECOUNT=5"]).await;
    assert_eq!(outcome.finish_reason, "closespider_pagecount");
    // The chain has one request in flight at a time: exactly five pages.
    assert_eq!(stat(&outcome, "response_received_count"), 5);
    assert_eq!(items.len(), 5);
    assert!(outcome.pending.is_some(), "the next page was left pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_nodes_templates_required_lists_and_types() {
    let base = serve_router(Router::new().route(
        "/list",
        get(|| async {
            Html(
                r#"<html><body><h1>Catalogue</h1><ul>
<li class="product" data-id="1"><b class="name"> Lamp </b><i class="price">$1,299.00</i>
  <span class="stock">yes</span><a class="tag">home</a><a class="tag">light</a></li>
<li class="product" data-id="2"><b class="name">Chair</b><i class="price">$45.50</i>
  <span class="stock">no</span></li>
<li class="product" data-id="3"><i class="price">$3.00</i><span class="stock">yes</span></li>
<li class="product" data-id="4"><b class="name">Desk</b><span class="stock">maybe</span></li>
</ul></body></html>"#,
            )
        }),
    ))
    .await;
    let spec = format!(
        r#"name = "nodes"
start_urls = ["{base}/list"]
start_callback = "list"

[callbacks.list]
items = {{ css = "li.product" }}

[callbacks.list.fields]
id = {{ css = "::attr(data-id)", type = "int" }}
name = {{ css = ".name::text", required = true }}
price = {{ css = ".price::text", re = '[\d,.]+', type = "float" }}
cents = {{ css = ".price::text", re = '\.(\d+)', type = "int", default = 0 }}
in_stock = {{ css = ".stock::text", type = "bool" }}
tags = {{ css = "a.tag::text", all = true }}
page = {{ value = "{{url}}" }}
category = {{ value = "cat:{{category}}" }}
answer = {{ value = 42 }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[("category", "furniture")], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let url = format!("{base}/list");
    assert_eq!(
        Value::Array(items.into_iter().map(Value::Object).collect()),
        json!([
            {"id": 1, "name": "Lamp", "price": 1299.0, "cents": 0, "in_stock": true,
             "tags": ["home", "light"], "page": url, "category": "cat:furniture", "answer": 42},
            {"id": 2, "name": "Chair", "price": 45.5, "cents": 50, "in_stock": false,
             "page": url, "category": "cat:furniture", "answer": 42},
            {"id": 4, "name": "Desk", "cents": 0,
             "page": url, "category": "cat:furniture", "answer": 42},
        ])
    );
    // Item 3 has no name: dropped, and counted.
    assert_eq!(stat(&outcome, "item_dropped_count"), 1);
    assert_eq!(stat(&outcome, "item_scraped_count"), 3);
    assert_eq!(
        stat(
            &outcome,
            "item_dropped_reasons_count/missing required field name"
        ),
        1
    );
}

/// As Scrapy's CrawlSpider: rules follow links only from HTML responses (a text file
/// that holds markup yields none), and links to IGNORED_EXTENSIONS (scripts, archives)
/// are not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_follow_links_only_from_html() {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                Html(
                    r#"<a href="/notes.txt">notes</a> <a href="/page">page</a>
                       <a href="/tool.sh">sh</a> <a href="/app.js">js</a> <a href="/lib.py">py</a>"#,
                )
            }),
        )
        .route(
            "/notes.txt",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain")],
                    r#"<html><a href="/from-text">hidden</a></html>"#,
                )
            }),
        )
        .route("/page", get(|| async { Html("<h1>page</h1>") }))
        .route("/from-text", get(|| async { Html("<h1>never</h1>") }));
    let base = serve_router(app).await;
    let spec = format!(
        "name = \"html-only\"\nstart_urls = [\"{base}/\"]\n\
         [[rules]]\ncallback = \"page\"\nfollow = true\n\
         [callbacks.page.fields]\nurl = {{ value = \"{{url}}\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let mut urls: Vec<String> = items
        .iter()
        .map(|i| {
            i["url"]
                .as_str()
                .unwrap()
                .trim_start_matches(&base)
                .to_string()
        })
        .collect();
    urls.sort_unstable();
    assert_eq!(urls, ["/notes.txt", "/page"]);
    assert_eq!(stat(&outcome, "response_received_count"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsite_requests_are_filtered_when_scheduled_and_each_counted() {
    // Three pages link to the same offsite URL: Scrapy filters each request when it is
    // scheduled (before the duplicate filter), so all are counted and none is queued.
    let base = serve_router(
        Router::new()
            .route(
                "/",
                get(|| async {
                    Html("<a href='/a'>a</a><a href='/b'>b</a><a href='http://offsite.invalid/x'>x</a>")
                }),
            )
            .route(
                "/{p}",
                get(|Path(p): Path<String>| async move {
                    Html(format!("<h1>{p}</h1><a href='http://offsite.invalid/x'>x</a>"))
                }),
            ),
    )
    .await;
    let spec = format!(
        "name = \"offsite\"\nstart_urls = [\"{base}/\"]\nallowed_domains = [\"127.0.0.1\"]\n\
         [[rules]]\ncallback = \"page\"\nfollow = true\n\
         [callbacks.page.fields]\ntitle = {{ css = \"h1::text\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(items.len(), 2);
    assert_eq!(stat(&outcome, "offsite/filtered"), 3);
    assert_eq!(stat(&outcome, "offsite/domains"), 1);
    assert_eq!(stat(&outcome, "scheduler/enqueued"), 3);
    assert_eq!(stat(&outcome, "downloader/exception_count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_on_a_binary_body_is_an_error_not_an_item() {
    // Scrapy makes a binary download a plain Response, which has no selectors: the
    // callback fails and no item comes out of a .gz file.
    let app = Router::new()
        .route(
            "/",
            get(|| async { Html(r#"<a href="/data.gz">data</a> <a href="/page">page</a>"#) }),
        )
        .route(
            "/data.gz",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/gzip")],
                    vec![
                        0x1f_u8, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0x4b, 0x4c, 0x4a, 6, 0,
                    ],
                )
            }),
        )
        .route("/page", get(|| async { Html("<h1>page</h1>") }));
    let base = serve_router(app).await;
    let spec = format!(
        "name = \"binary\"\nstart_urls = [\"{base}/\"]\n\
         [[rules]]\ncallback = \"page\"\n\
         [callbacks.page.fields]\nurl = {{ value = \"{{url}}\" }}\n"
    );
    let (outcome, items) = crawl_spec(&spec, &[], &["DOWNLOAD_WARNSIZE=0"]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let urls: Vec<&str> = items.iter().map(|i| i["url"].as_str().unwrap()).collect();
    assert_eq!(urls, [format!("{base}/page")]);
    assert_eq!(stat(&outcome, "spider_exceptions/count"), 1);
    assert_eq!(stat(&outcome, "response_received_count"), 3);
}
