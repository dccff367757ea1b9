//! The control plane's domain model: projects, versions (spider bundles), jobs and
//! schedules.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trawl_engine::FinishReason;

/// A job's lifecycle state, as Scrapyd's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Queued, waiting for a free slot.
    Pending,
    /// A crawler runs it.
    Running,
    /// Ended; the outcome says how.
    Finished,
}

impl JobState {
    /// `pending`, `running` or `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Finished => "finished",
        }
    }

    /// Parses [`JobState::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(JobState::Pending),
            "running" => Some(JobState::Running),
            "finished" => Some(JobState::Finished),
            _ => None,
        }
    }
}

/// `listjobs.json`'s three lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobLists {
    /// Pending jobs, next to run first.
    pub pending: Vec<Job>,
    /// Running jobs.
    pub running: Vec<Job>,
    /// Finished jobs, newest first.
    pub finished: Vec<Job>,
}

/// How hard a cancel request stops a running job: Scrapy's first signal stops
/// gracefully (no new requests, in-flight ones finish and keep their items), a second
/// one stops at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CancelLevel {
    /// Stop starting requests; finish those in flight.
    Graceful,
    /// Abandon in-flight requests now.
    Forced,
}

impl CancelLevel {
    /// The level of a job's `n`-th cancel request (the count the job store keeps):
    /// none for 0, graceful for 1, forced from 2 on.
    pub fn from_requests(n: u32) -> Option<Self> {
        match n {
            0 => None,
            1 => Some(CancelLevel::Graceful),
            _ => Some(CancelLevel::Forced),
        }
    }

    /// How many cancel requests this level counts for: one for a graceful stop, two
    /// for a forced one (so the count reads "forced" at once, see
    /// [`CancelLevel::from_requests`]).
    pub fn requests(self) -> u32 {
        match self {
            CancelLevel::Graceful => 1,
            CancelLevel::Forced => 2,
        }
    }

    /// The level of a `cancel.json` `signal` (Scrapyd sends it to the Scrapy process):
    /// `TERM`/`INT` (15/2) stop gracefully, as Scrapy does on its first signal; `KILL`
    /// (9) stops at once. Names may be lowercase or carry a `SIG` prefix. `None` for
    /// any other signal.
    pub fn from_signal(signal: &str) -> Option<Self> {
        let s = signal.trim().to_ascii_uppercase();
        match s.strip_prefix("SIG").unwrap_or(&s) {
            "TERM" | "INT" | "15" | "2" => Some(CancelLevel::Graceful),
            "KILL" | "9" => Some(CancelLevel::Forced),
            _ => None,
        }
    }
}

/// A started job handed to a runner: the crawl queue's message on AWS. `runner` is
/// who dispatched it (the job's runner until a crawler claims it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The job.
    pub job_id: String,
    /// The attempt that was started.
    pub attempt: u32,
    /// The dispatcher holding the job.
    #[serde(default)]
    pub runner: Option<String>,
    /// Set on a message that asks one more crawler to join a job crawled over
    /// partitions (`CONCURRENT_CRAWLERS > 1` with [`crate::control::FanOut::Dispatched`]):
    /// the crawler takes part in the crawl without claiming the job. The number only
    /// tells the messages apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler: Option<u32>,
}

impl Dispatch {
    /// The dispatch of a started job.
    pub fn of(job: &Job) -> Self {
        Dispatch {
            job_id: job.id.clone(),
            attempt: job.attempt,
            runner: job.runner.clone(),
            crawler: None,
        }
    }

    /// A message asking crawler number `n` to join `job`'s partitioned crawl.
    pub fn join(job: &Job, n: u32) -> Self {
        Dispatch {
            crawler: Some(n),
            ..Dispatch::of(job)
        }
    }
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Scrapy's `finish_reason`: `finished`, `cancelled`, `failed`, `shutdown`,
    /// `timeout`, `closespider_*`.
    pub finish_reason: FinishReason,
    /// The engine's final stats (empty when the crawl never started).
    #[serde(default)]
    pub stats: Map<String, Value>,
    /// Why the job failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Outcome {
    /// An outcome with no stats.
    pub fn reason(reason: impl Into<FinishReason>, error: Option<String>) -> Self {
        Outcome {
            finish_reason: reason.into(),
            stats: Map::new(),
            error,
        }
    }

