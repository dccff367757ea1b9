//! HttpError (50): keeps non-2xx responses away from callbacks unless allowed.

use std::sync::Arc;

use serde_json::Value;

use crate::middleware::{MiddlewareContext, SpiderMiddleware};
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Scrapy's `HttpErrorMiddleware`: responses outside 200–299 are ignored unless the
/// request's meta `handle_httpstatus_all` is true or its `handle_httpstatus_list` holds
/// the status (the meta list replaces the settings), or HTTPERROR_ALLOW_ALL is set, or
/// HTTPERROR_ALLOWED_CODES holds the status.
///
/// Stats: `httperror/response_ignored_count`,
/// `httperror/response_ignored_status_count/<code>`.
pub struct HttpErrorMiddleware {
    allow_all: bool,
    allowed: Vec<u16>,
    stats: Arc<Stats>,
}

impl HttpErrorMiddleware {
    /// Always enabled, as in Scrapy.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        Ok(Some(HttpErrorMiddleware {
            allow_all: ctx.settings.get_bool("HTTPERROR_ALLOW_ALL")?,
            allowed: ctx.settings.get_u16_list("HTTPERROR_ALLOWED_CODES")?,
            stats: ctx.stats.clone(),
        }))
    }

    fn allowed(&self, response: &Response) -> bool {
        let status = response.status;
        if (200..300).contains(&status) {
            return true;
        }
        let meta = &response.request.meta;
        if response.request.meta_flag("handle_httpstatus_all") {
            return true;
        }
        if let Some(list) = meta.get("handle_httpstatus_list") {
            return match list {
                Value::Array(a) => a.iter().any(|v| {
                    v.as_u64() == Some(u64::from(status))
                        || v.as_str().and_then(|s| s.trim().parse::<u16>().ok()) == Some(status)
                }),
                _ => false,
            };
        }
        self.allow_all || self.allowed.contains(&status)
    }
}

impl SpiderMiddleware for HttpErrorMiddleware {
    fn name(&self) -> &str {
        "HttpErrorMiddleware"
    }

    fn process_spider_input(&self, response: &Response) -> Result<(), String> {
        if self.allowed(response) {
            return Ok(());
        }
        let key = format!(
            "httperror/response_ignored_status_count/{}",
            response.status
        );
        self.stats
            .inc_many(&["httperror/response_ignored_count", &key]);
        Err(format!(
            "Ignoring response <{} {}>: HTTP status code is not handled or not allowed",
            response.status, response.url
        ))
    }
}
