//! RobotsTxt (100): obeys robots.txt, fetched once per origin.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderValue;
use parking_lot::Mutex;
use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::downloader::Fetcher;
use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction};
use crate::request::Request;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Redirects followed when fetching robots.txt.
const MAX_ROBOTS_REDIRECTS: usize = 5;

type RobotCell = Arc<OnceCell<Option<Arc<Robot>>>>;

/// Scrapy's `RobotsTxtMiddleware` (enabled by ROBOTSTXT_OBEY).
///
/// Fetches `/robots.txt` once per scheme, host and port with the crawl's fetcher
/// (concurrent requests to an origin wait for the one fetch), following up to five
/// redirects, and parses it for ROBOTSTXT_USER_AGENT, else USER_AGENT (its product token,
/// e.g. `Trawl` for `Trawl/0.1 (+url)`). A robots.txt that is missing, answers with a
/// non-2xx status or cannot be fetched allows everything, as in Scrapy. Disallowed
/// requests are dropped with "Forbidden by robots.txt"; meta `dont_obey_robotstxt`
/// bypasses the check.
///
/// Stats: `robotstxt/request_count`, `robotstxt/response_count`,
/// `robotstxt/response_status_count/<code>`, `robotstxt/exception_count/<kind>`,
/// `robotstxt/forbidden`.
pub struct RobotsTxtMiddleware {
    fetcher: Arc<Fetcher>,
    stats: Arc<Stats>,
    agent: String,
    user_agent: Option<HeaderValue>,
    origins: Mutex<HashMap<String, RobotCell>>,
}

impl RobotsTxtMiddleware {
    /// `None` when ROBOTSTXT_OBEY is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if !ctx.settings.get_bool("ROBOTSTXT_OBEY")? {
            return Ok(None);
        }
        let ua = ctx.settings.get_str("USER_AGENT");
        let robots_ua = ctx.settings.get_str("ROBOTSTXT_USER_AGENT");
        let source = if robots_ua.trim().is_empty() {
            ua.as_str()
        } else {
            robots_ua.as_str()
        };
        Ok(Some(RobotsTxtMiddleware {
            fetcher: ctx.fetcher.clone(),
            stats: ctx.stats.clone(),
            agent: product_token(source),
            user_agent: HeaderValue::from_str(ua.trim()).ok(),
            origins: Mutex::new(HashMap::new()),
        }))
    }

    /// The parsed robots.txt for `url`'s origin (`None` = everything allowed).
    async fn robot_for(&self, url: &Url) -> Option<Arc<Robot>> {
        let origin = url.origin().ascii_serialization();
        let cell = self
            .origins
            .lock()
            .entry(origin.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.fetch_robots(origin)).await.clone()
    }

    async fn fetch_robots(&self, origin: String) -> Option<Arc<Robot>> {
        let mut url = Url::parse(&format!("{origin}/robots.txt")).ok()?;
        for _ in 0..=MAX_ROBOTS_REDIRECTS {
            let mut req = Request::get(url.clone())
                .meta("dont_obey_robotstxt", true)
                .dont_filter(true);
            if let Some(ua) = &self.user_agent {
                req.headers.insert(http::header::USER_AGENT, ua.clone());
            }
            self.stats.inc("robotstxt/request_count", 1);
            let resp = match self.fetcher.fetch(req).await {
                Ok(r) => r,
                Err((_, e)) => {
                    let key = format!("robotstxt/exception_count/{}", e.kind());
                    self.stats.inc(&key, 1);
                    tracing::debug!(%url, error = %e, "cannot fetch robots.txt; allowing all");
                    return None;
                }
            };
            let status_key = format!("robotstxt/response_status_count/{}", resp.status);
            self.stats
                .inc_many(&["robotstxt/response_count", &status_key]);
            if (300..400).contains(&resp.status) {
                match resp.header("location").and_then(|l| resp.urljoin(l)) {
                    Some(next) => {
                        url = next;
                        continue;
                    }
                    None => return None,
                }
            }
            if !(200..300).contains(&resp.status) {
                return None;
            }
            return match Robot::new(&self.agent, &resp.body) {
                Ok(r) => Some(Arc::new(r)),
                Err(e) => {
                    tracing::warn!(%url, error = %e, "cannot parse robots.txt; allowing all");
                    None
                }
            };
        }
        None
    }
}

/// The product token of a user agent: `Trawl` for `Trawl/0.1 (+https://...)`.
fn product_token(ua: &str) -> String {
    ua.split(|c: char| c == '/' || c.is_whitespace())
        .find(|s| !s.is_empty())
        .unwrap_or("*")
        .to_string()
}

impl DownloaderMiddleware for RobotsTxtMiddleware {
    fn name(&self) -> &str {
        "RobotsTxtMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        Box::pin(async move {
            if request.meta_flag("dont_obey_robotstxt")
                || !matches!(request.url.scheme(), "http" | "https")
            {
                return RequestAction::Continue;
            }
            match self.robot_for(&request.url).await {
                Some(robot) if !robot.allowed(request.url.as_str()) => {
                    self.stats.inc("robotstxt/forbidden", 1);
                    tracing::debug!(url = %request.url, "forbidden by robots.txt");
                    RequestAction::Ignore("Forbidden by robots.txt".into())
                }
                _ => RequestAction::Continue,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::product_token;

    #[test]
    fn product_token_is_the_first_word() {
        assert_eq!(product_token("Trawl/0.1 (+https://x)"), "Trawl");
        assert_eq!(product_token("  mybot"), "mybot");
        assert_eq!(product_token(""), "*");
    }
}
