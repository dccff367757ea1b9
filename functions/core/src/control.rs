//! The control plane's operations, one method per Scrapyd endpoint (plus schedules),
//! independent of HTTP: the API adapter (`crate::api`) and the tests call these.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use parking_lot::Mutex;
use trawl_engine::registry::SpiderRegistry;

use trawl_engine::downloader::Cidr;

use crate::bundle::{parse_bundle, Bundle};
use crate::cron::CronSchedule;
use crate::events::EventsConfig;
use crate::model::{CancelLevel, Job, JobBlob, JobState, OverlapPolicy, Schedule, Version};
use crate::names::{
    check_job_id, check_name, check_project, check_version, is_valid_name, new_job_id,
    new_schedule_id, sanitize_version, version_cmp,
};
use crate::policy::{check_args, check_settings};
use crate::ports::{Dispatcher, JobCounts, Kicker, StoreError, Stores};

/// Control-plane limits and names (Scrapyd's option names where they exist).
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// `node_name` in every answer.
    pub node_name: String,
    /// Jobs running at once, across all projects (`max_proc`).
    pub max_proc: usize,
    /// Jobs running at once per project (0 = no per-project limit).
    pub max_proc_per_project: usize,
    /// Finished jobs kept (`finished_to_keep`); older ones and their logs/items go.
    pub finished_to_keep: usize,
    /// A running job whose heartbeat is older than this is reaped as failed.
    pub heartbeat_timeout: chrono::Duration,
    /// A schedule due longer ago than this is skipped, not fired (after downtime).
    pub schedule_grace: chrono::Duration,
    /// Requeue (instead of fail) jobs found running after a crash that have no
    /// checkpoint to resume from.
    pub requeue_interrupted: bool,
    /// Resume jobs whose crawler died (a crash, a restart, a lost function) from their
    /// last checkpoint, as a new attempt of the same running job.
    pub resume_interrupted: bool,
    /// Segments of a job that may die in a row (without writing a checkpoint) before
    /// the job ends `failed`.
    pub max_failed_segments: u32,
    /// Address ranges jobs may fetch besides public addresses (jobs never reach
    /// loopback, private or link-local addresses, nor `file:` URLs, unless allowed here).
    pub allowed_destinations: Vec<Cidr>,
    /// Rust spiders, in every project next to the bundle's spiders (the bundle wins on
    /// a name clash; see [`crate::spiders`]).
    pub spiders: SpiderRegistry,
    /// How events are delivered to webhooks.
    pub events: EventsConfig,
    /// The most crawlers one job may use (`max_crawlers_per_job`): a job's
    /// `CONCURRENT_CRAWLERS` is capped to it (and to [`crate::frontier::MAX_CRAWLERS`]).
    pub max_crawlers_per_job: usize,
    /// Where the crawlers of a job crawled over partitions run.
    pub fan_out: FanOut,
}

/// Where the crawlers of a job with `CONCURRENT_CRAWLERS > 1` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanOut {
    /// As tasks of the process that runs the job (`trawl serve`).
    #[default]
    InProcess,
    /// Each in a crawler of its own, started by a message of the crawl queue
    /// ([`Dispatcher::dispatch_crawler`](crate::ports::Dispatcher::dispatch_crawler)):
    /// the job's first crawler seeds the frontier and hands over; the poller starts
    /// crawlers while partitions with work wait, up to the job's `CONCURRENT_CRAWLERS`.
    Dispatched,
}

impl Default for ControlConfig {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        ControlConfig {
            node_name: "trawl".into(),
            max_proc: 4 * cpus,
            max_proc_per_project: 0,
            finished_to_keep: 100,
            heartbeat_timeout: chrono::Duration::seconds(120),
            schedule_grace: chrono::Duration::minutes(10),
            requeue_interrupted: false,
            resume_interrupted: true,
            max_failed_segments: 3,
            allowed_destinations: Vec::new(),
            spiders: SpiderRegistry::new(),
            events: EventsConfig::default(),
            max_crawlers_per_job: 16,
            fan_out: FanOut::InProcess,
        }
    }
}