    /// `item_scraped_count` from the stats.
    pub fn items_scraped(&self) -> u64 {
        self.stats
            .get("item_scraped_count")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

/// A crawl job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job id (Scrapyd's: 32 hex digits unless the client chose one).
    pub id: String,
    /// Project name.
    pub project: String,
    /// Spider name.
    pub spider: String,
    /// The version asked for (`_version`), or the one resolved when the job started.
    pub version: Option<String>,
    /// Spider arguments.
    pub args: BTreeMap<String, String>,
    /// Settings at job priority.
    pub settings: BTreeMap<String, String>,
    /// Higher runs first, across all projects.
    pub priority: f64,
    /// Lifecycle state.
    pub state: JobState,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When a crawler started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended (finished jobs only).
    pub outcome: Option<Outcome>,
    /// Starts so far (a requeued job starts again with the next attempt).
    pub attempt: u32,
    /// Who runs it: a process/task id locally, an invocation id on AWS.
    pub runner: Option<String>,
    /// The runner's last sign of life.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Cancel requests received while running (1 = graceful stop, 2+ = stop now).
    pub cancel_requests: u32,
    /// The schedule that created it, if any.
    pub schedule_id: Option<String>,
}

impl Job {
    /// A new pending job.
    pub fn new(id: String, project: String, spider: String, now: DateTime<Utc>) -> Self {
        Job {
            id,
            project,
            spider,
            version: None,
            args: BTreeMap::new(),
            settings: BTreeMap::new(),
            priority: 0.0,
            state: JobState::Pending,
            created_at: now,
            started_at: None,
            finished_at: None,
            outcome: None,
            attempt: 0,
            runner: None,
            heartbeat_at: None,
            cancel_requests: 0,
            schedule_id: None,
        }
    }

    /// The `pid` Scrapyd clients see for a running job: a positive integer derived from
    /// the job id and its attempt, so each running job has its own (collisions are as
    /// unlikely as for a 31-bit hash) and it stays the same for the attempt's life,
    /// whichever process runs it. `None` unless the job is running.
    pub fn pid(&self) -> Option<u32> {
        if self.state != JobState::Running {
            return None;
        }
        // FNV-1a over the id and the attempt.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.id.bytes().chain([0]).chain(self.attempt.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let folded = (h ^ (h >> 31) ^ (h >> 62)) & 0x7fff_ffff;
        Some(u32::try_from(folded).unwrap_or(1).max(1))
    }

    /// Blob key of the job's log: `logs/{project}/{spider}/{job}.log`.
    pub fn log_key(&self) -> String {
        JobBlob::Log.key(&self.project, &self.spider, &self.id)
    }

    /// Blob folder of the job's checkpoint: `checkpoints/{project}/{spider}/{job}/`.
    pub fn checkpoint_prefix(&self) -> String {
        format!("checkpoints/{}/{}/{}/", self.project, self.spider, self.id)
    }

    /// Blob key of the job's items: `items/{project}/{spider}/{job}.jl`.
    pub fn items_key(&self) -> String {
        JobBlob::Items.key(&self.project, &self.spider, &self.id)
    }
}

/// What a job keeps in the blob store; [`JobBlob::key`] is the one layout of their
/// keys (the same paths the API serves under `/logs/` and `/items/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobBlob {
    /// The job's log: `logs/{project}/{spider}/{job}.log`.
    Log,
    /// The job's items (JSON lines): `items/{project}/{spider}/{job}.jl`.
    Items,
}

