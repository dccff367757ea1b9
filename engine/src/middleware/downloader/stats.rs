//! DownloaderStats (850): request, response and exception counters.

use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderMap;

use crate::downloader::DownloadError;
use crate::middleware::{
    DownloaderMiddleware, ErrorAction, MiddlewareContext, RequestAction, ResponseAction,
};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;
use crate::stats::Stats;

/// Scrapy's `DownloaderStats` (enabled unless DOWNLOADER_STATS is false).
///
/// Stats: `downloader/request_count`, `downloader/request_method_count/<METHOD>`,
/// `downloader/request_bytes`, `downloader/response_count`,
/// `downloader/response_status_count/<code>`, `downloader/response_bytes`,
/// `downloader/exception_count`, `downloader/exception_type_count/<kind>`. Byte counts
/// approximate the HTTP/1.1 wire size: start line, headers and body.
pub struct DownloaderStats {
    stats: Arc<Stats>,
}

impl DownloaderStats {
    /// `None` when DOWNLOADER_STATS is set to false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if ctx.settings.get("DOWNLOADER_STATS").is_some()
            && !ctx.settings.get_bool("DOWNLOADER_STATS")?
        {
            return Ok(None);
        }
        Ok(Some(DownloaderStats {
            stats: ctx.stats.clone(),
        }))
    }
}

fn headers_size(h: &HeaderMap) -> usize {
    h.iter()
        .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
        .sum::<usize>()
        + 2
}

/// Approximate bytes of `request` on the wire.
fn request_size(r: &Request) -> usize {
    let target = &r.url[url::Position::BeforePath..url::Position::AfterQuery];
    r.method.as_str().len()
        + 1
        + target.len()
        + " HTTP/1.1\r\n".len()
        + headers_size(&r.headers)
        + r.body.len()
}

impl DownloaderMiddleware for DownloaderStats {
    fn name(&self) -> &str {
        "DownloaderStats"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        let method = format!("downloader/request_method_count/{}", request.method);
        self.stats.inc_many(&["downloader/request_count", &method]);
        self.stats
            .inc("downloader/request_bytes", request_size(request) as i64);
        Box::pin(std::future::ready(RequestAction::Continue))
    }

    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        let status = format!("downloader/response_status_count/{}", response.status);
        self.stats.inc_many(&["downloader/response_count", &status]);
        let size =
            "HTTP/1.1 200 OK\r\n".len() + headers_size(&response.headers) + response.body.len();
        self.stats.inc("downloader/response_bytes", size as i64);
        Box::pin(std::future::ready(ResponseAction::Continue(Box::new(
            response,
        ))))
    }

    fn process_exception<'a>(
        &'a self,
        _request: &'a Request,
        error: &'a DownloadError,
    ) -> BoxFuture<'a, ErrorAction> {
        let kind = format!("downloader/exception_type_count/{}", error.kind());
        self.stats.inc_many(&["downloader/exception_count", &kind]);
        Box::pin(std::future::ready(ErrorAction::Continue))
    }
}
