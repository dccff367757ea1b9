//! The storage contract: the test suite every implementation of the ports must pass
//! (compiled for this crate's tests and with the feature `testkit`).
//!
//! The suite is a list of small cases, one per rule or transition (`start_job_only_from_pending`,
//! `finish_job_requires_running_attempt`, ...), each an async function taking the store
//! and panicking with a message naming the broken rule. Cases use fresh random ids and
//! project names, so they can share a store that already holds data, and only assume
//! about other data what the port promises.
//!
//! An implementation gets one `#[tokio::test]` per case, each on a fresh store, with the
//! macros [`job_store_contract_tests!`](crate::job_store_contract_tests),
//! [`schedule_store_contract_tests!`](crate::schedule_store_contract_tests),
//! [`project_store_contract_tests!`](crate::project_store_contract_tests),
//! [`item_history_contract_tests!`](crate::item_history_contract_tests),
//! [`event_store_contract_tests!`](crate::event_store_contract_tests),
//! [`frontier_store_contract_tests!`](crate::frontier_store_contract_tests) and
//! [`blob_store_contract_tests!`](crate::blob_store_contract_tests). Their argument is an
//! expression (evaluated in an async test, so it may `.await`) whose value dereferences
//! to the store: an `Arc` or `Box` of it, or a guard that releases the store's resources
//! (a temporary directory, a table) when dropped. Put each store's invocations in a module
//! of their own: `cargo test` then lists `sqlite_memory::start_job_only_from_pending`.
//! The tests are `#[tokio::test]`s on a two-thread runtime: the calling crate needs
//! `tokio` with the features `macros` and `rt-multi-thread`.
//!
//! ```ignore
//! mod sqlite_memory {
//!     trawl_core::job_store_contract_tests!(std::sync::Arc::new(SqliteStore::in_memory().unwrap()));
//!     trawl_core::schedule_store_contract_tests!(std::sync::Arc::new(SqliteStore::in_memory().unwrap()));
//! }
//! ```
//!
//! [`job_store_contract`], [`schedule_store_contract`], ... run every case of a port in
//! turn on one store (a shared or reopened one). The job-store case
//! [`jobs::prune_finished_keeps_the_newest`] deletes *all* but the newest finished jobs of
//! the store: run the job-store cases on a dedicated store or table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use crate::model::{Job, Outcome, OverlapPolicy, Schedule, Version};
use crate::ports::{BlobStore, FrontierStore, ItemHistory, JobStore, ProjectStore, ScheduleStore};

pub mod blobs;
pub mod claim;
pub mod events;
pub mod frontier;
pub mod history;
pub mod jobs;
pub mod listing;
pub mod projects;
pub mod reuse;
pub mod schedules;
pub mod transitions;

/// Runs every job-store case (claims included) in turn on `store`.
pub async fn job_store_contract(store: &dyn JobStore) {
    crate::__job_store_cases!(__contract_run!(store;));
}

/// Runs every schedule-store case in turn on `store`.
pub async fn schedule_store_contract(store: &dyn ScheduleStore) {
    crate::__schedule_store_cases!(__contract_run!(store;));
}

/// Runs every project-store case in turn on `store`.
pub async fn project_store_contract(store: &dyn ProjectStore) {
    crate::__project_store_cases!(__contract_run!(store;));
}

/// Runs every item-history case in turn on `store`.
pub async fn item_history_contract(store: &dyn ItemHistory) {
    crate::__item_history_cases!(__contract_run!(store;));
}

/// Runs every event-store case in turn on `store`.
pub async fn event_store_contract(store: &dyn events::EventfulStore) {
    crate::__event_store_cases!(__contract_run!(store;));
}

/// Runs every frontier-store case in turn on `store`.
pub async fn frontier_store_contract(store: &dyn FrontierStore) {
    crate::__frontier_store_cases!(__contract_run!(store;));
}

/// Runs every blob-store case in turn on `store`.
pub async fn blob_store_contract(store: &dyn BlobStore) {
    crate::__blob_store_cases!(__contract_run!(store;));
}

