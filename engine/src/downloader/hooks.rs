//! The downloader-middleware interface: the hooks the [`Downloader`](super::Downloader)
//! runs around each fetch, and what they can decide.
//!
//! It lives with the downloader (which calls it) rather than with the built-in
//! middlewares (which implement it), so the module graph stays one-way:
//! `middleware` uses `downloader`, never the reverse. `crate::middleware` re-exports
//! these names.

use futures::future::BoxFuture;

use super::DownloadError;
use crate::request::Request;
use crate::response::Response;

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

    /// State a checkpoint keeps (cookie jars), under [`name`](Self::name); `None`
    /// when there is none.
    fn checkpoint_state(&self) -> Option<serde_json::Value> {
        None
    }

    /// Restores [`checkpoint_state`](Self::checkpoint_state) when a crawl resumes.
    fn restore_state(&self, _state: &serde_json::Value) {}

    /// Scrapy's `request_scheduled` signal: called for every request a callback
    /// yields, before the duplicate filter; `false` drops it there (Offsite does, as in
    /// Scrapy, so each offsite request is counted and none is queued).
    fn request_scheduled(&self, _request: &Request) -> bool {
        true
    }
}
