//! Redirect (600) and MetaRefresh (580): follow `Location` and `<meta http-equiv=refresh>`.

use std::sync::OnceLock;

use futures::future::BoxFuture;
use http::{header, Method};
use regex::Regex;
use serde_json::Value;
use url::Url;

use super::optional_i64;
use crate::middleware::{DownloaderMiddleware, MiddlewareContext, ResponseAction};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;

/// What both redirect middlewares share: REDIRECT_MAX_TIMES and the priority bump.
struct Redirector {
    max_times: u64,
    priority_adjust: i32,
}

impl Redirector {
    fn from_context(ctx: &MiddlewareContext) -> Result<Self, SettingError> {
        Ok(Redirector {
            max_times: ctx.settings.get_u64("REDIRECT_MAX_TIMES")?,
            priority_adjust: optional_i64(ctx, "REDIRECT_PRIORITY_ADJUST", 2)? as i32,
        })
    }

    /// Scrapy's `_redirect`: counts the hop in meta (`redirect_times`, `redirect_urls`,
    /// `redirect_reasons`) and stops at REDIRECT_MAX_TIMES.
    fn redirect(
        &self,
        response: Response,
        mut redirected: Request,
        reason: Value,
    ) -> ResponseAction {
        let source = &response.request;
        let times = source.meta_u64("redirect_times").unwrap_or(0) + 1;
        let max = source
            .meta_u64("redirect_max_times")
            .unwrap_or(self.max_times);
        if times > max {
            tracing::debug!(url = %source.url, "discarding redirect: max redirections reached");
            return ResponseAction::Ignore(Box::new(response), "max redirections reached".into());
        }
        let mut urls = match source.meta.get("redirect_urls") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        urls.push(Value::String(source.url.to_string()));
        let mut reasons = match source.meta.get("redirect_reasons") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        reasons.push(reason);
        redirected
            .meta
            .insert("redirect_times".into(), times.into());
        redirected
            .meta
            .insert("redirect_urls".into(), Value::Array(urls));
        redirected
            .meta
            .insert("redirect_reasons".into(), Value::Array(reasons));
        redirected.priority = redirected.priority.saturating_add(self.priority_adjust);
        tracing::debug!(from = %source.url, to = %redirected.url, "redirecting");
        ResponseAction::Reschedule(Box::new(redirected))
    }
}

/// Scrapy's `_build_redirect_request`: a copy of `source` for `url` (so `dont_filter`,
/// meta and callbacks carry over) without credentials that must not cross origins.
fn build_redirect_request(source: &Request, url: Url) -> Request {
    let mut r = source.clone();
    let same_host = source.url.host_str() == url.host_str()
        && source.url.port_or_known_default() == url.port_or_known_default();
    let same_scheme = source.url.scheme() == url.scheme();
    if !same_host || (source.url.scheme() == "https" && url.scheme() != "https") {
        r.headers.remove(header::COOKIE);
    }
    if !same_host || !same_scheme {
        r.headers.remove(header::AUTHORIZATION);
    }
    r.url = url;
    r
}

/// Scrapy's `_redirect_request_using_get`: the redirect as a body-less GET.
fn redirect_using_get(source: &Request, url: Url) -> Request {
    let mut r = build_redirect_request(source, url);
    r.method = Method::GET;
    r.body = bytes::Bytes::new();
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::CONTENT_LANGUAGE,
        header::CONTENT_LOCATION,
    ] {
        r.headers.remove(h);
    }
    r
}

fn followable(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Scrapy's `RedirectMiddleware`: follows 301/302/303/307/308 responses that carry a
/// `Location`. 302/303 (and 301 after a POST) become a body-less GET unless the method is
/// HEAD; 307/308 keep the method and body. `Cookie` is dropped when the host changes or
/// on an https→http downgrade, `Authorization` when the scheme or host changes.
///
/// Settings: REDIRECT_ENABLED, REDIRECT_MAX_TIMES (meta `redirect_max_times` overrides),
/// REDIRECT_PRIORITY_ADJUST (default +2). Meta `dont_redirect`, `handle_httpstatus_all`
/// or `handle_httpstatus_list` containing the status bypass it. Past the limit the
/// response is dropped with "max redirections reached".
pub struct RedirectMiddleware {
    inner: Redirector,
}

impl RedirectMiddleware {
    /// `None` when REDIRECT_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if !ctx.settings.get_bool("REDIRECT_ENABLED")? {
            return Ok(None);
        }
        Ok(Some(RedirectMiddleware {
            inner: Redirector::from_context(ctx)?,
        }))
    }
}

/// Whether the request asks to see this status itself instead of being redirected.
fn handles_status(request: &Request, status: u16) -> bool {
    request.meta_flag("dont_redirect")
        || request.meta_flag("handle_httpstatus_all")
        || match request.meta.get("handle_httpstatus_list") {
            Some(Value::Array(a)) => a.iter().any(|v| v.as_u64() == Some(u64::from(status))),
            _ => false,
        }
}

