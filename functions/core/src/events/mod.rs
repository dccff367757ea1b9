//! Job, schedule and deploy events: one versioned JSON shape ([`Event`]), written to an
//! outbox in the same conditional write as the transition it reports (see
//! [`crate::ports::EventStore`]), then delivered by the [`Deliverer`] to the project's
//! webhooks (signed, retried with backoff) and to event sinks such as EventBridge.

mod deliver;
mod guard;
mod kind;
mod none;
pub mod sign;
mod webhook;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Job, JobBlob, JobState, Schedule, Version};

pub use deliver::{backoff, Deliverer, DrainReport, EventsConfig};
pub use guard::{WebhookClient, WebhookUrlError};
pub use kind::{EventFilter, EventKind, UnknownEventKind};
pub use none::NoOutbox;
pub use webhook::{
    new_secret, secret_hint, Delivery, Webhook, WebhookError, DELIVERIES_KEPT,
    MAX_WEBHOOKS_PER_PROJECT,
};

/// The version of the event JSON shape (`"version"` in every event).
pub const EVENT_VERSION: u32 = 1;

/// The largest event body delivered, in bytes: a larger one is sent without its stats.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The longest `error` kept in an event, in characters.
const MAX_ERROR_CHARS: usize = 4096;

/// The crawl stats an event carries (the rest stay in `stats.json` and the log).
const MAIN_STATS: &[&str] = &[
    "downloader/request_count",
    "downloader/response_count",
    "downloader/exception_count",
    "item_scraped_count",
    "item_dropped_count",
    "response_received_count",
    "log_count/ERROR",
    "log_count/WARNING",
    "elapsed_time_seconds",
    "start_time",
    "finish_time",
];

/// One event: what happened, when, and to what. Serialised as the documented JSON
/// shape (version [`EVENT_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The shape's version.
    pub version: u32,
    /// Unique id, also the deliveries' idempotency key; ids sort by creation time.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The project.
    pub project: String,
    /// The job, for `job.*` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobInfo>,
    /// The schedule, for `schedule.*` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleInfo>,
    /// The version, for `version.*` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployInfo>,
}

/// A job as events show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Job id.
    pub id: String,
    /// Spider.
    pub spider: String,
    /// Version asked for or run.
    pub version: Option<String>,
    /// State after the transition (`pending`, `running`, `finished`; a removed job
    /// shows the state it was removed from).
    pub state: JobState,
    /// Starts (segments) so far.
    pub attempt: u32,
    /// The schedule that created it.
    pub schedule_id: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Scrapy's `finish_reason` (finished jobs).
    pub finish_reason: Option<String>,
    /// Why the job failed, when it did (at most 4,096 characters).
    pub error: Option<String>,
    /// `item_scraped_count` (finished jobs).
    pub items: Option<u64>,
    /// The main crawl stats (finished jobs).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub stats: Map<String, Value>,
    /// The job's log (`/logs/...`; absolute when the server knows its public URL).
    pub log_url: String,
    /// The job's items (`/items/...`).
    pub items_url: String,
}

/// A schedule run as events show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// Schedule id.
    pub id: String,
    /// Spider.
    pub spider: String,
    /// Cron expression.
    pub cron: String,
    /// Time zone.
    pub timezone: String,
    /// The run's due time.
    pub due: DateTime<Utc>,
    /// The job it created (`schedule.fired`).
    pub job_id: Option<String>,
}

/// A deployed version as events show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployInfo {
    /// Version label.
    pub version: String,
    /// Its spiders (`version.added`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spiders: Vec<String>,
}

/// A new event id: the time in microseconds (hex, so ids sort by time) and 64 random
/// bits.
fn new_event_id(time: DateTime<Utc>) -> String {
    let micros = u64::try_from(time.timestamp_micros()).unwrap_or(0);
    format!("evt_{micros:014x}{:016x}", rand::random::<u64>())
}

impl Event {
    fn new(kind: EventKind, project: &str, time: DateTime<Utc>) -> Self {
        Event {
            version: EVENT_VERSION,
            id: new_event_id(time),
            kind,
            time,
            project: project.to_string(),
            job: None,
            schedule: None,
            deploy: None,
        }
    }