/// An API error; `Display` gives Scrapyd's message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A required parameter is missing.
    #[error("'{0}' parameter is required")]
    Missing(&'static str),
    /// A parameter has a bad value.
    #[error("{param} is invalid: {message}")]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Unknown project.
    #[error("project '{0}' not found")]
    ProjectNotFound(String),
    /// Unknown version.
    #[error("version '{0}' not found")]
    VersionNotFound(String),
    /// Unknown spider.
    #[error("spider '{0}' not found")]
    SpiderNotFound(String),
    /// Unknown schedule.
    #[error("schedule '{0}' not found")]
    ScheduleNotFound(String),
    /// A project name that would leave its storage folder (`../p`), where Scrapyd
    /// builds a path from it.
    #[error("DirectoryTraversalError: {0}")]
    DirectoryTraversal(String),
    /// A job id given to `schedule.json` belongs to a pending or running job.
    #[error("jobid is invalid: job '{0}' is already pending or running")]
    JobExists(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A bad parameter value.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            param,
            message: message.into(),
        }
    }
}

/// Result of a control-plane operation.
pub type ApiResult<T> = Result<T, ApiError>;

/// Parameters of `schedule.json`.
#[derive(Debug, Clone, Default)]
pub struct ScheduleRequest {
    /// Project.
    pub project: String,
    /// Spider.
    pub spider: String,
    /// `_version` (latest when `None`).
    pub version: Option<String>,
    /// `jobid` (generated when `None`).
    pub job_id: Option<String>,
    /// `priority`.
    pub priority: f64,
    /// `setting=NAME=VALUE` pairs.
    pub settings: BTreeMap<String, String>,
    /// Every other parameter: spider arguments.
    pub args: BTreeMap<String, String>,
}

/// Parameters of `addschedule.json`.
#[derive(Debug, Clone)]
pub struct AddScheduleRequest {
    /// Project.
    pub project: String,
    /// Spider.
    pub spider: String,
    /// Cron expression (five fields or `@hourly`-style).
    pub cron: String,
    /// IANA time zone (default UTC).
    pub timezone: String,
    /// Spider arguments.
    pub args: BTreeMap<String, String>,
    /// Settings.
    pub settings: BTreeMap<String, String>,
    /// Job priority.
    pub priority: f64,
    /// Start enabled.
    pub enabled: bool,
    /// What to do when the previous run is still pending or running.
    pub overlap: OverlapPolicy,
    /// A chosen id (generated when `None`).
    pub id: Option<String>,
}

pub use crate::model::JobLists;

/// The control plane.
pub struct Control {
    pub(crate) stores: Stores,
    pub(crate) dispatcher: Arc<dyn Dispatcher>,
    pub(crate) kicker: Arc<dyn Kicker>,
    pub(crate) cfg: ControlConfig,
    bundles: Mutex<std::collections::HashMap<String, Arc<Bundle>>>,
}

impl Control {
    /// A control plane over `stores`.
    pub fn new(
        stores: Stores,
        dispatcher: Arc<dyn Dispatcher>,
        kicker: Arc<dyn Kicker>,
        cfg: ControlConfig,
    ) -> Self {
        Control {
            stores,
            dispatcher,
            kicker,
            cfg,
            bundles: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.cfg
    }

    /// The time now, by the control plane's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.stores.clock.now()
    }

    /// The stores, for tests that set up or inspect state directly (feature `testkit`);
    /// everything else goes through the control plane's operations.
    #[cfg(any(test, feature = "testkit"))]
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// `daemonstatus.json`.
    pub async fn daemon_status(&self) -> ApiResult<JobCounts> {
        Ok(self.stores.jobs.count_jobs().await?)
    }

    /// `addversion.json`: validates every spec of the bundle; returns the spider count.
    /// The version is stored under Scrapyd's sanitised name ([`sanitize_version`]).
    pub async fn add_version(&self, project: &str, version: &str, egg: Bytes) -> ApiResult<usize> {
        check_project(project)?;
        check_version(version)?;
        let version = sanitize_version(version);
        let bundle = parse_bundle(&egg).map_err(|e| ApiError::invalid("egg", e.to_string()))?;
        let now = self.stores.clock.now();
        let bundle_key = crate::model::bundle_key(project, &version, now);
        self.stores.blobs.put(&bundle_key, egg).await?;
        let record = Version {
            project: project.to_string(),
            version: version.clone(),
            spiders: bundle.spider_names(),
            bundle_key,
            created_at: now,
        };
        // A re-upload of the same label replaces the record; drop the old bundle blob.
        let old = self.find_version(project, &version).await?;
        self.stores.projects.put_version(&record).await?;
        if let Some(old) = old {
            self.stores.blobs.delete(&old.bundle_key).await?;
        }
        self.bundles
            .lock()
            .insert(record.bundle_key.clone(), Arc::new(bundle));
        Ok(record.spiders.len())
    }

