//! Generated site: determinism, ground truth, reachability, and serving over HTTP.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trawl_demo::{serve, Site, SiteSpec};

const BASE: &str = "http://127.0.0.1:1";

fn site(n: usize) -> Site {
    Site::generate(SiteSpec::new(n, 7))
}

#[test]
fn generation_is_deterministic() {
    let (a, b) = (site(300), site(300));
    for path in a.html_paths() {
        assert_eq!(a.get(&path, BASE), b.get(&path, BASE), "{path}");
    }
    assert_eq!(
        a.products().collect::<Vec<_>>(),
        b.products().collect::<Vec<_>>()
    );
    let c = Site::generate(SiteSpec::new(300, 8));
    assert_ne!(a.product(1), c.product(1));
    // Byte-identical on every request.
    assert_eq!(a.get("/p/5.html", BASE).body, a.get("/p/5.html", BASE).body);
}

#[test]
fn pages_match_ground_truth_and_size() {
    let s = site(200);
    let spec = s.spec().clone();
    assert_eq!(s.expected_item_count(), 200);
    for p in s.products() {
        let page = s.get(&p.url, BASE);
        assert_eq!(page.status, 200);
        let html = std::str::from_utf8(&page.body).unwrap();
        let title = p.title.replace('&', "&amp;");
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{}", p.url);
        assert!(html.contains(&format!("<span class=\"price\">${:.2}</span>", p.price)));
        let desc = format!("<p>{}</p>", p.description.replace('\n', "</p>\n<p>"));
        assert!(html.contains(&format!("<div class=\"description\">{desc}</div>")));
        let len = page.body.len();
        assert!(
            len >= spec.page_size_bytes.0 && len <= spec.page_size_bytes.1,
            "{} is {len} bytes",
            p.url
        );
        let related = html
            .split("<ul class=\"related\">")
            .nth(1)
            .unwrap()
            .matches("<li>")
            .count();
        assert!((5..=10).contains(&related));
    }
    assert!(s.products().any(|p| p.title.contains('&')));
    assert!(s.products().any(|p| !p.title.is_ascii()));
}

#[test]
fn every_product_is_reachable_from_the_index() {
    let s = site(1000);
    let href = Regex::new(r#"href="([^"]+)""#).unwrap();
    let (mut seen, mut queue) = (BTreeSet::new(), VecDeque::from(["/index.html".to_string()]));
    let (mut found, mut broken, mut redirected) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let page = s.get(&path, BASE);
        match page.status {
            404 => {
                broken.insert(path);
                continue;
            }
            301 => {
                redirected.insert(path);
                queue.push_back(
                    page.location
                        .unwrap()
                        .strip_prefix(BASE)
                        .unwrap()
                        .to_string(),
                );
                continue;
            }
            _ => {}
        }
        if path.starts_with("/p/") {
            found.insert(path.clone());
        }
        let html = std::str::from_utf8(&page.body).unwrap();
        queue.extend(href.captures_iter(html).map(|c| c[1].to_string()));
    }
    assert_eq!(found.len(), s.expected_item_count());
    assert_eq!(broken, s.broken_urls());
    assert_eq!(redirected, s.redirects().keys().cloned().collect());
    assert!(!broken.is_empty() && !redirected.is_empty());
    // Reachable through listings alone (not only through related links).
    let listed: BTreeSet<String> = s
        .html_paths()
        .iter()
        .filter(|p| p.starts_with("/category/"))
        .flat_map(|p| {
            let page = s.get(p, BASE);
            let html = String::from_utf8(page.body.to_vec()).unwrap();
            href.captures_iter(&html)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .filter(|h| h.starts_with("/p/") || h.starts_with("/item/"))
        .collect();
    assert_eq!(listed.len(), s.expected_item_count());
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn serves_over_loopback() {
    let s = Arc::new(site(100));
    let server = serve(s.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    assert_ne!(addr.port(), 0);
    let resp = get(addr, "/p/3.html").await;
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp
        .to_ascii_lowercase()
        .contains("content-type: text/html; charset=utf-8"));
    let body = resp.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body.as_bytes(),
        &s.get("/p/3.html", &server.base_url()).body[..]
    );
    assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    let robots = get(addr, "/robots.txt").await;
    assert!(
        robots.contains(&format!("Sitemap: http://{addr}/sitemap.xml")),
        "{robots}"
    );
    let sitemap = get(addr, "/sitemap.xml").await;
    assert_eq!(sitemap.matches("<loc>").count(), s.html_paths().len());
    if let Some((from, to)) = s.redirects().into_iter().next() {
        let r = get(addr, &from).await;
        assert!(r.starts_with("HTTP/1.1 301"), "{r}");
        assert!(
            r.contains(&format!("location: http://{addr}{to}\r\n")),
            "{r}"
        );
    }
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = serve(Arc::new(site(10)), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    assert!(get(addr, "/index.html").await.contains("/category/1.html"));
    drop(server);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn categories_match_their_listing_pages() {
    let s = site(450);
    let cats: Vec<_> = s.categories().collect();
    assert_eq!(cats.len(), 4);
    for c in &cats {
        let first = s.get(&Site::listing_path(c.number, 1), BASE);
        let html = std::str::from_utf8(&first.body).unwrap();
        assert!(html.contains(&format!("<h1>{}</h1>", c.name)), "{html}");
        assert!(html.contains(&format!("Page 1 of {}", c.pages)), "{html}");
        let last = s.get(&Site::listing_path(c.number, c.pages), BASE);
        assert_eq!(last.status, 200);
        let after = s.get(&Site::listing_path(c.number, c.pages + 1), BASE);
        assert_eq!(after.status, 404);
    }
    let listings = s
        .html_paths()
        .iter()
        .filter(|p| p.starts_with("/category/"))
        .count();
    assert_eq!(listings, cats.iter().map(|c| c.pages).sum::<usize>());
}
