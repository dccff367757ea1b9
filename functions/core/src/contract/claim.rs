//! Job-store cases for the crawler's claim on a dispatched job ([`JobStore::claim_job`]).

use chrono::Utc;

use super::{job, settle, Names};
use crate::ports::JobStore;

/// Only a running job can be claimed: not a pending one, nor a finished one.
pub async fn claim_job_only_when_running(store: &dyn JobStore) {
    let n = Names::new("claim");
    let now = Utc::now();
    let pending = job(&n.id("pending"), &n.project(1), 0.0, now);
    store.insert_job(&pending).await.expect("insert_job");
    assert!(
        !store
            .claim_job(&pending.id, 1, "poller", "c1", now)
            .await
            .unwrap(),
        "a pending job cannot be claimed"
    );
    let started = store
        .start_job(&pending.id, "poller", now)
        .await
        .unwrap()
        .expect("start_job");
    settle(store, &started).await;
    assert!(
        !store
            .claim_job(&pending.id, started.attempt, "poller", "c3", now)
            .await
            .unwrap(),
        "a finished job cannot be claimed"
    );
}

/// A claim names the running attempt and the dispatcher that holds the job.
pub async fn claim_job_requires_attempt_and_holder(store: &dyn JobStore) {
    let n = Names::new("claim");
    let now = Utc::now();
    let j = job(&n.id("job"), &n.project(1), 0.0, now);
    store.insert_job(&j).await.expect("insert_job");
    let started = store
        .start_job(&j.id, "poller", now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store
            .claim_job(&j.id, started.attempt + 1, "poller", "c1", now)
            .await
            .unwrap(),
        "a claim with a wrong attempt returns false"
    );
    assert!(
        !store
            .claim_job(&j.id, started.attempt, "someone", "c1", now)
            .await
            .unwrap(),
        "a claim from a wrong holder returns false"
    );
    assert_eq!(
        store
            .get_job(&j.id)
            .await
            .unwrap()
            .unwrap()
            .runner
            .as_deref(),
        Some("poller"),
        "a refused claim changes nothing"
    );
    settle(store, &started).await;
}

/// Of two deliveries of one dispatch, only the first claims the job; the claimant
/// holds it and its heartbeats count.
pub async fn claim_job_only_once(store: &dyn JobStore) {
    let n = Names::new("claim");
    let now = Utc::now();
    let j = job(&n.id("job"), &n.project(1), 0.0, now);
    store.insert_job(&j).await.expect("insert_job");
    let started = store
        .start_job(&j.id, "poller", now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .claim_job(&j.id, started.attempt, "poller", "c1", now)
            .await
            .unwrap(),
        "the first claim returns true"
    );
    assert!(
        !store
            .claim_job(&j.id, started.attempt, "poller", "c2", now)
            .await
            .unwrap(),
        "a second delivery cannot claim it again"
    );
    let claimed = store.get_job(&j.id).await.unwrap().unwrap();
    assert_eq!(
        claimed.runner.as_deref(),
        Some("c1"),
        "the claimant holds the job"
    );
    assert_eq!(
        store.heartbeat(&j.id, claimed.attempt, now).await.unwrap(),
        Some(0),
        "the claimed job's heartbeat counts"
    );
    settle(store, &claimed).await;
}

/// A running job resumes as its next attempt, once per attempt: the new segment's
/// runner and heartbeat are recorded, the start time and cancel requests are kept, and
/// the old attempt can no longer heartbeat or finish it.
pub async fn resume_job_continues_the_running_attempt(store: &dyn JobStore) {
    use crate::model::{CancelLevel, JobState};
    let n = Names::new("resume");
    let now = Utc::now();
    let later = now + chrono::Duration::seconds(30);
    let pending = job(&n.id("job"), &n.project(1), 0.0, now);
    store.insert_job(&pending).await.expect("insert_job");
    assert!(
        store
            .resume_job(&pending.id, 0, "c1", now)
            .await
            .unwrap()
            .is_none(),
        "a pending job cannot be resumed"
    );
    let started = store
        .start_job(&pending.id, "poller", now)
        .await
        .unwrap()
        .expect("start_job");
    store
        .request_cancel(&started.id, CancelLevel::Graceful)
        .await
        .unwrap();
    assert!(
        store
            .resume_job(&started.id, started.attempt + 1, "c1", later)
            .await
            .unwrap()
            .is_none(),
        "a resume names the running attempt"
    );
    let resumed = store
        .resume_job(&started.id, started.attempt, "c2", later)
        .await
        .unwrap()
        .expect("resume_job");
    assert_eq!(resumed.state, JobState::Running);
    assert_eq!(resumed.attempt, started.attempt + 1, "a new attempt");
    assert_eq!(resumed.runner.as_deref(), Some("c2"));
    assert_eq!(
        (resumed.started_at, resumed.cancel_requests),
        (started.started_at, 1),
        "the start time and cancel requests are kept"
    );
    assert_eq!(
        resumed.heartbeat_at.map(|t| t.timestamp_millis()),
        Some(later.timestamp_millis())
    );
    assert_eq!(
        store.get_job(&started.id).await.unwrap().as_ref(),
        Some(&resumed),
        "the stored job is the one returned"
    );
    assert!(
        store
            .resume_job(&started.id, started.attempt, "c3", later)
            .await
            .unwrap()
            .is_none(),
        "an attempt resumes once"
    );
    assert!(
        store
            .heartbeat(&started.id, started.attempt, later)
            .await
            .unwrap()
            .is_none(),
        "the old attempt's heartbeat is refused"
    );
    settle(store, &resumed).await;
}