    /// `schedule.json`: returns the job id. A `jobid` whose job has finished is taken
    /// again (the finished job's record is replaced); one whose job is pending or
    /// running is refused.
    pub async fn schedule(&self, req: ScheduleRequest) -> ApiResult<String> {
        if !req.priority.is_finite() {
            return Err(ApiError::invalid("priority", "must be a finite number"));
        }
        check_settings(&req.settings).map_err(|e| ApiError::invalid("setting", e.to_string()))?;
        check_args(&req.args).map_err(|e| ApiError::invalid("spider arguments", e.to_string()))?;
        self.check_spider(
            &req.project,
            req.version.as_deref(),
            &req.spider,
            &req.args,
            &req.settings,
        )
        .await?;
        if req.settings.keys().any(|k| k.trim().is_empty()) {
            return Err(ApiError::invalid(
                "setting",
                "expected NAME=VALUE with a name",
            ));
        }
        let id = match &req.job_id {
            Some(id) => {
                check_job_id(id)?;
                id.clone()
            }
            None => new_job_id(),
        };
        let mut job = Job::new(id, req.project, req.spider, self.stores.clock.now());
        job.version = req.version;
        job.args = req.args;
        job.settings = req.settings;
        job.priority = req.priority;
        self.enqueue(job.clone()).await?;
        self.kicker.kick();
        Ok(job.id)
    }

    /// Stores a new pending job; a finished job with its id is replaced, a pending or
    /// running one is [`ApiError::JobExists`]. The replaced job's log and items go,
    /// unless the new job writes the same files: then its items are overwritten and its
    /// log continues the old one (Scrapy appends to a job's log file by default).
    async fn enqueue(&self, mut job: Job) -> ApiResult<()> {
        // Retried when the id's job vanishes or changes between the calls.
        for _ in 0..3 {
            match self.stores.jobs.insert_job(&job).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            let Some(old) = self.stores.jobs.get_job(&job.id).await? else {
                continue;
            };
            if old.state != JobState::Finished {
                return Err(ApiError::JobExists(job.id));
            }
            job.attempt = old.attempt;
            if self.stores.jobs.replace_finished_job(&job).await? {
                if old.log_key() != job.log_key() {
                    self.stores.blobs.delete(&old.log_key()).await?;
                    self.stores.blobs.delete(&old.items_key()).await?;
                }
                return Ok(());
            }
        }
        Err(ApiError::JobExists(job.id))
    }

    /// `cancel.json`: returns the state the job was in (`None` if unknown/finished).
    ///
    /// A pending job is removed; a running one is asked to stop: gracefully, and a
    /// second graceful request stops it at once; [`CancelLevel::Forced`] stops it at
    /// once. Its items and log are kept. An unknown project is Scrapyd's
    /// `project '...' not found`.
    pub async fn cancel(
        &self,
        project: &str,
        job: &str,
        level: CancelLevel,
    ) -> ApiResult<Option<JobState>> {
        self.require_project(project).await?;
        let Some(record) = self.stores.jobs.get_job(job).await? else {
            return Ok(None);
        };
        if record.project != project {
            return Ok(None);
        }
        match record.state {
            JobState::Pending => {
                if self.stores.jobs.remove_pending(job).await? {
                    return Ok(Some(JobState::Pending));
                }
                // It started meanwhile: cancel it as a running job.
                Box::pin(self.cancel(project, job, level)).await
            }
            JobState::Running => {
                if let Some(n) = self.stores.jobs.request_cancel(job, level).await? {
                    self.dispatcher.notify_cancel(job, n).await;
                    Ok(Some(JobState::Running))
                } else {
                    Ok(None)
                }
            }
            JobState::Finished => Ok(None),
        }
    }

    /// `status.json`: the job, if known (and of `project`, when given; an unknown
    /// project is Scrapyd's `project '...' not found`).
    pub async fn status(&self, job: &str, project: Option<&str>) -> ApiResult<Option<Job>> {
        if let Some(p) = project {
            self.require_project(p).await?;
        }
        let found = self.stores.jobs.get_job(job).await?;
        Ok(found.filter(|j| project.is_none_or(|p| j.project == p)))
    }

    /// `listprojects.json`.
    pub async fn list_projects(&self) -> ApiResult<Vec<String>> {
        let mut p = self.stores.projects.projects().await?;
        p.sort();
        Ok(p)
    }

    /// `listversions.json`: ascending, latest last; unknown project gives `[]`.
    pub async fn list_versions(&self, project: &str) -> ApiResult<Vec<String>> {
        check_project(project)?;
        Ok(self
            .sorted_versions(project)
            .await?
            .into_iter()
            .map(|v| v.version)
            .collect())
    }

