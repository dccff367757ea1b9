//! Contract checks for reusing a finished job's id and for forced cancel requests.

use chrono::{Duration, TimeZone, Utc};

use crate::model::{CancelLevel, Job, JobState, Outcome};
use crate::ports::JobStore;

/// [`JobStore::replace_finished_job`] and [`JobStore::request_cancel`] with
/// [`CancelLevel::Forced`] (part of the job-store contract).
pub async fn reuse_and_cancel_contract(store: &dyn JobStore) {
    let run = super::unique("r");
    let t0 = Utc.with_ymd_and_hms(2024, 6, 1, 8, 0, 0).unwrap();
    let mut job = Job::new(
        format!("{run}-job"),
        format!("{run}-p"),
        "spider".into(),
        t0,
    );
    job.args.insert("page".into(), "1".into());

    // Only a finished job is replaced.
    assert!(
        !store.replace_finished_job(&job).await.unwrap(),
        "replace_finished_job of an unknown id returns false"
    );
    store.insert_job(&job).await.unwrap();
    assert!(
        !store.replace_finished_job(&job).await.unwrap(),
        "replace_finished_job of a pending job returns false"
    );
    let started = store.start_job(&job.id, "w1", t0).await.unwrap().unwrap();
    assert_eq!(
        store
            .request_cancel(&job.id, CancelLevel::Forced)
            .await
            .unwrap(),
        Some(2),
        "a forced cancel request counts 2 at once"
    );
    assert_eq!(
        CancelLevel::from_requests(2),
        Some(CancelLevel::Forced),
        "a count of 2 reads forced"
    );
    let mut again = job.clone();
    again.attempt = started.attempt;
    assert!(
        !store.replace_finished_job(&again).await.unwrap(),
        "replace_finished_job of a running job returns false"
    );
    let done = Outcome::reason("cancelled", None);
    let end = t0 + Duration::seconds(30);
    assert!(store
        .finish_job(&job.id, started.attempt, &done, end)
        .await
        .unwrap());
    let mut stale = again.clone();
    stale.attempt = started.attempt + 1;
    assert!(
        !store.replace_finished_job(&stale).await.unwrap(),
        "replace_finished_job with another attempt returns false"
    );

    // The finished job becomes the new pending one, which keeps the attempt count.
    let mut new = Job::new(
        job.id.clone(),
        format!("{run}-p2"),
        "other".into(),
        t0 + Duration::seconds(60),
    );
    new.priority = 2.0;
    new.attempt = started.attempt;
    assert!(
        store.replace_finished_job(&new).await.unwrap(),
        "replace_finished_job of a finished job with its attempt returns true"
    );
    let got = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!(got, new, "the new job replaces the finished one whole");
    assert_eq!(got.state, JobState::Pending);
    let pending = store
        .list_jobs(JobState::Pending, Some(&new.project))
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|j| &j.id).collect::<Vec<_>>(),
        vec![&job.id],
        "the replacement is listed as pending, under its project"
    );
    let finished = store
        .list_jobs(JobState::Finished, Some(&job.project))
        .await
        .unwrap();
    assert!(
        finished.iter().all(|j| j.id != job.id),
        "the replaced job is no longer listed as finished"
    );
    let restarted = store.start_job(&job.id, "w2", t0).await.unwrap().unwrap();
    assert_eq!(
        restarted.attempt,
        started.attempt + 1,
        "the replacement's first start is the next attempt"
    );
    assert_eq!(
        store.heartbeat(&job.id, started.attempt, t0).await.unwrap(),
        None,
        "the old run's attempt is stale"
    );
    assert_eq!(
        store
            .request_cancel(&job.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        Some(1),
        "the replacement starts with no cancel requests"
    );
    assert!(store
        .finish_job(&job.id, restarted.attempt, &done, end)
        .await
        .unwrap());
}
