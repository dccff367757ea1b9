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