impl DownloaderMiddleware for RedirectMiddleware {
    fn name(&self) -> &str {
        "RedirectMiddleware"
    }

    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        let status = response.status;
        let target = if matches!(status, 301 | 302 | 303 | 307 | 308)
            && !handles_status(&response.request, status)
        {
            response
                .headers
                .get(header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .and_then(|loc| response.url.join(loc.trim()).ok())
                .filter(followable)
        } else {
            None
        };
        let action = match target {
            None => ResponseAction::Continue(Box::new(response)),
            Some(url) => {
                let req = &response.request;
                let method_is_head = req.method == Method::HEAD;
                let to_get = (matches!(status, 302 | 303) && !method_is_head)
                    || (status == 301 && req.method == Method::POST);
                let redirected = if to_get {
                    redirect_using_get(req, url)
                } else {
                    build_redirect_request(req, url)
                };
                self.inner
                    .redirect(response, redirected, Value::from(status))
            }
        };
        Box::pin(std::future::ready(action))
    }
}

/// Scrapy's `MetaRefreshMiddleware`: follows `<meta http-equiv="refresh"
/// content="N; url=...">` in the first 4096 characters of HTML responses when N is
/// below METAREFRESH_MAXDELAY, as a GET, sharing the redirect counters and
/// REDIRECT_MAX_TIMES with the redirect middleware. Meta `dont_redirect` bypasses it.
pub struct MetaRefreshMiddleware {
    inner: Redirector,
    max_delay: f64,
}

impl MetaRefreshMiddleware {
    /// `None` when METAREFRESH_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if !ctx.settings.get_bool("METAREFRESH_ENABLED")? {
            return Ok(None);
        }
        Ok(Some(MetaRefreshMiddleware {
            inner: Redirector::from_context(ctx)?,
            max_delay: ctx.settings.get_f64("METAREFRESH_MAXDELAY")?,
        }))
    }
}

/// The delay and URL of the first meta refresh in the head of `html`.
pub(crate) fn meta_refresh(html: &str) -> Option<(f64, String)> {
    static META: OnceLock<Regex> = OnceLock::new();
    static ATTR: OnceLock<Regex> = OnceLock::new();
    static CONTENT: OnceLock<Regex> = OnceLock::new();
    let meta = META.get_or_init(|| Regex::new(r"(?is)<meta\b[^>]*>").unwrap());
    let attr = ATTR.get_or_init(|| {
        Regex::new(r#"(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#).unwrap()
    });
    let content = CONTENT.get_or_init(|| {
        Regex::new(r#"(?is)^\s*(\d*\.?\d+)\s*(?:[;,]\s*(?:url\s*=\s*)?(.*))?$"#).unwrap()
    });
    let mut head = html;
    if head.len() > 4096 {
        let mut end = 4096;
        while !head.is_char_boundary(end) {
            end -= 1;
        }
        head = &head[..end];
    }
    for tag in meta.find_iter(head) {
        let mut refresh = false;
        let mut value = None;
        for c in attr.captures_iter(tag.as_str()) {
            let v = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))
                .map_or("", |m| m.as_str());
            match c[1].to_ascii_lowercase().as_str() {
                "http-equiv" => refresh = v.trim().eq_ignore_ascii_case("refresh"),
                "content" => value = Some(v.to_string()),
                _ => {}
            }
        }
        if !refresh {
            continue;
        }
        let c = content.captures(value.as_deref()?)?;
        let delay: f64 = c[1].parse().ok()?;
        let url = c.get(2)?.as_str().trim().trim_matches(['"', '\'']).trim();
        if url.is_empty() {
            return None;
        }
        return Some((delay, url.to_string()));
    }
    None
}

impl DownloaderMiddleware for MetaRefreshMiddleware {
    fn name(&self) -> &str {
        "MetaRefreshMiddleware"
    }

    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        let is_html = response
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        let target = if is_html
            && response.request.method != Method::HEAD
            && !response.request.meta_flag("dont_redirect")
        {
            meta_refresh(response.text())
                .filter(|(delay, _)| *delay < self.max_delay)
                .and_then(|(_, url)| response.urljoin(&url))
                .filter(followable)
        } else {
            None
        };
        let action = match target {
            None => ResponseAction::Continue(Box::new(response)),
            Some(url) => {
                let redirected = redirect_using_get(&response.request, url);
                self.inner
                    .redirect(response, redirected, Value::from("meta refresh"))
            }
        };
        Box::pin(std::future::ready(action))
    }
}

#[cfg(test)]
mod tests {
    use super::meta_refresh;

    #[test]
    fn finds_meta_refresh_in_either_attribute_order() {
        let a = r#"<html><head><META HTTP-EQUIV="Refresh" CONTENT="5; URL=/next"></head>"#;
        assert_eq!(meta_refresh(a), Some((5.0, "/next".into())));
        let b = r#"<meta content='0;url="http://x.test/a"' http-equiv=refresh>"#;
        assert_eq!(meta_refresh(b), Some((0.0, "http://x.test/a".into())));
        assert_eq!(
            meta_refresh(r#"<meta http-equiv="refresh" content="3">"#),
            None
        );
        assert_eq!(meta_refresh(r#"<meta charset="utf-8">"#), None);
    }
}
