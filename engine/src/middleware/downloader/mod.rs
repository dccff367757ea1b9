//! Built-in downloader middlewares (Scrapy's `scrapy.downloadermiddlewares.*`) and the
//! registry that builds the ordered chain from `DOWNLOADER_MIDDLEWARES`.
//!
//! Each middleware is built from a [`MiddlewareContext`]; its constructor returns `None`
//! when the setting that enables it is off (Scrapy's `NotConfigured`).

mod cookies;
mod headers;
mod httpauth;
mod httpcache;
mod offsite;
mod proxy;
mod redirect;
pub(crate) mod registry;
mod retry;
mod robotstxt;
mod stats;

use std::sync::Arc;

pub use cookies::CookiesMiddleware;
pub use headers::{DefaultHeadersMiddleware, UserAgentMiddleware};
pub use httpauth::HttpAuthMiddleware;
pub use httpcache::HttpCacheMiddleware;
pub use offsite::OffsiteMiddleware;
pub use proxy::HttpProxyMiddleware;
pub use redirect::{MetaRefreshMiddleware, RedirectMiddleware};
pub use retry::RetryMiddleware;
pub use robotstxt::RobotsTxtMiddleware;
pub use stats::DownloaderStats;

use registry::{build_chain, Builtin};

use super::{DownloaderMiddleware, MiddlewareContext};
use crate::settings::SettingError;

fn arc<T: DownloaderMiddleware + 'static>(m: Option<T>) -> Option<Arc<dyn DownloaderMiddleware>> {
    m.map(|m| Arc::new(m) as Arc<dyn DownloaderMiddleware>)
}

/// Scrapy's `DOWNLOADER_MIDDLEWARES_BASE`: name, dotted path, order, constructor.
/// DownloadTimeout, AjaxCrawl and HttpCompression are accepted by name but have nothing
/// to do here (the fetcher reads `download_timeout` and decodes compressed bodies).
const BUILTINS: &[Builtin<dyn DownloaderMiddleware>] = &[
    Builtin {
        name: "OffsiteMiddleware",
        path: "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",
        order: 50,
        build: Some(|c| Ok(arc(OffsiteMiddleware::from_context(c)))),
    },
    Builtin {
        name: "RobotsTxtMiddleware",
        path: "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
        order: 100,
        build: Some(|c| Ok(arc(RobotsTxtMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "HttpAuthMiddleware",
        path: "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
        order: 300,
        build: Some(|c| Ok(arc(HttpAuthMiddleware::from_context(c)))),
    },
    Builtin {
        name: "DownloadTimeoutMiddleware",
        path: "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware",
        order: 350,
        build: None,
    },
    Builtin {
        name: "DefaultHeadersMiddleware",
        path: "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware",
        order: 400,
        build: Some(|c| Ok(arc(DefaultHeadersMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "UserAgentMiddleware",
        path: "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware",
        order: 500,
        build: Some(|c| Ok(arc(UserAgentMiddleware::from_context(c)))),
    },
    Builtin {
        name: "RetryMiddleware",
        path: "scrapy.downloadermiddlewares.retry.RetryMiddleware",
        order: 550,
        build: Some(|c| Ok(arc(RetryMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "AjaxCrawlMiddleware",
        path: "scrapy.downloadermiddlewares.ajaxcrawl.AjaxCrawlMiddleware",
        order: 560,
        build: None,
    },
    Builtin {
        name: "MetaRefreshMiddleware",
        path: "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware",
        order: 580,
        build: Some(|c| Ok(arc(MetaRefreshMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "HttpCompressionMiddleware",
        path: "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware",
        order: 590,
        build: None,
    },
    Builtin {
        name: "RedirectMiddleware",
        path: "scrapy.downloadermiddlewares.redirect.RedirectMiddleware",
        order: 600,
        build: Some(|c| Ok(arc(RedirectMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "CookiesMiddleware",
        path: "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
        order: 700,
        build: Some(|c| Ok(arc(CookiesMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "HttpProxyMiddleware",
        path: "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware",
        order: 750,
        build: Some(|c| Ok(arc(HttpProxyMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "DownloaderStats",
        path: "scrapy.downloadermiddlewares.stats.DownloaderStats",
        order: 850,
        build: Some(|c| Ok(arc(DownloaderStats::from_context(c)?))),
    },
    Builtin {
        name: "HttpCacheMiddleware",
        path: "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
        order: 900,
        build: Some(|c| Ok(arc(HttpCacheMiddleware::from_context(c)?))),
    },
];

/// Built-in downloader middlewares enabled by these settings, sorted by order, with
/// DOWNLOADER_MIDDLEWARES overrides applied (a name mapped to null/false disables it;
/// a number reorders it). Unknown names in DOWNLOADER_MIDDLEWARES are an error naming them.
///
/// Keys may be short names (`RetryMiddleware`, `Retry`), Scrapy's dotted paths
/// (`scrapy.downloadermiddlewares.retry.RetryMiddleware`) or the `name()` of one of the
/// `extra` middlewares, which are placed by their given order.
pub fn downloader_middlewares(
    ctx: &MiddlewareContext,
    extra: Vec<(i32, Arc<dyn DownloaderMiddleware>)>,
) -> Result<Vec<Arc<dyn DownloaderMiddleware>>, SettingError> {
    build_chain(ctx, "DOWNLOADER_MIDDLEWARES", BUILTINS, extra, |m| {
        m.name().to_string()
    })
}

/// Reads an optional integer setting that is not among the engine's defaults.
pub(crate) fn optional_i64(
    ctx: &MiddlewareContext,
    name: &str,
    default: i64,
) -> Result<i64, SettingError> {
    if ctx.settings.get(name).is_none() {
        return Ok(default);
    }
    Ok(ctx.settings.get_f64(name)? as i64)
}
