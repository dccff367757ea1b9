//! Ports: the small traits behind which local and AWS implementations differ.
//!
//! Every state change of a job or a schedule is a *conditional* update (it names the
//! state it expects), so two pollers or a redelivered message can never start a job twice
//! or lose a cancel; the DynamoDB implementation maps each method onto one conditional
//! write. [`crate::contract`] (feature `testkit`) is the test suite every implementation
//! must pass.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use trawl_engine::feed::FeedStorages;

use crate::events::{Delivery, Event, Webhook};
use crate::frontier::{FrontierSummary, InboxBatch, Lease};
use crate::model::{CancelLevel, Job, JobLists, JobState, Outcome, Schedule, Version};

/// The cause of a storage failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure. [`StoreError::is_retryable`] tells a caller whether the same call
/// may succeed later (a message is then left for redelivery rather than acknowledged).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record already exists (an insert with a taken id).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A transient failure: throttling, a timeout, a lost connection, a busy database.
    /// Retrying may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// A failure that retrying will not cure: a missing table or bucket, refused
    /// credentials, a malformed request.
    #[error("storage error: {0}")]
    Backend(#[source] BoxError),
    /// A stored record could not be read back (corrupt or from an unknown version).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A permanent backend failure.
    pub fn backend(e: impl Into<BoxError>) -> Self {
        StoreError::Backend(e.into())
    }

    /// A transient failure.
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(e.into())
    }

    /// Whether the same call may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Projects and their versions (spider bundles). `put_version` writes `version.added`,
/// the deletes one `version.removed` per version deleted, in the same write.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Records a version (replacing one with the same project and label).
    async fn put_version(&self, version: &Version) -> StoreResult<()>;
    /// The versions of `project`, in no particular order.
    async fn versions(&self, project: &str) -> StoreResult<Vec<Version>>;
    /// Every project with at least one version.
    async fn projects(&self) -> StoreResult<Vec<String>>;
    /// Deletes one version; `false` if it did not exist.
    async fn delete_version(&self, project: &str, version: &str) -> StoreResult<bool>;
    /// Deletes every version of a project; `false` if it had none.
    async fn delete_project(&self, project: &str) -> StoreResult<bool>;
}

/// Job counts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Pending jobs.
    pub pending: usize,
    /// Running jobs.
    pub running: usize,
    /// Finished jobs kept.
    pub finished: usize,
}

