//! The HTTP/file download handler: one `reqwest` client, limits from settings.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;

use super::destination::PolicyResolver;
use super::{DestinationPolicy, DestinationRefused, DownloadError};
use crate::bounded::BoundedBuf;
use crate::request::Request;
use crate::response::Response;
use crate::settings::{SettingError, Settings};

/// Download limits and client options, from settings.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// DOWNLOAD_TIMEOUT (per request: `meta["download_timeout"]`).
    pub timeout: Duration,
    /// DOWNLOAD_MAXSIZE in bytes, 0 = unlimited (per request: `meta["download_maxsize"]`).
    pub maxsize: u64,
    /// DOWNLOAD_WARNSIZE in bytes, 0 = never warn (per request: `meta["download_warnsize"]`).
    pub warnsize: u64,
    /// COMPRESSION_ENABLED: accept and decode gzip, deflate and br.
    pub compression: bool,
    /// Idle connections kept per host.
    pub pool_per_host: usize,
}

impl FetchConfig {
    /// Reads the download settings.
    pub fn from_settings(s: &Settings) -> Result<Self, SettingError> {
        Ok(FetchConfig {
            timeout: s.get_duration("DOWNLOAD_TIMEOUT")?,
            maxsize: s.get_u64("DOWNLOAD_MAXSIZE")?,
            warnsize: s.get_u64("DOWNLOAD_WARNSIZE")?,
            compression: s.get_bool("COMPRESSION_ENABLED")?,
            pool_per_host: s.get_usize("CONCURRENT_REQUESTS_PER_DOMAIN")?.max(1),
        })
    }
}

/// Downloads requests over HTTP(S) (HTTP/1.1 and HTTP/2) and from `file:` URLs.
///
/// Redirects are not followed here: the redirect middleware does that, as in Scrapy.
/// Proxies come only from meta `proxy` (HttpProxyMiddleware fills it from the
/// environment), as in Scrapy; the client does not look at proxy variables itself.
///
/// Every fetch is checked against the fetcher's [`DestinationPolicy`]: the URL before
/// the request, and, for a restricted policy, each address a host name resolves to at
/// connect time.
pub struct Fetcher {
    cfg: FetchConfig,
    destinations: Arc<DestinationPolicy>,
    client: reqwest::Client,
    proxied: Mutex<HashMap<String, reqwest::Client>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("cfg", &self.cfg)
            .field("destinations", &self.destinations)
            .finish()
    }
}

/// What a download returns: the response, or the request back with the error.
pub type FetchResult = Result<Response, (Request, DownloadError)>;

impl Fetcher {
    /// A fetcher with its own connection pool that fetches any destination
    /// ([`DestinationPolicy::allow_all`]).
    pub fn new(cfg: FetchConfig) -> Result<Self, DownloadError> {
        Self::with_destinations(cfg, DestinationPolicy::allow_all())
    }

    /// A fetcher with its own connection pool, limited to `destinations`.
    pub fn with_destinations(
        cfg: FetchConfig,
        destinations: DestinationPolicy,
    ) -> Result<Self, DownloadError> {
        let destinations = Arc::new(destinations);
        // Only the direct client resolves target names: a proxied one resolves just the
        // proxy's name, which the operator chose.
        let resolver = destinations
            .is_restricted()
            .then(|| Arc::new(PolicyResolver::new(destinations.clone())));
        let client = Self::build_client(&cfg, None, resolver)?;
        Ok(Fetcher {
            cfg,
            destinations,
            client,
            proxied: Mutex::new(HashMap::new()),
        })
    }

    fn build_client(
        cfg: &FetchConfig,
        proxy: Option<&str>,
        resolver: Option<Arc<PolicyResolver>>,
    ) -> Result<reqwest::Client, DownloadError> {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(cfg.pool_per_host)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .gzip(cfg.compression)
            .brotli(cfg.compression)
            .deflate(cfg.compression);
        if let Some(p) = proxy {
            let proxy = reqwest::Proxy::all(p)
                .map_err(|e| DownloadError::Other(format!("invalid proxy {p:?}: {e}")))?;
            b = b.proxy(proxy);
        }
        if let Some(r) = resolver {
            b = b.dns_resolver(r);
        }
        b.build()
            .map_err(|e| DownloadError::Other(format!("cannot build HTTP client: {e}")))
    }

    /// The configuration in use.
    pub fn config(&self) -> &FetchConfig {
        &self.cfg
    }

    /// The destinations this fetcher may reach.
    pub fn destinations(&self) -> &DestinationPolicy {
        &self.destinations
    }

    fn client_for(&self, req: &Request) -> Result<reqwest::Client, DownloadError> {
        let Some(proxy) = req.meta_str("proxy").filter(|p| !p.is_empty()) else {
            return Ok(self.client.clone());
        };
        let mut cache = self.proxied.lock();
        if let Some(c) = cache.get(proxy) {
            return Ok(c.clone());
        }
        let c = Self::build_client(&self.cfg, Some(proxy), None)?;
        cache.insert(proxy.to_string(), c.clone());
        Ok(c)
    }

