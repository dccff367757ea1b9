//! Depth (900): tracks link depth, limits it and adjusts priorities by it.

use std::sync::Arc;

use crate::middleware::{MiddlewareContext, SpiderMiddleware};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Scrapy's `DepthMiddleware`: a request yielded from a response gets
/// `depth = response.request.depth + 1` (start requests stay at 0) and
/// `priority -= depth × DEPTH_PRIORITY`; requests deeper than DEPTH_LIMIT (0 = no limit)
/// are dropped.
///
/// Stats: `request_depth_max`, and with DEPTH_STATS_VERBOSE `request_depth_count/<n>`.
pub struct DepthMiddleware {
    limit: u32,
    priority: i64,
    verbose: bool,
    stats: Arc<Stats>,
}

impl DepthMiddleware {
    /// Always enabled, as in Scrapy.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Self, SettingError> {
        let s = &ctx.settings;
        Ok(DepthMiddleware {
            limit: s.get_u64("DEPTH_LIMIT")?.min(u64::from(u32::MAX)) as u32,
            priority: s.get_f64("DEPTH_PRIORITY")? as i64,
            verbose: s.get_bool("DEPTH_STATS_VERBOSE")?,
            stats: ctx.stats.clone(),
        })
    }
}

impl SpiderMiddleware for DepthMiddleware {
    fn name(&self) -> &str {
        "DepthMiddleware"
    }

    fn process_request(&self, response: Option<&Response>, request: &mut Request) -> bool {
        let Some(resp) = response else {
            if self.verbose {
                self.stats.inc("request_depth_count/0", 1);
            }
            return true;
        };
        let depth = resp.request.depth + 1;
        request.depth = depth;
        if self.priority != 0 {
            let adjusted = i64::from(request.priority) - i64::from(depth) * self.priority;
            request.priority = adjusted.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        }
        if self.limit > 0 && depth > self.limit {
            tracing::debug!(url = %request.url, depth, limit = self.limit, "ignoring link above DEPTH_LIMIT");
            return false;
        }
        if self.verbose {
            self.stats.inc(&format!("request_depth_count/{depth}"), 1);
        }
        self.stats.max("request_depth_max", i64::from(depth));
        true
    }
}