/// One `#[tokio::test]` per job-store case (see the [module docs](crate::contract)):
/// `job_store_contract_tests!(expression giving a fresh store behind a pointer or guard)`.
#[macro_export]
macro_rules! job_store_contract_tests {
    ($make:expr) => {
        $crate::__job_store_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per schedule-store case (see the [module docs](crate::contract)).
#[macro_export]
macro_rules! schedule_store_contract_tests {
    ($make:expr) => {
        $crate::__schedule_store_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per project-store case (see the [module docs](crate::contract)).
#[macro_export]
macro_rules! project_store_contract_tests {
    ($make:expr) => {
        $crate::__project_store_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per item-history case (see the [module docs](crate::contract)).
#[macro_export]
macro_rules! item_history_contract_tests {
    ($make:expr) => {
        $crate::__item_history_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per event-store case (see the [module docs](crate::contract)):
/// the store must also be a job, schedule and project store (the transitions write the
/// events).
#[macro_export]
macro_rules! event_store_contract_tests {
    ($make:expr) => {
        $crate::__event_store_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per frontier-store case (see the [module docs](crate::contract)).
#[macro_export]
macro_rules! frontier_store_contract_tests {
    ($make:expr) => {
        $crate::__frontier_store_cases!(__contract_tests!($make;));
    };
}

/// One `#[tokio::test]` per blob-store case (see the [module docs](crate::contract)).
#[macro_export]
macro_rules! blob_store_contract_tests {
    ($make:expr) => {
        $crate::__blob_store_cases!(__contract_tests!($make;));
    };
}

/// A test per case, each on the store `$make` gives (needs `tokio` in the caller's crate).
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($make:expr; [$($file:ident::$case:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make;
                $crate::contract::$file::$case(&*fixture).await;
            }
        )*
    };
}

/// Every case in turn on `$store`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_run {
    ($store:ident; [$($file:ident::$case:ident),* $(,)?]) => {
        $($crate::contract::$file::$case($store).await;)*
    };
}

/// The job-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __job_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            jobs::job_round_trips_every_field,
            jobs::insert_job_refuses_a_taken_id,
            jobs::concurrent_inserts_of_one_id_have_one_winner,
            jobs::pending_jobs_by_priority_then_age,
            jobs::running_jobs_by_start_time,
            jobs::finished_jobs_newest_first,
            jobs::count_jobs_counts_each_state,
            jobs::head_jobs_is_the_head_of_the_list,
            jobs::job_lists_holds_each_job_once,
            transitions::start_job_only_from_pending,
            transitions::concurrent_starts_have_one_winner,
            transitions::remove_pending_only_when_pending,
            transitions::request_cancel_only_for_running_jobs,
            transitions::concurrent_cancel_requests_each_count,
            transitions::heartbeat_carries_cancel_count,
            transitions::heartbeat_requires_running_attempt,
            transitions::finish_job_requires_running_attempt,
            transitions::requeue_job_requires_running_attempt,
            transitions::requeued_job_restarts_as_next_attempt,
            claim::claim_job_only_when_running,
            claim::claim_job_requires_attempt_and_holder,
            claim::claim_job_only_once,
            claim::resume_job_continues_the_running_attempt,
            reuse::reuse_and_cancel_contract,
            jobs::prune_finished_keeps_the_newest,
        ]);
    };
}

/// The schedule-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __schedule_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            schedules::schedule_round_trips_every_field,
            schedules::put_schedule_replaces_same_id,
            schedules::schedules_listed_oldest_first,
            schedules::advance_schedule_requires_due_time,
            schedules::advance_schedule_fires_once,
            schedules::advance_without_firing_keeps_last_run,
            schedules::concurrent_advances_have_one_winner,
            schedules::advance_to_no_next_run_clears_it,
            schedules::delete_schedule_only_when_present,
        ]);
    };
}

/// The project-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __project_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            projects::unknown_project_has_no_versions,
            projects::versions_round_trip_every_field,
            projects::put_version_replaces_same_label,
            projects::delete_version_only_when_present,
            projects::deleting_last_version_unlists_project,
            projects::delete_project_deletes_every_version,
        ]);
    };
}

/// The item-history cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __item_history_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            history::new_project_has_no_history,
            history::seen_items_per_spider_without_duplicates,
            history::many_seen_items_at_once,
            history::forget_items_clears_every_spider,
        ]);
    };
}

/// The event-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __event_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            events::job_transitions_write_their_events,
            events::remove_and_requeue_write_events,
            events::schedule_and_deploy_events,
            events::outbox_rounds,
            events::webhooks_round_trip,
            events::deliveries_keep_the_newest,
        ]);
    };
}