    /// Downloads `req`; on failure the request comes back with the error. A URL the
    /// destination policy refuses fails with [`DownloadError::DestinationRefused`]
    /// without any connection.
    pub async fn fetch(&self, req: Request) -> FetchResult {
        if let Err(refused) = self.destinations.check_url(&req.url) {
            return Err((req, DownloadError::DestinationRefused(refused)));
        }
        let timeout = req
            .meta
            .get("download_timeout")
            .and_then(|v| v.as_f64())
            .filter(|t| *t > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(self.cfg.timeout);
        let maxsize = req.meta_u64("download_maxsize").unwrap_or(self.cfg.maxsize);
        let warnsize = req
            .meta_u64("download_warnsize")
            .unwrap_or(self.cfg.warnsize);
        let started = Instant::now();
        let result = match req.url.scheme() {
            "http" | "https" => {
                let fut = self.fetch_http(&req, maxsize, warnsize);
                match tokio::time::timeout(timeout, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(DownloadError::Timeout(timeout)),
                }
            }
            "file" => fetch_file(&req, maxsize).await,
            other => Err(DownloadError::UnsupportedScheme(other.to_string())),
        };
        match result {
            Ok((status, headers, body, protocol, url)) => {
                let mut resp = Response::new(req, url, status, headers, body);
                resp.protocol = protocol;
                resp.download_latency = started.elapsed();
                Ok(resp)
            }
            Err(e) => Err((req, e)),
        }
    }

    async fn fetch_http(
        &self,
        req: &Request,
        maxsize: u64,
        warnsize: u64,
    ) -> Result<(u16, HeaderMap, Bytes, &'static str, url::Url), DownloadError> {
        let client = self.client_for(req)?;
        let mut rb = client
            .request(req.method.clone(), req.url.clone())
            .headers(req.headers.clone());
        if !req.body.is_empty() {
            rb = rb.body(req.body.clone());
        }
        let mut resp = rb.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let protocol = match resp.version() {
            http::Version::HTTP_2 => "HTTP/2",
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        };
        let url = resp.url().clone();
        let expected = resp.content_length().unwrap_or(0);
        if maxsize > 0 && expected > maxsize {
            return Err(DownloadError::TooLarge {
                max: maxsize,
                url: url.to_string(),
            });
        }
        if warnsize > 0 && expected > warnsize {
            tracing::warn!(%url, expected, warnsize, "expected response size is larger than DOWNLOAD_WARNSIZE");
        }
        let headers = std::mem::take(resp.headers_mut());
        // Chunks arrive decoded (gzip, deflate, br), so the limit holds for the
        // decompressed size as it streams, and the buffer never grows past it.
        let mut body = BoundedBuf::new(maxsize, expected);
        let mut warned = expected > warnsize;
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.push(&chunk).is_err() {
                return Err(DownloadError::TooLarge {
                    max: maxsize,
                    url: url.to_string(),
                });
            }
            let len = body.len() as u64;
            if warnsize > 0 && !warned && len > warnsize {
                warned = true;
                tracing::warn!(%url, received = len, warnsize, "received more bytes than DOWNLOAD_WARNSIZE");
            }
        }
        Ok((status, headers, body.into_bytes(), protocol, url))
    }
}

async fn fetch_file(
    req: &Request,
    maxsize: u64,
) -> Result<(u16, HeaderMap, Bytes, &'static str, url::Url), DownloadError> {
    let path = req
        .url
        .to_file_path()
        .map_err(|_| DownloadError::File(format!("not a local file URL: {}", req.url)))?;
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| DownloadError::File(format!("{}: {e}", path.display())))?;
    if maxsize > 0 && meta.len() > maxsize {
        return Err(DownloadError::TooLarge {
            max: maxsize,
            url: req.url.to_string(),
        });
    }
    let body = tokio::fs::read(&path)
        .await
        .map_err(|e| DownloadError::File(format!("{}: {e}", path.display())))?;
    let mut headers = HeaderMap::new();
    let ctype = match path.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => Some("text/html"),
        Some("xml") => Some("text/xml"),
        Some("json") => Some("application/json"),
        Some("txt") => Some("text/plain"),
        Some("gz") => Some("application/gzip"),
        _ => None,
    };
    if let Some(c) = ctype {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(c));
    }
    Ok((200, headers, Bytes::from(body), "file", req.url.clone()))
}

/// Maps a reqwest error onto a [`DownloadError`] by walking its source chain.
fn classify(e: reqwest::Error) -> DownloadError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    // The resolver's refusal sits under a "dns error": look for it first.
    while let Some(s) = src {
        if let Some(refused) = s.downcast_ref::<DestinationRefused>() {
            return DownloadError::DestinationRefused(refused.clone());
        }
        src = s.source();
    }
    src = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return DownloadError::ConnectionRefused(io.to_string())
                }
                std::io::ErrorKind::TimedOut => {
                    return DownloadError::Timeout(Duration::ZERO);
                }
                _ => {}
            }
        }
        let text = s.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return DownloadError::Dns(text);
        }
        src = s.source();
    }
    if e.is_timeout() {
        return DownloadError::Timeout(Duration::ZERO);
    }
    if e.is_connect() || e.is_body() || e.is_request() || e.is_decode() {
        return DownloadError::ConnectionLost(error_chain(&e));
    }
    DownloadError::Other(error_chain(&e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
