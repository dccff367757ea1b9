//! HttpAuth (300): HTTP Basic authentication from HTTP_USER / HTTP_PASS.

use std::sync::OnceLock;

use futures::future::BoxFuture;
use http::HeaderValue;

use super::registry::{base64, host_in_domain};
use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction};
use crate::request::Request;

/// Scrapy's `HttpAuthMiddleware`: adds `Authorization: Basic ...` to requests for
/// HTTP_AUTH_DOMAIN and its subdomains. When HTTP_AUTH_DOMAIN is empty, the domain of
/// the first request is used (as Scrapy 2.13 does), so credentials never leak to other
/// sites the crawl reaches. A request that already has `Authorization` is left alone.
pub struct HttpAuthMiddleware {
    header: HeaderValue,
    domain: OnceLock<String>,
}

impl HttpAuthMiddleware {
    /// `None` when neither HTTP_USER nor HTTP_PASS is set.
    pub fn from_context(ctx: &MiddlewareContext) -> Option<Self> {
        let user = ctx.settings.get_str("HTTP_USER");
        let pass = ctx.settings.get_str("HTTP_PASS");
        if user.is_empty() && pass.is_empty() {
            return None;
        }
        let token = base64(format!("{user}:{pass}").as_bytes());
        let header = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
        let domain = OnceLock::new();
        let configured = ctx.settings.get_str("HTTP_AUTH_DOMAIN");
        if !configured.trim().is_empty() {
            let _ = domain.set(configured.trim().to_ascii_lowercase());
        }
        Some(HttpAuthMiddleware { header, domain })
    }
}

impl DownloaderMiddleware for HttpAuthMiddleware {
    fn name(&self) -> &str {
        "HttpAuthMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        let domain = self
            .domain
            .get_or_init(|| request.host().to_ascii_lowercase());
        if !request.headers.contains_key(http::header::AUTHORIZATION)
            && host_in_domain(request.host(), domain)
        {
            request
                .headers
                .insert(http::header::AUTHORIZATION, self.header.clone());
        }
        Box::pin(std::future::ready(RequestAction::Continue))
    }
}
