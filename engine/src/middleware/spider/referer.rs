//! Referer (700): sets `Referer` on requests yielded from a response.

use http::HeaderValue;

use crate::middleware::{MiddlewareContext, SpiderMiddleware};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;

/// Scrapy's `RefererMiddleware` with its default policy (no-referrer-when-downgrade):
/// requests yielded from a response get `Referer: <response URL>` (without fragment and
/// credentials), except from https to plain http and from non-HTTP pages (`file:`,
/// `data:`). A request that already has a `Referer` keeps it.
pub struct RefererMiddleware;

impl RefererMiddleware {
    /// `None` when REFERER_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        Ok(ctx
            .settings
            .get_bool("REFERER_ENABLED")?
            .then_some(RefererMiddleware))
    }
}

/// The `Referer` value for a request to `target` made from `source`, if any.
fn referrer(source: &url::Url, target: &url::Url) -> Option<String> {
    if !matches!(source.scheme(), "http" | "https") {
        return None;
    }
    if source.scheme() == "https" && target.scheme() != "https" {
        return None;
    }
    let mut r = source.clone();
    r.set_fragment(None);
    let _ = r.set_username("");
    let _ = r.set_password(None);
    Some(r.to_string())
}

impl SpiderMiddleware for RefererMiddleware {
    fn name(&self) -> &str {
        "RefererMiddleware"
    }

    fn process_request(&self, response: Option<&Response>, request: &mut Request) -> bool {
        if let Some(resp) = response {
            if !request.headers.contains_key(http::header::REFERER) {
                if let Some(v) =
                    referrer(&resp.url, &request.url).and_then(|r| HeaderValue::from_str(&r).ok())
                {
                    request.headers.insert(http::header::REFERER, v);
                }
            }
        }
        true
    }
}
