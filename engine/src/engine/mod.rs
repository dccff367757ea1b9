//! The engine loop: start requests → scheduler → downloader → callbacks → items and new
//! requests, until nothing is left or someone stops the crawl.
//!
//! One task owns the scheduler and the counters; each request runs as its own task
//! (downloader middlewares, slot, fetch) and hands its response to a bounded pool of
//! blocking threads for the callback, the spider middlewares and the item pipelines, so
//! HTML parsing never runs on the I/O threads. Tasks report back over channels; the loop
//! wakes on those reports, on a stop request, on the CLOSESPIDER_TIMEOUT deadline and on
//! the periodic stats log.

mod builder;
mod handle;
mod router;
mod run;
mod task;

use crate::downloader::DownloadError;
use crate::settings::SettingError;

pub use builder::CrawlBuilder;
pub use handle::{CrawlHandle, CrawlOutcome, Progress};
pub use router::RequestRouter;
pub use run::Crawl;

/// Why a crawl could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// A setting has a bad value.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The HTTP client could not be built.
    #[error("downloader: {0}")]
    Downloader(#[from] DownloadError),
    /// The checkpoint to resume from does not fit this crawl.
    #[error("cannot resume: {0}")]
    Checkpoint(String),
}

/// Sleeps until `deadline`, or forever without one (a `select!` arm that never fires).
pub async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Now as Scrapy's stats print it (UTC, ISO 8601).
pub(crate) fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::sleep_until_opt;

    #[tokio::test(start_paused = true)]
    async fn sleep_until_opt_waits_for_its_deadline_or_forever() {
        let t0 = tokio::time::Instant::now();
        sleep_until_opt(Some(t0 + Duration::from_secs(5))).await;
        assert!(t0.elapsed() >= Duration::from_secs(5));
        let never = tokio::time::timeout(Duration::from_secs(3600), sleep_until_opt(None)).await;
        assert!(never.is_err(), "no deadline never wakes");
    }
}
