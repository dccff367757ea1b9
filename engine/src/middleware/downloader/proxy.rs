//! HttpProxy (750): proxies from the environment and proxy credentials.

use futures::future::BoxFuture;
use http::HeaderValue;
use serde_json::Value;
use url::Url;

use super::registry::{base64, host_in_domain};
use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction};
use crate::request::Request;
use crate::settings::SettingError;

/// Scrapy's `HttpProxyMiddleware`.
///
/// At start it reads `http_proxy`, `https_proxy` and `no_proxy` (either case; the
/// HTTP_PROXY / HTTPS_PROXY settings win when set) and sets meta `proxy` on requests that
/// have none; the fetcher then uses that proxy. A request with meta `proxy` set to null or
/// `""` is sent directly. Credentials in the proxy URL become a `Proxy-Authorization:
/// Basic` header for `http:` targets (and are stripped from the URL); for `https:`
/// targets they stay in the proxy URL so they go only into the CONNECT request, never
/// through the tunnel to the site.
pub struct HttpProxyMiddleware {
    http: Option<String>,
    https: Option<String>,
    no_proxy: Vec<String>,
}

impl HttpProxyMiddleware {
    /// `None` when HTTPPROXY_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if !ctx.settings.get_bool("HTTPPROXY_ENABLED")? {
            return Ok(None);
        }
        let env = |name: &str| {
            std::env::var(name)
                .or_else(|_| std::env::var(name.to_ascii_uppercase()))
                .ok()
        };
        let setting = |name: &str| {
            let v = ctx.settings.get_str(name);
            (!v.trim().is_empty()).then(|| v.trim().to_string())
        };
        Ok(Some(Self::new(
            setting("HTTP_PROXY").or_else(|| env("http_proxy")),
            setting("HTTPS_PROXY").or_else(|| env("https_proxy")),
            env("no_proxy").as_deref(),
        )))
    }

    /// A middleware with these proxies and a `no_proxy` list (comma-separated hosts or
    /// domains, `*` for all).
    pub fn new(http: Option<String>, https: Option<String>, no_proxy: Option<&str>) -> Self {
        let clean = |p: Option<String>| p.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        HttpProxyMiddleware {
            http: clean(http),
            https: clean(https),
            no_proxy: no_proxy
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    fn bypass(&self, request: &Request) -> bool {
        let host = request.host();
        self.no_proxy.iter().any(|d| {
            let d = d.split(':').next().unwrap_or("");
            d == "*" || host_in_domain(host, d)
        })
    }
}

/// Moves credentials out of `proxy` into a `Proxy-Authorization` value.
fn split_credentials(proxy: &str) -> Option<(String, HeaderValue)> {
    let mut url = Url::parse(proxy).ok()?;
    if url.username().is_empty() {
        return None;
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let creds = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or(""))
    );
    let header = HeaderValue::from_str(&format!("Basic {}", base64(creds.as_bytes()))).ok()?;
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    Some((url.to_string(), header))
}

impl DownloaderMiddleware for HttpProxyMiddleware {
    fn name(&self) -> &str {
        "HttpProxyMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        let proxy = match request.meta.get("proxy") {
            Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_string()),
            Some(_) => None,
            None if self.bypass(request) => None,
            None => match request.url.scheme() {
                "http" => self.http.clone(),
                "https" => self.https.clone(),
                _ => None,
            },
        };
        if let Some(proxy) = proxy {
            let mut meta_proxy = proxy.clone();
            if request.url.scheme() == "http" {
                if let Some((bare, auth)) = split_credentials(&proxy) {
                    request
                        .headers
                        .insert(http::header::PROXY_AUTHORIZATION, auth);
                    meta_proxy = bare;
                }
            }
            request
                .meta
                .insert("proxy".into(), Value::String(meta_proxy));
        }
        Box::pin(std::future::ready(RequestAction::Continue))
    }
}
