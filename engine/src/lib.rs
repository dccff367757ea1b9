//! Trawl's crawl engine: Scrapy's architecture in async Rust.
//!
//! Spiders yield [`Request`]s and items; the [`scheduler`] (priority queue + fingerprint
//! dedup) feeds the [`downloader`] (per-domain slots, delays, AutoThrottle) through the
//! downloader [`middleware`]s; responses go through the spider middlewares to spider
//! callbacks; items go through [`pipeline`]s to [`feed`] exports.
//!
//! This crate knows nothing about where it runs: the control plane drives it through
//! [`Crawl`] and its [`CrawlHandle`].

pub mod bounded;
pub mod canonical;
pub mod checkpoint;
pub mod downloader;
pub mod encoding;
pub mod engine;
pub mod feed;
pub mod fingerprint;
pub mod finish;
pub mod item;
pub mod linkextract;
pub mod middleware;
pub mod pipeline;
pub mod pyrepr;
pub mod registry;
pub mod request;
pub mod response;
pub mod scheduler;
pub mod select;
pub mod settings;
pub mod sitemap;
pub mod spec;
pub mod spider;
pub mod stats;
pub mod workers;

pub use downloader::DestinationPolicy;
pub use engine::{
    Crawl, CrawlBuilder, CrawlError, CrawlHandle, CrawlOutcome, Progress, RequestRouter,
};
pub use finish::FinishReason;
pub use item::Item;
pub use request::Request;
pub use response::Response;
pub use settings::Settings;
pub use spider::{Output, Spider};
pub use stats::Stats;
