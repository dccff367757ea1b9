//! Trawl's control plane, written once for every deployment: the domain model, the
//! storage ports, the Scrapyd-compatible operations, the poller (cron schedules and
//! dispatch within concurrency limits) and the crawler runner. The embedded
//! implementation of the ports (SQLite + files + in-process workers) lives in
//! [`embedded`]; the AWS one lives in its own crate.

pub mod bundle;
pub mod control;
pub mod cron;
pub mod model;
pub mod names;
pub mod ports;

pub use control::{ApiError, ApiResult, Control, ControlConfig};
pub use model::{Job, JobState, Outcome, OverlapPolicy, Schedule, Version};