impl JobBlob {
    /// The top folder: `logs` or `items`.
    pub fn folder(self) -> &'static str {
        match self {
            JobBlob::Log => "logs",
            JobBlob::Items => "items",
        }
    }

    /// The file extension: `log` or `jl`.
    pub fn extension(self) -> &'static str {
        match self {
            JobBlob::Log => "log",
            JobBlob::Items => "jl",
        }
    }

    /// The blob key of this blob of a job.
    pub fn key(self, project: &str, spider: &str, job: &str) -> String {
        format!(
            "{}/{project}/{spider}/{job}.{}",
            self.folder(),
            self.extension()
        )
    }
}

/// Blob key of an uploaded bundle: `bundles/{project}/{version}-{micros}.bundle`, the
/// upload time making a re-upload of the same label a new blob.
pub fn bundle_key(project: &str, version: &str, uploaded: DateTime<Utc>) -> String {
    format!(
        "bundles/{project}/{version}-{}.bundle",
        uploaded.timestamp_micros()
    )
}

/// One uploaded version of a project: a spider bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// Project name.
    pub project: String,
    /// Version label (sorted like Scrapyd's, see [`crate::names::version_cmp`]).
    pub version: String,
    /// Spider names in the bundle.
    pub spiders: Vec<String>,
    /// Blob key of the bundle.
    pub bundle_key: String,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// What to do when a schedule fires while its previous job is still pending/running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapPolicy {
    /// Skip this run.
    Skip,
    /// Start another job anyway.
    Allow,
}

impl OverlapPolicy {
    /// `skip` or `allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::Skip => "skip",
            OverlapPolicy::Allow => "allow",
        }
    }
}

/// A recurring crawl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Schedule id.
    pub id: String,
    /// Project name.
    pub project: String,
    /// Spider name.
    pub spider: String,
    /// Five-field cron expression or an `@hourly`-style macro.
    pub cron: String,
    /// IANA time zone the expression is read in.
    pub timezone: String,
    /// Spider arguments for each job.
    pub args: BTreeMap<String, String>,
    /// Settings for each job.
    pub settings: BTreeMap<String, String>,
    /// Job priority.
    pub priority: f64,
    /// Disabled schedules never fire.
    pub enabled: bool,
    /// Overlap policy.
    pub overlap: OverlapPolicy,
    /// The next due time (UTC).
    pub next_run: Option<DateTime<Utc>>,
    /// The last time it fired.
    pub last_run: Option<DateTime<Utc>>,
    /// The last job it created.
    pub last_job: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cancel_signals() {
        for graceful in ["INT", "TERM", "2", "15", "int", "SIGTERM", " sigint "] {
            assert_eq!(
                CancelLevel::from_signal(graceful),
                Some(CancelLevel::Graceful),
                "{graceful}"
            );
        }
        for forced in ["KILL", "9", "SIGKILL", "kill"] {
            assert_eq!(
                CancelLevel::from_signal(forced),
                Some(CancelLevel::Forced),
                "{forced}"
            );
        }
        for other in ["HUP", "STOP", "1", "19", "21", "", "TERMX"] {
            assert_eq!(CancelLevel::from_signal(other), None, "{other}");
        }
        for level in [CancelLevel::Graceful, CancelLevel::Forced] {
            assert_eq!(CancelLevel::from_requests(level.requests()), Some(level));
        }
    }

    #[test]
    fn pids_are_per_running_attempt() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut a = Job::new("a".into(), "p".into(), "s".into(), t);
        assert_eq!(a.pid(), None, "a pending job has no pid");
        a.state = JobState::Running;
        a.attempt = 1;
        let pid = a.pid().unwrap();
        assert!(pid > 0 && pid <= i32::MAX as u32);
        a.runner = Some("crawler-2".into());
        assert_eq!(a.pid(), Some(pid), "stable while the attempt runs");
        let mut b = a.clone();
        b.id = "b".into();
        assert_ne!(b.pid(), Some(pid), "another job, another pid");
        a.attempt = 2;
        assert_ne!(a.pid(), Some(pid), "a new attempt, a new pid");
        a.state = JobState::Finished;
        assert_eq!(a.pid(), None);
    }
}
