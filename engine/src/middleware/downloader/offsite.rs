//! Offsite (50): drops requests to hosts outside the spider's `allowed_domains`.

use std::collections::HashSet;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::Value;
use url::Url;

use super::registry::host_in_domain;
use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction};
use crate::request::Request;
use crate::stats::Stats;
use std::sync::Arc;

/// Scrapy's `OffsiteMiddleware`: keeps requests to `allowed_domains` and their
/// subdomains; `dont_filter` or meta `allow_offsite` lets a request through.
///
/// A redirect (or meta refresh) inherits `dont_filter` from the request it replaces,
/// but `dont_filter` only lets it through while it stays on the host it was redirected
/// from: a redirect to another host is the server's choice, not the spider's, so it is
/// checked against `allowed_domains` (stricter than Scrapy, which lets it through).
///
/// Requests a callback yields are checked when they are scheduled, before the duplicate
/// filter (Scrapy's `request_scheduled` signal), so every offsite request is counted
/// and none is queued; start requests and redirects are checked before download.
///
/// Stats: `offsite/domains` (each filtered domain once), `offsite/filtered` (each
/// request).
pub struct OffsiteMiddleware {
    domains: Vec<String>,
    stats: Arc<Stats>,
    seen: Mutex<HashSet<String>>,
}

impl OffsiteMiddleware {
    /// `None` when the spider allows every domain.
    pub fn from_context(ctx: &MiddlewareContext) -> Option<Self> {
        let domains: Vec<String> = ctx
            .allowed_domains
            .iter()
            .filter_map(|d| {
                let d = d.trim().to_ascii_lowercase();
                if d.contains("://") {
                    tracing::warn!(domain = %d, "allowed_domains accepts only domains, not URLs; ignoring");
                    return None;
                }
                // Scrapy ignores ports in allowed_domains entries.
                let d = d.split(':').next().unwrap_or("").to_string();
                (!d.is_empty()).then_some(d)
            })
            .collect();
        if domains.is_empty() {
            return None;
        }
        Some(OffsiteMiddleware {
            domains,
            stats: ctx.stats.clone(),
            seen: Mutex::new(HashSet::new()),
        })
    }

    fn allowed(&self, host: &str) -> bool {
        self.domains.iter().any(|d| host_in_domain(host, d))
    }
}

impl DownloaderMiddleware for OffsiteMiddleware {
    fn name(&self) -> &str {
        "OffsiteMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        let action = match self.filter(request) {
            None => RequestAction::Continue,
            Some(host) => RequestAction::Ignore(format!("Filtered offsite request to {host}")),
        };
        Box::pin(std::future::ready(action))
    }

    fn request_scheduled(&self, request: &Request) -> bool {
        self.filter(request).is_none()
    }
}

impl OffsiteMiddleware {
    /// The host `request` goes to when it is offsite (counted in the stats), else None.
    fn filter(&self, request: &Request) -> Option<String> {
        if dont_filter_applies(request)
            || request.meta_flag("allow_offsite")
            || self.allowed(request.host())
        {
            return None;
        }
        let host = request.host().to_ascii_lowercase();
        if self.seen.lock().insert(host.clone()) {
            self.stats
                .inc_many(&["offsite/domains", "offsite/filtered"]);
            tracing::debug!(%host, url = %request.url, "Filtered offsite request to {host}");
        } else {
            self.stats.inc("offsite/filtered", 1);
        }
        Some(host)
    }
}

/// Whether `dont_filter` exempts `request`: always, unless it is a redirect that left
/// the host of the request it was redirected from.
fn dont_filter_applies(request: &Request) -> bool {
    if !request.dont_filter {
        return false;
    }
    let Some(Value::Array(from)) = request.meta.get("redirect_urls") else {
        return true;
    };
    from.last()
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
        .is_some_and(|u| u.host_str() == request.url.host_str())
}