/// Job records and their state machine.
///
/// Every transition writes its event ([`crate::events::Event::job`] of the job as it
/// is after the transition) to the outbox of [`EventStore`] in the same conditional
/// write: `insert_job`, `replace_finished_job` and `requeue_job` → `job.pending`;
/// `start_job` → `job.running`; `resume_job` → `job.continued`; `finish_job` →
/// `job.finished`; `remove_pending` → `job.removed`. Heartbeats, claims, cancel
/// requests and pruning write none.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new job; [`StoreError::Conflict`] if the id is taken.
    async fn insert_job(&self, job: &Job) -> StoreResult<()>;
    /// Replaces the finished job with `job.id` by the new pending `job` (Scrapyd accepts
    /// a job id again once its job has finished), only if that job is still finished
    /// with attempt `job.attempt`: the new job keeps the attempt count, so messages of
    /// the old run stay stale. `false` if it was not (gone, or pending or running).
    async fn replace_finished_job(&self, job: &Job) -> StoreResult<bool>;
    /// One job.
    async fn get_job(&self, id: &str) -> StoreResult<Option<Job>>;
    /// Jobs in `state` (optionally of one project): pending by priority (highest first)
    /// then age; running by start time; finished newest first.
    async fn list_jobs(&self, state: JobState, project: Option<&str>) -> StoreResult<Vec<Job>>;
    /// The first `limit` jobs in `state` (all projects), in [`JobStore::list_jobs`]'
    /// order, reading about `limit` records rather than the whole state: the poller
    /// reads the pending queue this way, so a poll costs what the free slots can take.
    async fn head_jobs(&self, state: JobState, limit: usize) -> StoreResult<Vec<Job>> {
        let mut jobs = self.list_jobs(state, None).await?;
        jobs.truncate(limit);
        Ok(jobs)
    }
    /// Pending, running and finished jobs (optionally of one project), as one snapshot
    /// where the store can give one (a job moving between states during the read is
    /// then in exactly one list).
    async fn job_lists(&self, project: Option<&str>) -> StoreResult<JobLists> {
        let (pending, running, finished) = futures::try_join!(
            self.list_jobs(JobState::Pending, project),
            self.list_jobs(JobState::Running, project),
            self.list_jobs(JobState::Finished, project),
        )?;
        Ok(JobLists {
            pending,
            running,
            finished,
        })
    }
    /// Counts by state.
    async fn count_jobs(&self) -> StoreResult<JobCounts>;
    /// A number that changes whenever the store changes (it may change more often), for
    /// answers cached while nothing changed; `None` when the store cannot tell.
    fn generation(&self) -> Option<u64> {
        None
    }
    /// pending → running: sets `started_at`, `runner`, `heartbeat_at`, `attempt + 1`.
    /// `None` if the job was not pending (someone else started or removed it).
    async fn start_job(
        &self,
        id: &str,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>>;
    /// running (this attempt) → finished with `outcome`. `false` if it was not.
    async fn finish_job(
        &self,
        id: &str,
        attempt: u32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// A crawler takes a dispatched job: running (this attempt) and still held by
    /// `from` (the dispatcher's runner id) → held by `to`. `false` if someone else took
    /// it first — e.g. the same queue message delivered twice.
    async fn claim_job(
        &self,
        id: &str,
        attempt: u32,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// running (this attempt) → pending again (requeue after a crash), clearing
    /// `started_at`, `runner`, `heartbeat_at` and `cancel_requests` so the next attempt
    /// starts clean. `false` if it was not running with this attempt.
    async fn requeue_job(&self, id: &str, attempt: u32) -> StoreResult<bool>;
    /// running (this attempt) → running with `attempt + 1`, held by `runner`, heartbeat
    /// `now`; `started_at` and `cancel_requests` are kept: the job continues from its
    /// checkpoint in a new segment (after a crash, a restart, or a crawler's deadline).
    /// `None` if it was not running with this attempt (someone else resumed or ended it).
    async fn resume_job(
        &self,
        id: &str,
        attempt: u32,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>>;
    /// Deletes a pending job (Scrapyd's cancel of a pending job). `false` if not pending.
    async fn remove_pending(&self, id: &str) -> StoreResult<bool>;
    /// Counts a cancel request on a running job — [`CancelLevel::requests`]: one for a
    /// graceful request, two for a forced one — and returns the new count (1 = stop
    /// gracefully, 2+ = stop now); `None` if the job is not running.
    async fn request_cancel(&self, id: &str, level: CancelLevel) -> StoreResult<Option<u32>>;
    /// A running job's heartbeat: records `now` and returns its cancel-request count;
    /// `None` if the job is no longer running with this attempt.
    async fn heartbeat(
        &self,
        id: &str,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<u32>>;
    /// Deletes finished jobs beyond the newest `keep`, returning them (for their blobs).
    async fn prune_finished(&self, keep: usize) -> StoreResult<Vec<Job>>;
}

/// Recurring crawl schedules.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Inserts or replaces a schedule.
    async fn put_schedule(&self, schedule: &Schedule) -> StoreResult<()>;
    /// One schedule.
    async fn get_schedule(&self, id: &str) -> StoreResult<Option<Schedule>>;
    /// All schedules, optionally of one project, oldest first.
    async fn list_schedules(&self, project: Option<&str>) -> StoreResult<Vec<Schedule>>;
    /// Deletes a schedule; `false` if it did not exist.
    async fn delete_schedule(&self, id: &str) -> StoreResult<bool>;
    /// Moves a schedule on from the due time `expected_next` (only if that is still its
    /// `next_run`): sets `next_run = next`, and when it fired, `last_run`/`last_job`.
    /// `false` if another poller moved it first. `event` (the run fired, skipped or
    /// missed) enters the outbox in the same write, only if it happened.
    async fn advance_schedule(
        &self,
        id: &str,
        expected_next: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        fired: Option<(DateTime<Utc>, String)>,
        event: Option<&Event>,
    ) -> StoreResult<bool>;
}

/// An event waiting in the outbox for its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The event.
    pub event: Event,
    /// Delivery rounds that failed so far.
    pub attempts: u32,
    /// When the next round is due.
    pub next_at: DateTime<Utc>,
    /// Targets (webhook ids, sink ids) that already took the event.
    pub delivered: Vec<String>,
}

/// The event outbox and the webhooks.
///
/// Events enter the outbox only through the transitions they report: every job
/// transition of [`JobStore`], [`ProjectStore::put_version`] / `delete_*` and
/// [`ScheduleStore::advance_schedule`] write their event in the same conditional write
/// (a transition that did not happen writes none). The deliverer
/// ([`crate::events::Deliverer`]) drains it.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events whose next round is due (`next_at <= now`), oldest event first, at most
    /// `limit`.
    async fn due_events(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<OutboxEntry>>;
    /// Records a failed round of `id`: `attempts` becomes `attempts + 1`, with the next
    /// round at `next_at` and the targets that took it so far, only if it still has
    /// `attempts` failed rounds. `false` if not (gone, or another deliverer moved it).
    async fn retry_event(
        &self,
        id: &str,
        attempts: u32,
        next_at: DateTime<Utc>,
        delivered: &[String],
    ) -> StoreResult<bool>;
    /// Removes an event from the outbox (delivered everywhere, or given up); `false` if
    /// it was not there.
    async fn remove_event(&self, id: &str) -> StoreResult<bool>;
    /// Stores a webhook (replacing one with its id).
    async fn put_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// The webhooks of `project`, oldest first.
    async fn webhooks(&self, project: &str) -> StoreResult<Vec<Webhook>>;
    /// Deletes a webhook of `project` and its deliveries; `false` if it did not exist.
    async fn delete_webhook(&self, project: &str, id: &str) -> StoreResult<bool>;
    /// Records a delivery attempt to `webhook`, keeping the newest
    /// [`crate::events::DELIVERIES_KEPT`].
    async fn record_delivery(&self, webhook: &str, delivery: &Delivery) -> StoreResult<()>;
    /// The delivery attempts kept for `webhook`, newest first.
    async fn deliveries(&self, webhook: &str) -> StoreResult<Vec<Delivery>>;
}

/// Somewhere besides webhooks that events go (EventBridge on AWS).
#[async_trait]
pub trait EventSink: Send + Sync {
    /// A stable id, recorded in the outbox once the sink took an event.
    fn id(&self) -> &str;
    /// Publishes one event (`body` is its JSON); an error leaves it for the next round.
    async fn publish(&self, event: &Event, body: &str) -> anyhow::Result<()>;
}

/// A 20-byte item fingerprint (SHA-1 of the item's JSON).
pub type ItemFingerprint = [u8; 20];

/// Items already emitted by earlier runs of a spider, per project: what a spec with
/// `incremental = true` (Scrapy's DeltaFetch) skips.
#[async_trait]
pub trait ItemHistory: Send + Sync {
    /// Every fingerprint recorded for `project`/`spider`.
    async fn seen_items(&self, project: &str, spider: &str) -> StoreResult<Vec<ItemFingerprint>>;
    /// Records fingerprints (already-known ones are fine).
    async fn add_seen_items(
        &self,
        project: &str,
        spider: &str,
        fingerprints: &[ItemFingerprint],
    ) -> StoreResult<()>;
    /// Forgets a project's history (when the project is deleted).
    async fn forget_items(&self, project: &str) -> StoreResult<()>;
}

/// One entry of a [`BlobStore::list`] listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// The entry's name under the listed folder (no `/`).
    pub name: String,
    /// The blob's size in bytes; `None` for a folder.
    pub size: Option<u64>,
    /// When it last changed (for a folder: as the store tells, or its newest blob).
    pub modified: Option<DateTime<Utc>>,
}

impl BlobEntry {
    /// Whether keys continue below this entry.
    pub fn is_folder(&self) -> bool {
        self.size.is_none()
    }
}

/// Bundles, logs and item feeds.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// The entries directly under the folder `prefix` (`logs/`, `logs/p/`; it ends with
    /// `/`): blobs, and folders for keys that continue below, sorted by name. Empty when
    /// nothing is stored there. Temporary files of writes in progress are not listed.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobEntry>>;
    /// Stores `data` under `key` (replacing it).
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()>;
    /// The blob at `key`.
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>>;
    /// Deletes `key` (absent keys are fine).
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Where a crawler writes a log that this store keeps: a local path to append to
    /// directly, or `None` to write a temporary file that is `put` periodically.
    fn local_path(&self, key: &str) -> Option<PathBuf>;
    /// The feed URI for `key` (a file path locally, `s3://bucket/key` on AWS).
    fn feed_uri(&self, key: &str) -> String;
    /// Feed storages able to write [`BlobStore::feed_uri`] URIs.
    fn feed_storages(&self) -> FeedStorages;
    /// Finishes a feed whose writer died (its last flushed state becomes the blob at
    /// `key`). Stores whose feeds are plain appended files have nothing to do.
    async fn recover_feed(&self, _key: &str) -> StoreResult<bool> {
        Ok(false)
    }
}

