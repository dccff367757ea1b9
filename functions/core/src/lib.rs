//! Trawl's control plane, written once for every deployment: the domain model, the
//! storage ports, the Scrapyd-compatible operations, the poller (cron schedules and
//! dispatch within concurrency limits) and the crawler runner.
//!
//! Adapters live beside it in crates of their own: `trawl-embedded` (SQLite + files,
//! and the one-process `LocalNode`), `trawl-http` (the axum router and pages) and
//! `trawl-aws` (DynamoDB, S3, SQS). This crate links none of them.

pub mod bundle;
pub mod checkpoints;
pub mod config;
#[cfg(any(test, feature = "testkit"))]
pub mod contract;
pub mod control;
pub mod cron;
pub mod events;
pub mod frontier;
pub mod incremental;
pub mod jobfiles;
pub mod joblog;
pub mod model;
pub mod names;
pub mod notify;
pub mod policy;
pub mod poller;
pub mod ports;
pub mod runner;
pub mod spiders;
pub mod webhooks;

pub use control::{ApiError, ApiResult, Control, ControlConfig};
pub use model::{Job, JobState, Outcome, OverlapPolicy, Schedule, Version};