    /// `listspiders.json`: the version's spiders and the registered ones.
    pub async fn list_spiders(
        &self,
        project: &str,
        version: Option<&str>,
    ) -> ApiResult<Vec<String>> {
        let version = self.resolve_version(project, version).await?;
        Ok(self.spider_names(&version))
    }

    /// The job store's generation (see [`crate::ports::JobStore::generation`]): equal values mean no
    /// job changed in between.
    pub fn jobs_generation(&self) -> Option<u64> {
        self.stores.jobs.generation()
    }

    /// `listjobs.json` (an unknown project is Scrapyd's `project '...' not found`).
    pub async fn list_jobs(&self, project: Option<&str>) -> ApiResult<JobLists> {
        if let Some(p) = project {
            self.require_project(p).await?;
        }
        Ok(self.stores.jobs.job_lists(project).await?)
    }

    /// `delversion.json` (deleting the last version deletes the project). As in
    /// Scrapyd, a version of an unknown project is `version '...' not found`.
    pub async fn delete_version(&self, project: &str, version: &str) -> ApiResult<()> {
        check_project(project)?;
        let Some(v) = self.find_version(project, version).await? else {
            return Err(ApiError::VersionNotFound(version.to_string()));
        };
        self.stores
            .projects
            .delete_version(project, &v.version)
            .await?;
        self.stores.blobs.delete(&v.bundle_key).await?;
        self.bundles.lock().remove(&v.bundle_key);
        Ok(())
    }

    /// `delproject.json`.
    pub async fn delete_project(&self, project: &str) -> ApiResult<()> {
        check_project(project)?;
        let versions = self.stores.projects.versions(project).await?;
        if versions.is_empty() {
            return Err(ApiError::ProjectNotFound(project.to_string()));
        }
        self.stores.projects.delete_project(project).await?;
        self.stores.history.forget_items(project).await?;
        for v in versions {
            self.stores.blobs.delete(&v.bundle_key).await?;
            self.bundles.lock().remove(&v.bundle_key);
        }
        Ok(())
    }

    /// `addschedule.json`.
    pub async fn add_schedule(&self, req: AddScheduleRequest) -> ApiResult<Schedule> {
        let cron = CronSchedule::parse(&req.cron, &req.timezone)
            .map_err(|e| ApiError::invalid("cron", e.to_string()))?;
        if !req.priority.is_finite() {
            return Err(ApiError::invalid("priority", "must be a finite number"));
        }
        check_settings(&req.settings).map_err(|e| ApiError::invalid("setting", e.to_string()))?;
        check_args(&req.args).map_err(|e| ApiError::invalid("spider arguments", e.to_string()))?;
        self.check_spider(&req.project, None, &req.spider, &req.args, &req.settings)
            .await?;
        let id = match &req.id {
            Some(id) => {
                check_name("id", id)?;
                id.clone()
            }
            None => new_schedule_id(),
        };
        let now = self.stores.clock.now();
        let schedule = Schedule {
            id,
            project: req.project,
            spider: req.spider,
            cron: req.cron,
            timezone: req.timezone,
            args: req.args,
            settings: req.settings,
            priority: req.priority,
            enabled: req.enabled,
            overlap: req.overlap,
            next_run: if req.enabled {
                cron.next_after(now)
            } else {
                None
            },
            last_run: None,
            last_job: None,
            created_at: now,
        };
        self.stores.schedules.put_schedule(&schedule).await?;
        self.kicker.kick();
        Ok(schedule)
    }

    /// `listschedules.json`.
    pub async fn list_schedules(&self, project: Option<&str>) -> ApiResult<Vec<Schedule>> {
        if let Some(p) = project {
            check_name("project", p)?;
        }
        Ok(self.stores.schedules.list_schedules(project).await?)
    }

    /// `delschedule.json`.
    pub async fn delete_schedule(&self, id: &str) -> ApiResult<()> {
        check_name("id", id)?;
        let project = self
            .stores
            .schedules
            .get_schedule(id)
            .await?
            .map(|s| s.project);
        if self.stores.schedules.delete_schedule(id).await? {
            if let Some(p) = project {
                self.drop_schedule_webhooks(&p, id).await?;
            }
            Ok(())
        } else {
            Err(ApiError::ScheduleNotFound(id.to_string()))
        }
    }

