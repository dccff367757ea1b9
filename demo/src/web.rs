//! A web of hosts on loopback for crawls that span hosts: `hosts` servers on
//! 127.0.0.2, 127.0.0.3, …, each with pages `/p/0` … `/p/{pages-1}` linking to two more
//! pages of their host and to pages of two other hosts, and an entry page `/` linking
//! to `/p/0`; every response optionally delayed. Every page is reachable from the
//! first host's entry page.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;

struct Web {
    bases: Vec<String>,
    pages: usize,
    latency: Duration,
}

async fn page(State((h, web)): State<(usize, Arc<Web>)>, Path(n): Path<usize>) -> Html<String> {
    if !web.latency.is_zero() {
        tokio::time::sleep(web.latency).await;
    }
    let hosts = web.bases.len();
    let a = &web.bases[(h + 1) % hosts];
    let b = &web.bases[(h + 5) % hosts];
    Html(format!(
        "<h1>{h}/{n}</h1><a href=\"/p/{}\">next</a><a href=\"/p/{}\">skip</a>\
         <a href=\"{a}/p/{n}\">a</a><a href=\"{b}/p/{}\">b</a>",
        (n + 1) % web.pages,
        (n + 7) % web.pages,
        (n * 7) % web.pages
    ))
}

/// The spec of a spider that crawls the web from the first host's entry page to every
/// page, one item per page (`url`, `title`): the fan-out tests, the benchmark and the
/// end-to-end tests all crawl with it (`demo/specs/web.toml`).
pub const WEB_SPEC: &str = include_str!("../specs/web.toml");

/// Starts the web; returns the hosts' base URLs (`http://127.0.0.2:PORT`, …). The
/// servers run until the runtime ends.
pub async fn start_web(
    hosts: usize,
    pages: usize,
    latency: Duration,
) -> std::io::Result<Vec<String>> {
    let mut listeners = Vec::new();
    let mut bases = Vec::new();
    for h in 0..hosts {
        let l = tokio::net::TcpListener::bind(format!("127.0.0.{}:0", h + 2)).await?;
        bases.push(format!("http://{}", l.local_addr()?));
        listeners.push(l);
    }
    let web = Arc::new(Web {
        bases: bases.clone(),
        pages: pages.max(1),
        latency,
    });
    for (h, l) in listeners.into_iter().enumerate() {
        let app = Router::new()
            .route("/", get(|| async { Html("<a href=\"/p/0\">pages</a>") }))
            .route("/p/{n}", get(page))
            .with_state((h, web.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    Ok(bases)
}

/// Every page URL of the web (not the entry pages).
pub fn page_urls(bases: &[String], pages: usize) -> std::collections::BTreeSet<String> {
    bases
        .iter()
        .flat_map(|b| (0..pages).map(move |n| format!("{b}/p/{n}")))
        .collect()
}