    /// A `job.*` event for `job` as it is after the transition.
    pub fn job(kind: EventKind, job: &Job, time: DateTime<Utc>) -> Self {
        let outcome = job.outcome.as_ref();
        let stats: Map<String, Value> = outcome
            .map(|o| {
                MAIN_STATS
                    .iter()
                    .filter_map(|k| o.stats.get(*k).map(|v| (k.to_string(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let info = JobInfo {
            id: job.id.clone(),
            spider: job.spider.clone(),
            version: job.version.clone(),
            state: job.state,
            attempt: job.attempt,
            schedule_id: job.schedule_id.clone(),
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            finish_reason: outcome.map(|o| o.finish_reason.as_str().to_string()),
            error: outcome
                .and_then(|o| o.error.as_ref())
                .map(|e| e.chars().take(MAX_ERROR_CHARS).collect()),
            items: outcome.map(|o| o.items_scraped()),
            stats,
            log_url: format!("/{}", job.log_key()),
            items_url: format!(
                "/{}",
                JobBlob::Items.key(&job.project, &job.spider, &job.id)
            ),
        };
        Event {
            job: Some(info),
            ..Event::new(kind, &job.project, time)
        }
    }

    /// A `schedule.*` event for the run of `schedule` due at `due`.
    pub fn schedule(
        kind: EventKind,
        schedule: &Schedule,
        due: DateTime<Utc>,
        job_id: Option<&str>,
        time: DateTime<Utc>,
    ) -> Self {
        Event {
            schedule: Some(ScheduleInfo {
                id: schedule.id.clone(),
                spider: schedule.spider.clone(),
                cron: schedule.cron.clone(),
                timezone: schedule.timezone.clone(),
                due,
                job_id: job_id.map(str::to_string),
            }),
            ..Event::new(kind, &schedule.project, time)
        }
    }

    /// `version.added` for a stored version.
    pub fn version_added(v: &Version) -> Self {
        Event {
            deploy: Some(DeployInfo {
                version: v.version.clone(),
                spiders: v.spiders.clone(),
            }),
            ..Event::new(EventKind::VersionAdded, &v.project, v.created_at)
        }
    }

    /// `version.removed` for a deleted version.
    pub fn version_removed(project: &str, version: &str, time: DateTime<Utc>) -> Self {
        Event {
            deploy: Some(DeployInfo {
                version: version.to_string(),
                spiders: Vec::new(),
            }),
            ..Event::new(EventKind::VersionRemoved, project, time)
        }
    }

    /// The job id of a `job.*` event.
    pub fn job_id(&self) -> Option<&str> {
        self.job.as_ref().map(|j| j.id.as_str())
    }

    /// The schedule the event is about: a schedule's own events, and the events of
    /// the jobs it created.
    pub fn schedule_id(&self) -> Option<&str> {
        match (&self.schedule, &self.job) {
            (Some(s), _) => Some(&s.id),
            (None, Some(j)) => j.schedule_id.as_deref(),
            _ => None,
        }
    }

    /// The JSON body delivered: URLs made absolute under `public_url` when it is set;
    /// at most [`MAX_EVENT_BYTES`] (the stats are dropped from a larger one).
    pub fn body(&self, public_url: Option<&str>) -> String {
        let mut event = self.clone();
        if let (Some(base), Some(job)) = (public_url, event.job.as_mut()) {
            let base = base.trim_end_matches('/');
            job.log_url = format!("{base}{}", job.log_url);
            job.items_url = format!("{base}{}", job.items_url);
        }
        let body = serde_json::to_string(&event).unwrap_or_default();
        if body.len() <= MAX_EVENT_BYTES {
            return body;
        }
        if let Some(job) = event.job.as_mut() {
            job.stats.clear();
            job.error = job
                .error
                .as_ref()
                .map(|e| e.chars().take(256).collect::<String>());
        }
        serde_json::to_string(&event).unwrap_or_default()
    }
}

/// Extra labels of an event for sinks that route by them (EventBridge's
/// `detail-type`).
pub fn detail_type(kind: EventKind) -> &'static str {
    match kind.group() {
        "job" => "Trawl Job State Change",
        "schedule" => "Trawl Schedule Event",
        _ => "Trawl Deploy Event",
    }
}

#[cfg(test)]
mod tests;
