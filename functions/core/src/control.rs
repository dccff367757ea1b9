//! The control plane's operations, one method per Scrapyd endpoint (plus schedules),
//! independent of HTTP: the API adapter (`crate::api`) and the tests call these.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use crate::model::{Job, JobState, OverlapPolicy, Schedule};
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
    /// Requeue (instead of fail) jobs found running after a crash.
    pub requeue_interrupted: bool,
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

/// `listjobs.json`'s three lists.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobLists {
    /// Pending jobs, next to run first.
    pub pending: Vec<Job>,
    /// Running jobs.
    pub running: Vec<Job>,
    /// Finished jobs, newest first.
    pub finished: Vec<Job>,
}

/// The control plane.
pub struct Control {
    pub(crate) stores: Stores,
    pub(crate) dispatcher: Arc<dyn Dispatcher>,
    pub(crate) kicker: Arc<dyn Kicker>,
    pub(crate) cfg: ControlConfig,
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
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.cfg
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// `daemonstatus.json`.
    pub async fn daemon_status(&self) -> ApiResult<JobCounts> {
        Ok(self.stores.jobs.count_jobs().await?)
    }

    /// `addversion.json`: validates every spec of the bundle; returns the spider count.
    pub async fn add_version(&self, project: &str, version: &str, egg: Bytes) -> ApiResult<usize> {
        todo!("{project} {version} {}", egg.len())
    }

    /// `schedule.json`: returns the job id.
    pub async fn schedule(&self, req: ScheduleRequest) -> ApiResult<String> {
        todo!("{req:?}")
    }

    /// `cancel.json`: returns the state the job was in (`None` if unknown/finished).
    pub async fn cancel(&self, project: &str, job: &str) -> ApiResult<Option<JobState>> {
        todo!("{project} {job}")
    }

    /// `status.json`: the job, if known (and of `project`, when given).
    pub async fn status(&self, job: &str, project: Option<&str>) -> ApiResult<Option<Job>> {
        todo!("{job} {project:?}")
    }

    /// `listprojects.json`.
    pub async fn list_projects(&self) -> ApiResult<Vec<String>> {
        todo!()
    }

    /// `listversions.json`: ascending, latest last; unknown project gives `[]`.
    pub async fn list_versions(&self, project: &str) -> ApiResult<Vec<String>> {
        todo!("{project}")
    }

    /// `listspiders.json`.
    pub async fn list_spiders(
        &self,
        project: &str,
        version: Option<&str>,
    ) -> ApiResult<Vec<String>> {
        todo!("{project} {version:?}")
    }

    /// `listjobs.json`.
    pub async fn list_jobs(&self, project: Option<&str>) -> ApiResult<JobLists> {
        todo!("{project:?}")
    }

    /// `delversion.json` (deleting the last version deletes the project).
    pub async fn delete_version(&self, project: &str, version: &str) -> ApiResult<()> {
        todo!("{project} {version}")
    }

    /// `delproject.json`.
    pub async fn delete_project(&self, project: &str) -> ApiResult<()> {
        todo!("{project}")
    }

    /// `addschedule.json`.
    pub async fn add_schedule(&self, req: AddScheduleRequest) -> ApiResult<Schedule> {
        todo!("{req:?}")
    }

    /// `listschedules.json`.
    pub async fn list_schedules(&self, project: Option<&str>) -> ApiResult<Vec<Schedule>> {
        todo!("{project:?}")
    }

    /// `delschedule.json`.
    pub async fn delete_schedule(&self, id: &str) -> ApiResult<()> {
        todo!("{id}")
    }

    /// `enableschedule.json` / `disableschedule.json`.
    pub async fn set_schedule_enabled(&self, id: &str, enabled: bool) -> ApiResult<Schedule> {
        todo!("{id} {enabled}")
    }

    /// A job's log (`/logs/{project}/{spider}/{job}.log`).
    pub async fn job_log(
        &self,
        project: &str,
        spider: &str,
        job: &str,
    ) -> ApiResult<Option<Bytes>> {
        todo!("{project} {spider} {job}")
    }

    /// A job's items (`/items/{project}/{spider}/{job}.jl`).
    pub async fn job_items(
        &self,
        project: &str,
        spider: &str,
        job: &str,
    ) -> ApiResult<Option<Bytes>> {
        todo!("{project} {spider} {job}")
    }
}
