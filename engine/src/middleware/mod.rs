//! Middleware traits and the ordered chains that run them.
//!
//! Downloader middlewares see every request on its way to the downloader (in ascending
//! order) and every response or error on its way back (in descending order); spider
//! middlewares see responses before callbacks and what callbacks yield. Both are
//! configured by Scrapy's `DOWNLOADER_MIDDLEWARES` / `SPIDER_MIDDLEWARES` settings (a
//! name → order map; `null` disables a built-in) and extended in Rust with
//! [`crate::CrawlBuilder`].

pub mod downloader;
pub mod spider;

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::downloader::{DownloadError, Fetcher};
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

/// What a downloader middleware decides about an outgoing request.
#[derive(Debug)]
pub enum RequestAction {
    /// Pass the request on to the next middleware.
    Continue,
    /// Skip the download: this response goes back through `process_response`.
    Respond(Box<Response>),
    /// Drop this request and schedule another one instead.
    Reschedule(Box<Request>),
    /// Drop the request (Scrapy's `IgnoreRequest`), with the reason.
    Ignore(String),
}

/// What a downloader middleware decides about a response.
#[derive(Debug)]
pub enum ResponseAction {
    /// Pass the (possibly changed) response on.
    Continue(Box<Response>),
    /// Drop the response and schedule this request instead (redirect, retry).
    Reschedule(Box<Request>),
    /// Drop the response (Scrapy's `IgnoreRequest`), with the reason.
    Ignore(Box<Response>, String),
}

/// What a downloader middleware decides about a download error.
#[derive(Debug)]
pub enum ErrorAction {
    /// Not handled here: pass the error on.
    Continue,
    /// Recover with this response.
    Respond(Box<Response>),
    /// Schedule this request instead (retry).
    Reschedule(Box<Request>),
}

/// A downloader middleware, as Scrapy's (`process_request`, `process_response`,
/// `process_exception`). Methods default to passing everything through.
pub trait DownloaderMiddleware: Send + Sync {
    /// The name used in `DOWNLOADER_MIDDLEWARES` and in logs.
    fn name(&self) -> &str;

    /// Called for each request before it is downloaded.
    fn process_request<'a>(&'a self, _request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        Box::pin(std::future::ready(RequestAction::Continue))
    }

    /// Called for each response on its way to the spider.
    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        Box::pin(std::future::ready(ResponseAction::Continue(Box::new(
            response,
        ))))
    }

    /// Called when the download (or a `process_request`) failed.
    fn process_exception<'a>(
        &'a self,
        _request: &'a Request,
        _error: &'a DownloadError,
    ) -> BoxFuture<'a, ErrorAction> {
        Box::pin(std::future::ready(ErrorAction::Continue))
    }
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
