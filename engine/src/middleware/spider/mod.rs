//! Built-in spider middlewares (Scrapy's `scrapy.spidermiddlewares.*`) and the registry
//! that builds the ordered chain from `SPIDER_MIDDLEWARES`.

mod depth;
mod httperror;
mod referer;
mod urllength;

use std::sync::Arc;

pub use depth::DepthMiddleware;
pub use httperror::HttpErrorMiddleware;
pub use referer::RefererMiddleware;
pub use urllength::UrlLengthMiddleware;

use super::downloader::registry::{build_chain, Builtin};
use super::{MiddlewareContext, SpiderMiddleware};
use crate::settings::SettingError;

fn arc<T: SpiderMiddleware + 'static>(m: Option<T>) -> Option<Arc<dyn SpiderMiddleware>> {
    m.map(|m| Arc::new(m) as Arc<dyn SpiderMiddleware>)
}

/// Scrapy's `SPIDER_MIDDLEWARES_BASE`. The spider-side Offsite middleware of older
/// Scrapy versions is accepted by name; offsite filtering happens in the downloader.
const BUILTINS: &[Builtin<dyn SpiderMiddleware>] = &[
    Builtin {
        name: "HttpErrorMiddleware",
        path: "scrapy.spidermiddlewares.httperror.HttpErrorMiddleware",
        order: 50,
        build: Some(|c| Ok(arc(HttpErrorMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "OffsiteMiddleware",
        path: "scrapy.spidermiddlewares.offsite.OffsiteMiddleware",
        order: 500,
        build: None,
    },
    Builtin {
        name: "RefererMiddleware",
        path: "scrapy.spidermiddlewares.referer.RefererMiddleware",
        order: 700,
        build: Some(|c| Ok(arc(RefererMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "UrlLengthMiddleware",
        path: "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
        order: 800,
        build: Some(|c| Ok(arc(UrlLengthMiddleware::from_context(c)?))),
    },
    Builtin {
        name: "DepthMiddleware",
        path: "scrapy.spidermiddlewares.depth.DepthMiddleware",
        order: 900,
        build: Some(|c| Ok(arc(Some(DepthMiddleware::from_context(c)?)))),
    },
];

/// Built-in spider middlewares enabled by these settings plus `extra`, sorted by order,
/// with SPIDER_MIDDLEWARES overrides applied (a name mapped to null/false disables it; a
/// number reorders it). Keys may be short names (`DepthMiddleware`, `Depth`), Scrapy's
/// dotted paths or the `name()` of an `extra` middleware; unknown names are an error
/// naming them.
pub fn spider_middlewares(
    ctx: &MiddlewareContext,
    extra: Vec<(i32, Arc<dyn SpiderMiddleware>)>,
) -> Result<Vec<Arc<dyn SpiderMiddleware>>, SettingError> {
    build_chain(ctx, "SPIDER_MIDDLEWARES", BUILTINS, extra, |m| {
        m.name().to_string()
    })
}