/// Hands a started job to a crawler.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    /// Runs (or queues for a crawler) a job that just went to `running`.
    async fn dispatch(&self, job: &Job) -> anyhow::Result<()>;
    /// Tells the crawler running `job_id` about a cancel right away, if it can
    /// (crawlers also learn of cancels from their heartbeat).
    async fn notify_cancel(&self, job_id: &str, requests: u32);
    /// Asks one more crawler to join a running job crawled over partitions
    /// ([`Dispatch::join`](crate::model::Dispatch::join)). Only dispatchers of
    /// [`FanOut::Dispatched`](crate::control::FanOut::Dispatched) deployments need it.
    async fn dispatch_crawler(&self, job: &Job, n: u32) -> anyhow::Result<()> {
        let _ = n;
        anyhow::bail!(
            "job {}: this dispatcher runs a job's crawlers in its own process",
            job.id
        )
    }
}

/// Wakes the poller now instead of at its next tick.
pub trait Kicker: Send + Sync {
    /// Asks for a poll as soon as possible.
    fn kick(&self);
}

/// A kicker that does nothing (the poller itself; tests that poll by hand).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoKick;

impl Kicker for NoKick {
    fn kick(&self) {}
}

/// The time source (injected in tests).
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(parking_lot::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(ManualClock(parking_lot::Mutex::new(t)))
    }

    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock() = t;
    }

    /// Moves the time forward.
    pub fn advance(&self, d: chrono::Duration) {
        let mut t = self.0.lock();
        *t += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock()
    }
}

