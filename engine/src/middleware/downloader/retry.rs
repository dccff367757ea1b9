//! Retry (550): retries transient download errors and retryable status codes.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::downloader::DownloadError;
use crate::middleware::{DownloaderMiddleware, ErrorAction, MiddlewareContext, ResponseAction};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Scrapy's `RetryMiddleware`.
///
/// Settings: RETRY_ENABLED, RETRY_TIMES (meta `max_retry_times` overrides),
/// RETRY_HTTP_CODES, RETRY_PRIORITY_ADJUST; meta `dont_retry` bypasses it. A retry is a
/// copy of the request with `dont_filter = true`, meta `retry_times` incremented and the
/// priority adjusted. When the retries are used up, a response goes on to the spider (the
/// HttpError spider middleware filters it) and an error goes on to the errback.
///
/// Stats: `retry/count`, `retry/reason_count/<reason>` (`503 Service Unavailable` or the
/// error kind such as `ConnectionRefusedError`), `retry/max_reached`.
pub struct RetryMiddleware {
    max_times: u64,
    codes: Vec<u16>,
    priority_adjust: i32,
    stats: Arc<Stats>,
}

impl RetryMiddleware {
    /// `None` when RETRY_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        let s = &ctx.settings;
        if !s.get_bool("RETRY_ENABLED")? {
            return Ok(None);
        }
        Ok(Some(RetryMiddleware {
            max_times: s.get_u64("RETRY_TIMES")?,
            codes: s.get_u16_list("RETRY_HTTP_CODES")?,
            priority_adjust: s.get_f64("RETRY_PRIORITY_ADJUST")? as i32,
            stats: ctx.stats.clone(),
        }))
    }

    /// The retry request, or `None` (and `retry/max_reached`) when retries are used up.
    fn retry(&self, request: &Request, reason: &str) -> Option<Request> {
        let times = request.meta_u64("retry_times").unwrap_or(0) + 1;
        let max = request
            .meta_u64("max_retry_times")
            .unwrap_or(self.max_times);
        if times > max {
            self.stats.inc("retry/max_reached", 1);
            tracing::error!(url = %request.url, retries = times - 1, %reason, "gave up retrying");
            return None;
        }
        let mut r = request.clone();
        r.meta.insert("retry_times".into(), times.into());
        r.dont_filter = true;
        r.priority = r.priority.saturating_add(self.priority_adjust);
        let reason_key = format!("retry/reason_count/{reason}");
        self.stats.inc_many(&["retry/count", &reason_key]);
        tracing::debug!(url = %request.url, attempt = times, %reason, "retrying");
        Some(r)
    }
}

/// Scrapy's reason for a status code: `500 Internal Server Error`.
pub(crate) fn status_reason(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(phrase) => format!("{status} {phrase}"),
        None => format!("{status} Unknown Status"),
    }
}

impl DownloaderMiddleware for RetryMiddleware {
    fn name(&self) -> &str {
        "RetryMiddleware"
    }

    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        let action =
            if !response.request.meta_flag("dont_retry") && self.codes.contains(&response.status) {
                match self.retry(&response.request, &status_reason(response.status)) {
                    Some(r) => ResponseAction::Reschedule(Box::new(r)),
                    None => ResponseAction::Continue(Box::new(response)),
                }
            } else {
                ResponseAction::Continue(Box::new(response))
            };
        Box::pin(std::future::ready(action))
    }

    fn process_exception<'a>(
        &'a self,
        request: &'a Request,
        error: &'a DownloadError,
    ) -> BoxFuture<'a, ErrorAction> {
        let action = if error.is_transient() && !request.meta_flag("dont_retry") {
            match self.retry(request, error.kind()) {
                Some(r) => ErrorAction::Reschedule(Box::new(r)),
                None => ErrorAction::Continue,
            }
        } else {
            ErrorAction::Continue
        };
        Box::pin(std::future::ready(action))
    }
}