/// The frontier-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __frontier_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            frontier::put_batch_is_idempotent_by_id,
            frontier::put_batch_keeps_jobs_and_partitions_apart,
            frontier::put_batch_creates_the_partition,
            frontier::lease_partition_requires_work,
            frontier::lease_partition_takes_pending_partitions,
            frontier::lease_partition_skips_live_leases,
            frontier::lapsed_lease_is_taken_with_a_greater_token,
            frontier::renew_lease_extends_the_holders_lease,
            frontier::renew_lease_refuses_stale_leases,
            frontier::inbox_returns_batches_in_put_order,
            frontier::commit_partition_consumes_batches,
            frontier::commit_partition_records_pending_and_releases,
            frontier::commit_partition_refuses_stale_leases,
            frontier::commit_partition_keeps_batches_put_after_the_read,
            frontier::frontier_summary_through_a_crawl,
            frontier::partitions_lists_the_jobs_partitions,
            frontier::delete_frontier_removes_only_the_job,
            frontier::frontier_summary_version_moves_with_leases_and_batches,
            frontier::claim_close_admits_one_closer,
            frontier::add_counts_counts_across_crawlers,
        ]);
    };
}

/// The blob-store cases, handed to `$then` after its arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __blob_store_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then!($($args)* [
            listing::blob_listing_contract,
            blobs::missing_blob_is_none_and_deletable,
            blobs::blob_round_trips_binary_bytes,
            blobs::put_replaces_the_blob,
            blobs::empty_blob_exists,
            blobs::delete_removes_only_its_key,
            blobs::feed_uri_is_writable_by_feed_storages,
        ]);
    };
}

/// A prefix unique to this run, so repeated runs on one store never collide.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{nanos:x}{n}")
}

/// The ids and project names of one case, unique to its run.
struct Names(String);

impl Names {
    /// Fresh names starting with `prefix`.
    fn new(prefix: &str) -> Self {
        Names(unique(prefix))
    }

    /// The id `name` of this run.
    fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }

    /// Project `n` of this run.
    fn project(&self, n: u8) -> String {
        format!("{}-p{n}", self.0)
    }
}

/// A base time with microseconds (stores keep microsecond precision).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap() + Duration::microseconds(123_456)
}

fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

fn ids(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// The ids of `list` that are in `mine`, order kept.
fn only(list: Vec<Job>, mine: &[&String]) -> Vec<String> {
    list.into_iter()
        .filter(|j| mine.contains(&&j.id))
        .map(|j| j.id)
        .collect()
}

fn owned(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn job(id: &str, project: &str, priority: f64, created_at: DateTime<Utc>) -> Job {
    let mut j = Job::new(id.into(), project.into(), "spider".into(), created_at);
    j.priority = priority;
    j
}

/// Inserts `job` and starts it as `runner` at `at`: the running job.
async fn running(store: &dyn JobStore, job: &Job, runner: &str, at: DateTime<Utc>) -> Job {
    store.insert_job(job).await.expect("insert_job");
    store
        .start_job(&job.id, runner, at)
        .await
        .expect("start_job")
        .expect("starting a pending job returns it")
}

/// Finishes `job`'s running attempt, so that a case leaves no running job behind.
async fn settle(store: &dyn JobStore, job: &Job) {
    let done = Outcome::reason("finished", None);
    assert!(
        store
            .finish_job(&job.id, job.attempt, &done, t0() + secs(1000))
            .await
            .expect("finish_job"),
        "finishing the running attempt of {} returns true",
        job.id
    );
}

/// An outcome with nested stats and an error with quotes, newlines and non-ASCII.
fn outcome() -> Outcome {
    let stats = json!({
        "item_scraped_count": 42,
        "downloader/request_count": 100,
        "elapsed_time_seconds": 1.25,
        "finish_reason": "finished",
        "log_count/ERROR": 0,
        "nested": {"a": [1, 2, 3], "b": null},
    });
    Outcome {
        finish_reason: "finished".into(),
        stats: stats.as_object().unwrap().clone(),
        error: Some("boom: ünïcode \"quoted\"\nline".into()),
    }
}

fn schedule(id: &str, project: &str, created_at: DateTime<Utc>) -> Schedule {
    Schedule {
        id: id.into(),
        project: project.into(),
        spider: "spider".into(),
        cron: "*/5 * * * *".into(),
        timezone: "UTC".into(),
        args: BTreeMap::new(),
        settings: BTreeMap::new(),
        priority: 0.0,
        enabled: true,
        overlap: OverlapPolicy::Skip,
        next_run: Some(created_at + secs(300)),
        last_run: None,
        last_job: None,
        created_at,
    }
}

fn version(project: &str, label: &str, created_at: DateTime<Utc>) -> Version {
    Version {
        project: project.into(),
        version: label.into(),
        spiders: vec!["alpha".into(), "beta".into()],
        bundle_key: format!("bundles/{project}/{label}.bundle"),
        created_at,
    }
}
