//! [`EventKind`]: what an event reports, and [`EventFilter`]: the kinds a webhook wants.

use serde::{Deserialize, Serialize};

/// What an event reports (`type` in the JSON: `job.finished`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// A job was queued (scheduled, fired by a schedule, or requeued).
    #[serde(rename = "job.pending")]
    JobPending,
    /// A job started.
    #[serde(rename = "job.running")]
    JobRunning,
    /// A running job continued in a new segment (after a crawler's deadline, a crash or
    /// a restart).
    #[serde(rename = "job.continued")]
    JobContinued,
    /// A job ended (`finish_reason` says how).
    #[serde(rename = "job.finished")]
    JobFinished,
    /// A pending job was cancelled (removed from the queue).
    #[serde(rename = "job.removed")]
    JobRemoved,
    /// A schedule fired a job.
    #[serde(rename = "schedule.fired")]
    ScheduleFired,
    /// A schedule's run was skipped: its previous job was still active.
    #[serde(rename = "schedule.skipped")]
    ScheduleSkipped,
    /// A schedule's run was missed: due longer ago than the grace period.
    #[serde(rename = "schedule.missed")]
    ScheduleMissed,
    /// A version was deployed.
    #[serde(rename = "version.added")]
    VersionAdded,
    /// A version was deleted.
    #[serde(rename = "version.removed")]
    VersionRemoved,
}

/// A name that is no event kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?} (job.pending, job.running, job.continued, job.finished, job.removed, schedule.fired, schedule.skipped, schedule.missed, version.added, version.removed, job.*, schedule.*, version.* or *)")]
pub struct UnknownEventKind(pub String);

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 10] = [
        EventKind::JobPending,
        EventKind::JobRunning,
        EventKind::JobContinued,
        EventKind::JobFinished,
        EventKind::JobRemoved,
        EventKind::ScheduleFired,
        EventKind::ScheduleSkipped,
        EventKind::ScheduleMissed,
        EventKind::VersionAdded,
        EventKind::VersionRemoved,
    ];

    /// The name in the JSON (`job.finished`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::JobPending => "job.pending",
            EventKind::JobRunning => "job.running",
            EventKind::JobContinued => "job.continued",
            EventKind::JobFinished => "job.finished",
            EventKind::JobRemoved => "job.removed",
            EventKind::ScheduleFired => "schedule.fired",
            EventKind::ScheduleSkipped => "schedule.skipped",
            EventKind::ScheduleMissed => "schedule.missed",
            EventKind::VersionAdded => "version.added",
            EventKind::VersionRemoved => "version.removed",
        }
    }

    /// `job`, `schedule` or `version`.
    pub fn group(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or("")
    }

    /// Parses [`EventKind::as_str`]'s output.
    pub fn parse(s: &str) -> Result<Self, UnknownEventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.chars().take(64).collect()))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds a webhook receives, sorted and without repeats; empty means every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventFilter(Vec<EventKind>);

impl EventFilter {
    /// Every kind.
    pub fn all() -> Self {
        EventFilter(Vec::new())
    }

    /// Parses a comma-separated list of kinds, `group.*` wildcards or `*` (empty or
    /// blank: every kind).
    pub fn parse(list: &str) -> Result<Self, UnknownEventKind> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == "*" {
                return Ok(Self::all());
            }
            match name.strip_suffix(".*") {
                Some(group) => {
                    let before = kinds.len();
                    kinds.extend(EventKind::ALL.into_iter().filter(|k| k.group() == group));
                    if kinds.len() == before {
                        return Err(UnknownEventKind(name.chars().take(64).collect()));
                    }
                }
                None => kinds.push(EventKind::parse(name)?),
            }
        }
        kinds.sort();
        kinds.dedup();
        if kinds.len() == EventKind::ALL.len() {
            kinds.clear();
        }
        Ok(EventFilter(kinds))
    }

    /// Whether the filter lets `kind` through.
    pub fn matches(&self, kind: EventKind) -> bool {
        self.0.is_empty() || self.0.contains(&kind)
    }

    /// The kinds named (empty: every kind).
    pub fn kinds(&self) -> &[EventKind] {
        &self.0
    }

    /// The names, as listed (`["*"]` for every kind).
    pub fn names(&self) -> Vec<&'static str> {
        if self.0.is_empty() {
            return vec!["*"];
        }
        self.0.iter().map(|k| k.as_str()).collect()
    }
}
