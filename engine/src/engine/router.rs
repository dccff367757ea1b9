//! Partitioned crawls: a crawl that owns part of a job's frontier keeps the requests
//! of its partition and hands the others over (to their partition's inbox), instead of
//! scheduling them. Requests taken from its own inbox come in through
//! [`CrawlBuilder::inject`](super::CrawlBuilder::inject), past the duplicate filter.

use crate::request::Request;

/// Decides which requests a crawl keeps.
pub trait RequestRouter: Send + Sync {
    /// Whether `request` belongs to this crawl's partition.
    fn keeps(&self, request: &Request) -> bool;
    /// Takes a request of another partition (it is not scheduled here, nor counted as
    /// seen: its own partition's duplicate filter decides).
    fn divert(&self, request: Request);
}
