//! HttpCache (900): a filesystem cache of responses keyed by request fingerprint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction, ResponseAction};
use crate::request::{headers_serde, Request};
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Meta key marking a request whose response must not be stored (Scrapy's `_dont_cache`).
const SKIP_STORE: &str = "_dont_cache";

/// The cache key: the request fingerprint in hex.
fn request_fingerprint(request: &Request) -> String {
    crate::fingerprint::to_hex(&crate::fingerprint::fingerprint(request))
}

/// The first line of a cache entry; the raw body follows it.
#[derive(Serialize, Deserialize)]
struct EntryHeader {
    url: String,
    status: u16,
    #[serde(with = "headers_serde")]
    headers: HeaderMap,
}

/// Scrapy's `HttpCacheMiddleware` with the filesystem storage and the dummy policy.
///
/// Each response is stored under `<HTTPCACHE_DIR>/<spider>/<fp[..2]>/<fp>` (a relative
/// HTTPCACHE_DIR lives under `.trawl/` in the working directory), as a JSON line (URL,
/// status, headers) followed by the raw body, written to a temporary file and renamed.
/// A fresh entry (younger than HTTPCACHE_EXPIRATION_SECS, 0 = never expires) answers the
/// request without a download, with the flag `cached`. Responses whose status is in
/// HTTPCACHE_IGNORE_HTTP_CODES and `file:` URLs are not cached; meta `dont_cache`
/// bypasses the cache.
///
/// Stats: `httpcache/hit`, `httpcache/miss`, `httpcache/store`.
pub struct HttpCacheMiddleware {
    dir: PathBuf,
    expiration: Option<Duration>,
    ignore_codes: Vec<u16>,
    stats: Arc<Stats>,
}

impl HttpCacheMiddleware {
    /// `None` when HTTPCACHE_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        let s = &ctx.settings;
        if !s.get_bool("HTTPCACHE_ENABLED")? {
            return Ok(None);
        }
        let configured = PathBuf::from(s.get_str("HTTPCACHE_DIR"));
        let base = if configured.is_absolute() {
            configured
        } else {
            Path::new(".trawl").join(configured)
        };
        let secs = s.get_u64("HTTPCACHE_EXPIRATION_SECS")?;
        let spider = if ctx.spider_name.is_empty() {
            "default"
        } else {
            ctx.spider_name.as_str()
        };
        Ok(Some(HttpCacheMiddleware {
            dir: base.join(sanitize(spider)),
            expiration: (secs > 0).then(|| Duration::from_secs(secs)),
            ignore_codes: s.get_u16_list("HTTPCACHE_IGNORE_HTTP_CODES")?,
            stats: ctx.stats.clone(),
        }))
    }

    fn path_for(&self, fp: &str) -> PathBuf {
        self.dir.join(&fp[..2]).join(fp)
    }

    async fn retrieve(&self, request: &Request) -> Option<Response> {
        let path = self.path_for(&request_fingerprint(request));
        if let Some(exp) = self.expiration {
            let modified = tokio::fs::metadata(&path).await.ok()?.modified().ok()?;
            if SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default()
                > exp
            {
                return None;
            }
        }
        let data = Bytes::from(tokio::fs::read(&path).await.ok()?);
        let nl = data.iter().position(|b| *b == b'\n')?;
        let head: EntryHeader = match serde_json::from_slice(&data[..nl]) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "corrupt cache entry");
                return None;
            }
        };
        let url = Url::parse(&head.url).ok()?;
        let mut resp = Response::new(
            request.clone(),
            url,
            head.status,
            head.headers,
            data.slice(nl + 1..),
        );
        resp.flags.push("cached".into());
        Some(resp)
    }

    async fn store(&self, response: &Response) -> std::io::Result<()> {
        let path = self.path_for(&request_fingerprint(&response.request));
        let dir = path.parent().expect("entry paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        let head = EntryHeader {
            url: response.url.to_string(),
            status: response.status,
            headers: response.headers.clone(),
        };
        let mut data = serde_json::to_vec(&head).map_err(std::io::Error::other)?;
        data.push(b'\n');
        data.extend_from_slice(&response.body);
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id() as u128 * 1_000_000 + rand::random::<u32>() as u128
        ));
        tokio::fs::write(&tmp, &data).await?;
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        Ok(())
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl DownloaderMiddleware for HttpCacheMiddleware {
    fn name(&self) -> &str {
        "HttpCacheMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        Box::pin(async move {
            if request.meta_flag("dont_cache") || request.url.scheme() == "file" {
                request.meta.insert(SKIP_STORE.into(), true.into());
                return RequestAction::Continue;
            }
            match self.retrieve(request).await {
                Some(resp) => {
                    self.stats.inc("httpcache/hit", 1);
                    RequestAction::Respond(Box::new(resp))
                }
                None => {
                    self.stats.inc("httpcache/miss", 1);
                    RequestAction::Continue
                }
            }
        })
    }

    fn process_response<'a>(&'a self, mut response: Response) -> BoxFuture<'a, ResponseAction> {
        Box::pin(async move {
            if response.request.meta.remove(SKIP_STORE).is_some()
                || response.flags.iter().any(|f| f == "cached")
                || self.ignore_codes.contains(&response.status)
            {
                return ResponseAction::Continue(Box::new(response));
            }
            match self.store(&response).await {
                Ok(()) => self.stats.inc("httpcache/store", 1),
                Err(e) => {
                    tracing::warn!(url = %response.url, error = %e, "cannot store response in HTTP cache")
                }
            }
            ResponseAction::Continue(Box::new(response))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_fragment_and_query_order() {
        let a = Request::parse("http://x.test/p?b=2&a=1#frag").unwrap();
        let b = Request::parse("http://x.test/p?a=1&b=2").unwrap();
        let c = Request::parse("http://x.test/p?a=1&b=3").unwrap();
        assert_eq!(request_fingerprint(&a), request_fingerprint(&b));
        assert_ne!(request_fingerprint(&a), request_fingerprint(&c));
        assert_eq!(request_fingerprint(&a).len(), 40);
    }
}
