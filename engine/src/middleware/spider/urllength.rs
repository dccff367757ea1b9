//! UrlLength (800): drops requests whose URL is longer than URLLENGTH_LIMIT.

use std::sync::Arc;

use crate::middleware::{MiddlewareContext, SpiderMiddleware};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Scrapy's `UrlLengthMiddleware`: requests (start requests included) whose URL is
/// longer than URLLENGTH_LIMIT characters are dropped. Stat:
/// `urllength/request_ignored_count`.
pub struct UrlLengthMiddleware {
    limit: usize,
    stats: Arc<Stats>,
}

impl UrlLengthMiddleware {
    /// `None` when URLLENGTH_LIMIT is 0.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        let limit = ctx.settings.get_usize("URLLENGTH_LIMIT")?;
        Ok((limit > 0).then(|| UrlLengthMiddleware {
            limit,
            stats: ctx.stats.clone(),
        }))
    }
}

impl SpiderMiddleware for UrlLengthMiddleware {
    fn name(&self) -> &str {
        "UrlLengthMiddleware"
    }

    fn process_request(&self, _response: Option<&Response>, request: &mut Request) -> bool {
        if request.url.as_str().len() <= self.limit {
            return true;
        }
        self.stats.inc("urllength/request_ignored_count", 1);
        tracing::info!(url = %request.url, limit = self.limit, "ignoring link: URL longer than URLLENGTH_LIMIT");
        false
    }
}
