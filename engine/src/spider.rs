//! The `Spider` trait: what a crawl fetches and how it turns pages into items.

use serde_json::{Map, Value};

use crate::downloader::DownloadError;
use crate::request::Request;
use crate::response::Response;
use crate::Item;

/// The start requests of a spider, pulled lazily by the engine.
pub type StartRequests = Box<dyn Iterator<Item = Request> + Send>;

/// What a callback yields: items and follow-up requests, in order.
#[derive(Debug, Default)]
pub struct Output {
    /// Items, in the order yielded.
    pub items: Vec<Item>,
    /// Requests, in the order yielded.
    pub requests: Vec<Request>,
    /// Items the callback itself rejected, with the reason (counted as dropped).
    pub dropped: Vec<String>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Yields an item.
    pub fn item(&mut self, item: Item) {
        self.items.push(item);
    }

    /// Rejects an item the callback could not complete (counted in
    /// `item_dropped_count` and `item_dropped_reasons_count/<reason>`).
    pub fn drop_item(&mut self, reason: impl Into<String>) {
        self.dropped.push(reason.into());
    }

    /// Yields a request.
    pub fn request(&mut self, request: Request) {
        self.requests.push(request);
    }

    /// Yields a request for `href` (relative to `response`) handled by `callback`.
    /// Returns `false` when `href` is not a followable URL.
    pub fn follow(&mut self, response: &Response, href: &str, callback: &str) -> bool {
        match response.follow(href) {
            Some(r) => {
                self.requests.push(r.callback(callback));
                true
            }
            None => false,
        }
    }
}

/// A spider, as Scrapy's `Spider`: start requests, named callbacks, a closed hook.
///
/// Callbacks run synchronously on a worker thread, off the I/O threads; parse the page
/// once with [`Response::selector`](crate::Response) and yield into `out`.
///
/// `trawl` runs a spider written in Rust by name once it is registered in a
/// [`SpiderRegistry`](crate::registry::SpiderRegistry) (see `trawl_cli::Trawl`).
pub trait Spider: Send + Sync + 'static {
    /// The spider's name (feeds' `%(name)s`, logs, stats).
    fn name(&self) -> &str;

    /// Domains the offsite middleware keeps requests to (empty = any).
    fn allowed_domains(&self) -> Vec<String> {
        Vec::new()
    }

    /// Settings the spider brings (priority `spider`, below the command line).
    fn custom_settings(&self) -> Map<String, Value> {
        Map::new()
    }

    /// The first requests; the engine pulls them lazily.
    fn start_requests(&self) -> anyhow::Result<StartRequests>;

    /// Handles a response with the callback named `callback`
    /// (the request's callback, `parse` by default).
    fn parse(&self, callback: &str, response: &Response, out: &mut Output) -> anyhow::Result<()>;

    /// Handles a download error for a request whose errback is `errback`.
    fn handle_error(
        &self,
        _errback: &str,
        _request: &Request,
        _error: &DownloadError,
        _out: &mut Output,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// Called once when the crawl ends, with the finish reason.
    fn closed(&self, _reason: &str) {}
}
