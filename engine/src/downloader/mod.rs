//! The downloader: the downloader-middleware chain around per-domain slots and the
//! HTTP/file fetcher, and the [`DestinationPolicy`] that limits where it connects.

mod destination;
mod error;
mod fetch;
mod hooks;
mod slot;

use std::sync::Arc;

pub use destination::{
    AddressClass, Cidr, CidrError, DestinationPolicy, DestinationRefused, Embedding,
    PolicyResolver, RefusedAddress,
};
pub use error::DownloadError;
pub use fetch::{FetchConfig, FetchResult, Fetcher};
pub use hooks::{DownloaderMiddleware, ErrorAction, RequestAction, ResponseAction};
pub use slot::{Slot, SlotConfig, SlotGuard, Slots, ThrottleConfig};

use crate::request::Request;
use crate::response::Response;

/// How one request's trip through the downloader ended.
#[derive(Debug)]
pub enum DownloadOutcome {
    /// A response for the spider.
    Response(Box<Response>),
    /// A middleware replaced the request (redirect, retry): schedule this one.
    Reschedule(Box<Request>),
    /// The download failed and no middleware recovered it.
    Failed(Box<Request>, DownloadError),
}

/// Runs requests through the downloader middlewares, the slots and the fetcher.
pub struct Downloader {
    middlewares: Vec<Arc<dyn DownloaderMiddleware>>,
    fetcher: Arc<Fetcher>,
    slots: Slots,
}

impl Downloader {
    /// The middlewares, in the order they see requests.
    pub fn middlewares(&self) -> &[Arc<dyn DownloaderMiddleware>] {
        &self.middlewares
    }

    /// A downloader with middlewares in the order they see requests.
    pub fn new(
        middlewares: Vec<Arc<dyn DownloaderMiddleware>>,
        fetcher: Arc<Fetcher>,
        slots: Slots,
    ) -> Self {
        Downloader {
            middlewares,
            fetcher,
            slots,
        }
    }

    /// The names of the enabled middlewares, in request order.
    pub fn middleware_names(&self) -> Vec<String> {
        self.middlewares
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    /// Downloads one request through the whole chain.
    ///
    /// A request the [`DestinationPolicy`] refuses fails before any middleware sees it
    /// (no robots.txt fetch, no cache lookup); the fetcher checks again after the
    /// middlewares, in case one changed the URL.
    pub async fn download(&self, mut request: Request) -> DownloadOutcome {
        if let Err(refused) = self.fetcher.destinations().check_url(&request.url) {
            return self
                .handle_error(request, DownloadError::DestinationRefused(refused))
                .await;
        }
        let mut early = None;
        for mw in &self.middlewares {
            match mw.process_request(&mut request).await {
                RequestAction::Continue => {}
                RequestAction::Respond(r) => {
                    early = Some(*r);
                    break;
                }
                RequestAction::Reschedule(r) => return DownloadOutcome::Reschedule(r),
                RequestAction::Ignore(reason) => {
                    return self
                        .handle_error(request, DownloadError::Ignored(reason))
                        .await
                }
            }
        }
        let response = match early {
            Some(r) => r,
            None => {
                let key = request
                    .meta_str("download_slot")
                    .unwrap_or_else(|| request.host())
                    .to_string();
                let guard = self.slots.acquire(&key).await;
                match self.fetcher.fetch(request).await {
                    Ok(r) => {
                        if !r.request.meta_flag("autothrottle_dont_adjust_delay") {
                            self.slots
                                .throttle_feedback(&guard.slot, r.download_latency, r.status);
                        }
                        r
                    }
                    Err((req, e)) => {
                        drop(guard);
                        return self.handle_error(req, e).await;
                    }
                }
            }
        };
        self.response_chain(response).await
    }

    async fn response_chain(&self, mut response: Response) -> DownloadOutcome {
        for mw in self.middlewares.iter().rev() {
            match mw.process_response(response).await {
                ResponseAction::Continue(r) => response = *r,
                ResponseAction::Reschedule(r) => return DownloadOutcome::Reschedule(r),
                ResponseAction::Ignore(r, reason) => {
                    return DownloadOutcome::Failed(
                        Box::new(r.request),
                        DownloadError::Ignored(reason),
                    );
                }
            }
        }
        DownloadOutcome::Response(Box::new(response))
    }

    async fn handle_error(&self, request: Request, error: DownloadError) -> DownloadOutcome {
        for mw in self.middlewares.iter().rev() {
            match mw.process_exception(&request, &error).await {
                ErrorAction::Continue => {}
                ErrorAction::Respond(r) => return Box::pin(self.response_chain(*r)).await,
                ErrorAction::Reschedule(r) => return DownloadOutcome::Reschedule(r),
            }
        }
        DownloadOutcome::Failed(Box::new(request), error)
    }
}