/// The partitioned frontier of jobs crawled by several crawlers
/// ([`crate::frontier`]): partitions with leases, their inboxes, and whether their
/// checkpoint holds pending requests. Every write naming a lease is conditional on it
/// (the partition's current token, not lapsed), so a crawler that lost its lease
/// changes nothing.
#[async_trait]
pub trait FrontierStore: Send + Sync {
    /// Puts a batch in its partition's inbox (creating the partition); false when a
    /// batch with this id was put before (consumed or not): it adds nothing.
    async fn put_batch(&self, job: &str, batch: &InboxBatch) -> StoreResult<bool>;
    /// Leases a partition of `job` that has work (unconsumed batches, or pending
    /// requests) and no lease that runs past `now`, until `now + ttl`, with a token
    /// greater than any earlier lease of that partition. None when there is none.
    async fn lease_partition(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<Lease>>;
    /// Extends a lease to `now + ttl`; false when it is no longer held (it lapsed and
    /// was taken, or was released).
    async fn renew_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<bool>;
    /// The unconsumed batches of the leased partition, in the order they were put.
    async fn inbox(&self, lease: &Lease) -> StoreResult<Vec<InboxBatch>>;
    /// Records what the partition's checkpoint now holds, under `lease`: the batches it
    /// took in (consumed: no longer work), and whether requests are pending. With
    /// `release`, the lease ends too. False (and nothing recorded) when the lease is no
    /// longer held.
    async fn commit_partition(
        &self,
        lease: &Lease,
        consumed: &[String],
        pending: bool,
        release: bool,
    ) -> StoreResult<bool>;
    /// The frontier's counters at `now`, read as one consistent snapshot.
    async fn frontier_summary(&self, job: &str, now: DateTime<Utc>)
        -> StoreResult<FrontierSummary>;
    /// The job's partition names.
    async fn partitions(&self, job: &str) -> StoreResult<Vec<String>>;
    /// Claims the closing of the job's crawl (assembling its feed, summing its stats,
    /// recording its outcome) for `crawler` until `now + ttl`: true when nobody holds
    /// the claim, it lapsed, or `crawler` holds it already. Crawlers that each find
    /// the crawl over let only one of them close it.
    async fn claim_close(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<bool>;
    /// Adds `add` to the job's counts of items, pages and errors and returns the new
    /// totals (`CLOSESPIDER_*COUNT` over crawlers in processes of their own).
    async fn add_counts(
        &self,
        job: &str,
        add: crate::frontier::CloseCounts,
    ) -> StoreResult<crate::frontier::CloseCounts>;
    /// Deletes the job's frontier (its close claim and counts too).
    async fn delete_frontier(&self, job: &str) -> StoreResult<()>;
}

/// Everything the control plane needs, bundled.
#[derive(Clone)]
pub struct Stores {
    /// Projects and versions.
    pub projects: Arc<dyn ProjectStore>,
    /// Jobs.
    pub jobs: Arc<dyn JobStore>,
    /// Schedules.
    pub schedules: Arc<dyn ScheduleStore>,
    /// Bundles, logs, items.
    pub blobs: Arc<dyn BlobStore>,
    /// Items seen by incremental spiders.
    pub history: Arc<dyn ItemHistory>,
    /// The event outbox and the webhooks.
    pub events: Arc<dyn EventStore>,
    /// The partitioned frontiers of jobs crawled by several crawlers.
    pub frontier: Arc<dyn FrontierStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}
