//! Trawl's control plane, written once for every deployment: the domain model, the
//! storage ports, the Scrapyd-compatible operations, the poller (cron schedules and
//! dispatch within concurrency limits) and the crawler runner. The embedded
//! implementation of the ports (SQLite + files) lives in [`embedded`] and the
//! one-process assembly in [`local`]; the AWS one lives in its own crate.

pub mod api;
pub mod bundle;
#[cfg(any(test, feature = "testkit"))]
pub mod contract;
pub mod control;
pub mod cron;
pub mod embedded;
pub mod envconfig;
pub mod incremental;
pub mod joblog;
pub mod local;
pub mod model;
pub mod names;
pub mod poller;
pub mod ports;
pub mod runner;

pub use control::{ApiError, ApiResult, Control, ControlConfig};
pub use model::{Job, JobState, Outcome, OverlapPolicy, Schedule, Version};