    /// `enableschedule.json` / `disableschedule.json`.
    pub async fn set_schedule_enabled(&self, id: &str, enabled: bool) -> ApiResult<Schedule> {
        check_name("id", id)?;
        let mut s = self
            .stores
            .schedules
            .get_schedule(id)
            .await?
            .ok_or_else(|| ApiError::ScheduleNotFound(id.to_string()))?;
        if s.enabled != enabled {
            s.enabled = enabled;
            s.next_run = if enabled {
                CronSchedule::parse(&s.cron, &s.timezone)
                    .map_err(|e| ApiError::invalid("cron", e.to_string()))?
                    .next_after(self.stores.clock.now())
            } else {
                None
            };
            self.stores.schedules.put_schedule(&s).await?;
            self.kicker.kick();
        }
        Ok(s)
    }

    /// A job's log (`/logs/{project}/{spider}/{job}.log`).
    pub async fn job_log(
        &self,
        project: &str,
        spider: &str,
        job: &str,
    ) -> ApiResult<Option<Bytes>> {
        self.job_blob(project, spider, job, JobBlob::Log).await
    }

    /// A job's items (`/items/{project}/{spider}/{job}.jl`).
    pub async fn job_items(
        &self,
        project: &str,
        spider: &str,
        job: &str,
    ) -> ApiResult<Option<Bytes>> {
        self.job_blob(project, spider, job, JobBlob::Items).await
    }

    async fn job_blob(
        &self,
        project: &str,
        spider: &str,
        job: &str,
        blob: JobBlob,
    ) -> ApiResult<Option<Bytes>> {
        if !is_valid_name(project) || !is_valid_name(spider) || check_job_id(job).is_err() {
            return Ok(None);
        }
        Ok(self
            .stores
            .blobs
            .get(&blob.key(project, spider, job))
            .await?)
    }

    /// Checks that the spider exists in the version (or the registry) and accepts these
    /// arguments — at schedule time, not when the job starts.
    async fn check_spider(
        &self,
        project: &str,
        version: Option<&str>,
        spider: &str,
        args: &BTreeMap<String, String>,
        settings: &BTreeMap<String, String>,
    ) -> ApiResult<()> {
        self.job_spider(project, version, spider, args, settings)
            .await
            .map(drop)
    }

    async fn sorted_versions(&self, project: &str) -> ApiResult<Vec<Version>> {
        let mut versions = self.stores.projects.versions(project).await?;
        versions.sort_by(|a, b| version_cmp(&a.version, &b.version));
        Ok(versions)
    }

    /// The version stored under `version`'s sanitised name.
    async fn find_version(&self, project: &str, version: &str) -> ApiResult<Option<Version>> {
        if !is_valid_name(project) {
            return Ok(None);
        }
        let name = sanitize_version(version);
        Ok(self
            .stores
            .projects
            .versions(project)
            .await?
            .into_iter()
            .find(|v| v.version == name))
    }

    /// Scrapyd's `project '...' not found` unless the project has a version.
    pub(crate) async fn require_project(&self, project: &str) -> ApiResult<()> {
        if is_valid_name(project) && !self.stores.projects.versions(project).await?.is_empty() {
            Ok(())
        } else {
            Err(ApiError::ProjectNotFound(project.to_string()))
        }
    }

    /// The named version (found by its sanitised name), or the latest; Scrapyd's
    /// errors when either is unknown.
    pub async fn resolve_version(
        &self,
        project: &str,
        version: Option<&str>,
    ) -> ApiResult<Version> {
        if !is_valid_name(project) {
            return Err(ApiError::ProjectNotFound(project.to_string()));
        }
        let mut versions = self.sorted_versions(project).await?;
        if versions.is_empty() {
            return Err(ApiError::ProjectNotFound(project.to_string()));
        }
        match version {
            None => Ok(versions.pop().expect("not empty")),
            Some(v) => versions
                .into_iter()
                .find(|x| x.version == sanitize_version(v))
                .ok_or_else(|| ApiError::VersionNotFound(v.to_string())),
        }
    }

    /// The parsed bundle of a version (cached; versions are immutable blobs).
    pub async fn bundle(&self, version: &Version) -> ApiResult<Arc<Bundle>> {
        if let Some(b) = self.bundles.lock().get(&version.bundle_key) {
            return Ok(b.clone());
        }
        let data = self
            .stores
            .blobs
            .get(&version.bundle_key)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("bundle {} is missing", version.bundle_key))
            })?;
        let bundle =
            Arc::new(parse_bundle(&data).map_err(|e| ApiError::invalid("egg", e.to_string()))?);
        self.bundles
            .lock()
            .insert(version.bundle_key.clone(), bundle.clone());
        Ok(bundle)
    }
}
