//! Middleware traits and the ordered chains that run them.
//!
//! Downloader middlewares see every request on its way to the downloader (in ascending
//! order) and every response or error on its way back (in descending order); spider
//! middlewares see responses before callbacks and what callbacks yield. Both are
//! configured by Scrapy's `DOWNLOADER_MIDDLEWARES` / `SPIDER_MIDDLEWARES` settings (a
//! name → order map; `null` disables a built-in) and extended in Rust with
//! [`crate::CrawlBuilder`].
//!
//! The downloader-middleware trait and its actions are defined by the downloader (which
//! runs them) and re-exported here; this module depends on the downloader, not the
//! reverse.

pub mod downloader;
pub mod spider;

use std::sync::Arc;

use crate::downloader::Fetcher;
pub use crate::downloader::{DownloaderMiddleware, ErrorAction, RequestAction, ResponseAction};
use crate::request::Request;
use crate::response::Response;
use crate::settings::Settings;
use crate::stats::Stats;
use crate::Item;

/// What a middleware sees of the running crawl.
#[derive(Debug, Clone)]
pub struct MiddlewareContext {
    /// The crawl's settings.
    pub settings: Arc<Settings>,
    /// The crawl's stats.
    pub stats: Arc<Stats>,
    /// The download handler, for middlewares that fetch on their own (robots.txt).
    pub fetcher: Arc<Fetcher>,
    /// The spider's name.
    pub spider_name: String,
    /// The spider's allowed domains (empty = any).
    pub allowed_domains: Arc<Vec<String>>,
}

/// A spider middleware, as Scrapy's. Synchronous: it runs on the callback thread.
pub trait SpiderMiddleware: Send + Sync {
    /// The name used in `SPIDER_MIDDLEWARES` and in logs.
    fn name(&self) -> &str;

    /// Called for each response before its callback; `Err(reason)` ignores the response.
    fn process_spider_input(&self, _response: &Response) -> Result<(), String> {
        Ok(())
    }

    /// Called for each request a callback yields (`response` is `None` for start
    /// requests); return `false` to drop it.
    fn process_request(&self, _response: Option<&Response>, _request: &mut Request) -> bool {
        true
    }

    /// Called for each item a callback yields; return `false` to drop it.
    fn process_item(&self, _response: &Response, _item: &mut Item) -> bool {
        true
    }
}
