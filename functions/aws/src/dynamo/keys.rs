//! Key strings and sortable encodings of the single-table design (see [`super`]).

use chrono::{DateTime, Utc};
use trawl_core::model::JobState;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// Partition key of the `GSI1` index (jobs by state, all schedules, all versions).
pub const GSI1PK: &str = "GSI1PK";
/// Sort key of `GSI1`.
pub const GSI1SK: &str = "GSI1SK";
/// Partition key of the `GSI2` index (jobs and schedules by project).
pub const GSI2PK: &str = "GSI2PK";
/// Sort key of `GSI2`.
pub const GSI2SK: &str = "GSI2SK";
/// Name of the index over [`GSI1PK`]/[`GSI1SK`].
pub const GSI1: &str = "GSI1";
/// Name of the index over [`GSI2PK`]/[`GSI2SK`].
pub const GSI2: &str = "GSI2";
/// The TTL attribute (epoch seconds) set on finished jobs.
pub const EXPIRES_AT: &str = "expires_at";
/// A job's [`GSI1SK`] while pending, kept so a requeue can restore it in one write.
pub const QUEUE_SK: &str = "queue_sk";
/// A job's [`GSI2SK`] while pending, kept for the same reason.
pub const QUEUE_PSK: &str = "queue_psk";

/// `PROJECT#{project}`: the partition of a project's versions.
pub fn project_pk(project: &str) -> String {
    format!("PROJECT#{project}")
}

/// `VERSION#{version}`.
pub fn version_sk(version: &str) -> String {
    format!("VERSION#{version}")
}

/// `PROJECTS`: the [`GSI1PK`] of every version (for `projects()`).
pub const ALL_VERSIONS: &str = "PROJECTS";

/// `JOB#{id}`.
pub fn job_pk(id: &str) -> String {
    format!("JOB#{id}")
}

/// The sort key of every job item.
pub const JOB_SK: &str = "JOB";

/// `JOBS#{state}`: the [`GSI1PK`] of the jobs in `state`.
pub fn jobs_by_state(state: JobState) -> String {
    format!("JOBS#{}", state.as_str())
}

/// `JOBS#{project}`: the [`GSI2PK`] of a project's jobs (their [`GSI2SK`] starts with
/// the state).
pub fn jobs_by_project(project: &str) -> String {
    format!("JOBS#{project}")
}

/// `SCHEDULE#{id}`.
pub fn schedule_pk(id: &str) -> String {
    format!("SCHEDULE#{id}")
}

/// The sort key of every schedule item.
pub const SCHEDULE_SK: &str = "SCHEDULE";

/// `SCHEDULES`: the [`GSI1PK`] of every schedule.
pub const ALL_SCHEDULES: &str = "SCHEDULES";

/// `SCHEDULES#{project}`: the [`GSI2PK`] of a project's schedules.
pub fn schedules_by_project(project: &str) -> String {
    format!("SCHEDULES#{project}")
}

/// A schedule's sort key in both indexes: creation time, then id.
pub fn schedule_order(created_at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", time_asc(created_at))
}

/// `EVENT#{id}`: an outbox item.
pub fn event_pk(id: &str) -> String {
    format!("EVENT#{id}")
}

/// The sort key of every outbox item.
pub const EVENT_SK: &str = "EVENT";

/// `OUTBOX`: the [`GSI1PK`] of every event waiting for its deliveries.
pub const OUTBOX: &str = "OUTBOX";

/// An outbox item's [`GSI1SK`]: when its next round is due, then its id, so the due
/// events are one key range of `GSI1`.
pub fn outbox_order(next_at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", time_asc(next_at))
}

/// `WEBHOOKS#{project}`: the partition of a project's webhooks.
pub fn webhooks_pk(project: &str) -> String {
    format!("WEBHOOKS#{project}")
}

/// `WEBHOOK#{id}`.
pub fn webhook_sk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

/// `DELIVERIES#{webhook}`: the partition of a webhook's delivery records.
pub fn deliveries_pk(webhook: &str) -> String {
    format!("DELIVERIES#{webhook}")
}

/// A time as 16 hex digits that sort like the time (microseconds, offset so negative
/// times sort before positive ones).
pub fn time_asc(t: DateTime<Utc>) -> String {
    format!("{:016x}", (t.timestamp_micros() as u64) ^ (1 << 63))
}

/// A time as 16 hex digits that sort in *reverse* time order.
pub fn time_desc(t: DateTime<Utc>) -> String {
    format!("{:016x}", !((t.timestamp_micros() as u64) ^ (1 << 63)))
}

/// A finite priority as 16 hex digits that sort from the *highest* priority to the
/// lowest (the IEEE-754 bits made monotonic, then inverted).
pub fn priority_desc(priority: f64) -> String {
    let p = if priority == 0.0 { 0.0 } else { priority }; // -0.0 sorts as 0.0
    let bits = p.to_bits();
    let ascending = if bits >> 63 == 0 {
        bits | (1 << 63)
    } else {
        !bits
    };
    format!("{:016x}", !ascending)
}

/// The order of a job within its state (the [`GSI1SK`]): pending by priority (highest
/// first) then creation; running by start; finished newest first. The id breaks ties.
pub fn job_order(
    state: JobState,
    id: &str,
    priority: f64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> String {
    match state {
        JobState::Pending => pending_order(id, priority, created_at),
        JobState::Running => format!("{}#{id}", time_asc(started_at.unwrap_or(created_at))),
        JobState::Finished => format!(
            "{}#{id}",
            time_desc(finished_at.or(started_at).unwrap_or(created_at))
        ),
    }
}

/// A pending job's [`GSI1SK`].
pub fn pending_order(id: &str, priority: f64, created_at: DateTime<Utc>) -> String {
    format!("{}#{}#{id}", priority_desc(priority), time_asc(created_at))
}

/// A job's [`GSI2SK`]: `{state}#{order}`, so one project's jobs in one state are a
/// `begins_with` range in the same order.
pub fn project_order(state: JobState, order: &str) -> String {
    format!("{}#{order}", state.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn priorities_sort_descending() {
        let ps = [
            f64::MAX,
            1e300,
            5.0,
            0.5,
            1e-300,
            0.0,
            -0.0,
            -1e-300,
            -1.0,
            -1e300,
            f64::MIN,
        ];
        let keys: Vec<String> = ps.iter().map(|p| priority_desc(*p)).collect();
        for w in keys.windows(2) {
            assert!(w[0] <= w[1], "{keys:?}");
        }
        assert_eq!(priority_desc(0.0), priority_desc(-0.0));
    }

    #[test]
    fn times_sort() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let ts = [
            t - Duration::days(365 * 80),
            t - Duration::microseconds(1),
            t,
            t + Duration::microseconds(1),
        ];
        for w in ts.windows(2) {
            assert!(time_asc(w[0]) < time_asc(w[1]));
            assert!(time_desc(w[0]) > time_desc(w[1]));
        }
    }
}
