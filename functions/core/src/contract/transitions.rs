//! Job-store cases for the state machine: each transition happens only from the state
//! (and attempt) it names. Every case leaves no pending or running job behind.

use futures::future::join_all;

use super::{ids, job, outcome, owned, running, secs, settle, t0, Names};
use crate::model::{CancelLevel, Job, JobState, Outcome};
use crate::ports::JobStore;

/// pending → running, once: the started job is returned and stored; a running,
/// finished or unknown job does not start.
pub async fn start_job_only_from_pending(store: &dyn JobStore) {
    let n = Names::new("t");
    let c = job(&n.id("c"), &n.project(1), 5.0, t0() + secs(2));
    store.insert_job(&c).await.expect("insert_job");
    let started = store
        .start_job(&c.id, "runner-c", t0() + secs(100))
        .await
        .unwrap()
        .expect("starting a pending job returns it");
    assert_eq!(started.state, JobState::Running, "start → running");
    assert_eq!(started.attempt, 1, "start increments the attempt");
    assert_eq!(
        started.runner.as_deref(),
        Some("runner-c"),
        "start sets runner"
    );
    assert_eq!(
        started.started_at,
        Some(t0() + secs(100)),
        "start sets started_at"
    );
    assert_eq!(
        started.heartbeat_at,
        Some(t0() + secs(100)),
        "start sets heartbeat_at"
    );
    assert_eq!(
        (
            &started.id,
            &started.project,
            started.priority,
            started.created_at
        ),
        (&c.id, &c.project, c.priority, c.created_at),
        "start keeps the other fields"
    );
    assert_eq!(
        store.get_job(&c.id).await.unwrap(),
        Some(started.clone()),
        "start returns the stored job"
    );
    assert_eq!(
        store
            .start_job(&c.id, "runner-x", t0() + secs(101))
            .await
            .unwrap(),
        None,
        "a second start of the same job must return None (no double start)"
    );
    assert_eq!(
        store.start_job(&n.id("unknown"), "r", t0()).await.unwrap(),
        None,
        "starting an unknown job returns None"
    );
    settle(store, &started).await;
    assert_eq!(
        store
            .start_job(&c.id, "again", t0() + secs(320))
            .await
            .unwrap(),
        None,
        "a finished job cannot be started"
    );
}

/// Of concurrent starts of one pending job, exactly one wins.
pub async fn concurrent_starts_have_one_winner(store: &dyn JobStore) {
    let n = Names::new("t");
    let b = job(&n.id("b"), &n.project(1), 5.0, t0());
    store.insert_job(&b).await.expect("insert_job");
    let runners: Vec<String> = (0..16).map(|i| format!("runner-{i}")).collect();
    let results = join_all(
        runners
            .iter()
            .map(|r| store.start_job(&b.id, r, t0() + secs(50))),
    )
    .await;
    let winners: Vec<Job> = results
        .into_iter()
        .filter_map(|r| r.expect("start_job"))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "16 concurrent starts of one pending job: exactly one must win"
    );
    assert_eq!(winners[0].attempt, 1, "the winner's attempt is 1");
    assert_eq!(
        store.get_job(&b.id).await.unwrap().unwrap().runner,
        winners[0].runner,
        "the stored runner is the winner's"
    );
    settle(store, &winners[0]).await;
}

/// `remove_pending` deletes a pending job only.
pub async fn remove_pending_only_when_pending(store: &dyn JobStore) {
    let n = Names::new("t");
    let c = running(store, &job(&n.id("c"), &n.project(1), 0.0, t0()), "r", t0()).await;
    let d = job(&n.id("d"), &n.project(1), 0.0, t0());
    store.insert_job(&d).await.expect("insert_job");
    assert!(
        !store.remove_pending(&c.id).await.unwrap(),
        "remove_pending of a running job must return false"
    );
    assert!(
        store.get_job(&c.id).await.unwrap().is_some(),
        "a running job survives remove_pending"
    );
    assert!(
        !store.remove_pending(&n.id("unknown")).await.unwrap(),
        "remove_pending of an unknown job returns false"
    );
    assert!(
        store.remove_pending(&d.id).await.unwrap(),
        "remove_pending of a pending job returns true"
    );
    assert_eq!(
        store.get_job(&d.id).await.unwrap(),
        None,
        "a removed job is gone"
    );
    assert!(
        !store.remove_pending(&d.id).await.unwrap(),
        "a second remove_pending returns false"
    );
    settle(store, &c).await;
    assert!(
        !store.remove_pending(&c.id).await.unwrap(),
        "remove_pending of a finished job returns false"
    );
}

/// `request_cancel` counts requests on a running job only.
pub async fn request_cancel_only_for_running_jobs(store: &dyn JobStore) {
    let n = Names::new("t");
    let a = job(&n.id("a"), &n.project(1), 0.0, t0());
    store.insert_job(&a).await.expect("insert_job");
    let c = running(store, &job(&n.id("c"), &n.project(1), 0.0, t0()), "r", t0()).await;
    assert_eq!(
        store
            .request_cancel(&a.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        None,
        "request_cancel of a pending job returns None"
    );
    assert_eq!(
        store
            .request_cancel(&n.id("unknown"), CancelLevel::Graceful)
            .await
            .unwrap(),
        None,
        "request_cancel of an unknown job returns None"
    );
    assert_eq!(
        store
            .request_cancel(&c.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        Some(1),
        "first cancel request counts 1"
    );
    assert_eq!(
        store
            .request_cancel(&c.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        Some(2),
        "second cancel request counts 2"
    );
    settle(store, &c).await;
    assert_eq!(
        store
            .request_cancel(&c.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        None,
        "request_cancel of a finished job returns None"
    );
    assert!(store.remove_pending(&a.id).await.unwrap());
}

/// Concurrent cancel requests are each counted once.
pub async fn concurrent_cancel_requests_each_count(store: &dyn JobStore) {
    let n = Names::new("t");
    let e = running(store, &job(&n.id("e"), &n.project(1), 0.0, t0()), "r", t0()).await;
    let results =
        join_all((0..10).map(|_| store.request_cancel(&e.id, CancelLevel::Graceful))).await;
    let mut seen: Vec<u32> = results
        .into_iter()
        .map(|r| r.unwrap().expect("running"))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=10).collect::<Vec<u32>>(),
        "concurrent cancel requests are each counted once"
    );
    settle(store, &e).await;
}

/// A heartbeat records its time and returns the job's cancel-request count.
pub async fn heartbeat_carries_cancel_count(store: &dyn JobStore) {
    let n = Names::new("t");
    let c = running(store, &job(&n.id("c"), &n.project(1), 0.0, t0()), "r", t0()).await;
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(110)).await.unwrap(),
        Some(0),
        "heartbeat of a running job returns its cancel count (0)"
    );
    assert_eq!(
        store.get_job(&c.id).await.unwrap().unwrap().heartbeat_at,
        Some(t0() + secs(110)),
        "heartbeat records the time"
    );
    store
        .request_cancel(&c.id, CancelLevel::Graceful)
        .await
        .unwrap();
    store
        .request_cancel(&c.id, CancelLevel::Graceful)
        .await
        .unwrap();
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(120)).await.unwrap(),
        Some(2),
        "heartbeat returns the cancel count"
    );
    settle(store, &c).await;
}

/// A heartbeat counts only for the running attempt; a refused one records nothing.
pub async fn heartbeat_requires_running_attempt(store: &dyn JobStore) {
    let n = Names::new("t");
    let a = job(&n.id("a"), &n.project(1), 0.0, t0());
    store.insert_job(&a).await.expect("insert_job");
    let c = running(store, &job(&n.id("c"), &n.project(1), 0.0, t0()), "r", t0()).await;
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(120)).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        store.heartbeat(&c.id, 2, t0() + secs(130)).await.unwrap(),
        None,
        "heartbeat with a wrong attempt returns None"
    );
    assert_eq!(
        store.get_job(&c.id).await.unwrap().unwrap().heartbeat_at,
        Some(t0() + secs(120)),
        "a refused heartbeat records nothing"
    );
    assert_eq!(
        store.heartbeat(&a.id, 0, t0()).await.unwrap(),
        None,
        "heartbeat of a pending job returns None"
    );
    settle(store, &c).await;
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(310)).await.unwrap(),
        None,
        "heartbeat of a finished job returns None"
    );
    assert!(store.remove_pending(&a.id).await.unwrap());
}

/// running (this attempt) → finished, once, keeping the run's record.
pub async fn finish_job_requires_running_attempt(store: &dyn JobStore) {
    let n = Names::new("t");
    let a = job(&n.id("a"), &n.project(1), 0.0, t0());
    store.insert_job(&a).await.expect("insert_job");
    let c = job(&n.id("c"), &n.project(1), 0.0, t0());
    running(store, &c, "r", t0() + secs(100)).await;
    store
        .request_cancel(&c.id, CancelLevel::Graceful)
        .await
        .unwrap();
    store
        .request_cancel(&c.id, CancelLevel::Graceful)
        .await
        .unwrap();
    let out = outcome();
    assert!(
        !store
            .finish_job(&c.id, 2, &out, t0() + secs(300))
            .await
            .unwrap(),
        "finish with a wrong attempt returns false"
    );
    assert!(
        !store
            .finish_job(&a.id, 0, &out, t0() + secs(300))
            .await
            .unwrap(),
        "finish of a pending job returns false"
    );
    assert!(
        store
            .finish_job(&c.id, 1, &out, t0() + secs(300))
            .await
            .unwrap(),
        "finish of the running attempt returns true"
    );
    let done = store.get_job(&c.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Finished, "finish → finished");
    assert_eq!(
        done.finished_at,
        Some(t0() + secs(300)),
        "finish sets finished_at"
    );
    assert_eq!(
        done.outcome.as_ref(),
        Some(&out),
        "the outcome (stats, error) round-trips"
    );
    assert_eq!(
        (done.cancel_requests, done.attempt, done.started_at),
        (2, 1, Some(t0() + secs(100))),
        "finish keeps cancel count, attempt and start time"
    );
    assert!(
        !store
            .finish_job(&c.id, 1, &out, t0() + secs(301))
            .await
            .unwrap(),
        "a second finish returns false"
    );
    assert_eq!(
        store.get_job(&c.id).await.unwrap(),
        Some(done),
        "a refused finish changes nothing"
    );
    assert!(store.remove_pending(&a.id).await.unwrap());
}

/// running (this attempt) → pending, once, clearing the run's runner, start time,
/// heartbeat and cancel requests but keeping the attempt count.
pub async fn requeue_job_requires_running_attempt(store: &dyn JobStore) {
    let n = Names::new("t");
    let a = job(&n.id("a"), &n.project(1), 0.0, t0());
    store.insert_job(&a).await.expect("insert_job");
    let b = running(
        store,
        &job(&n.id("b"), &n.project(1), 0.0, t0()),
        "rb",
        t0(),
    )
    .await;
    let c = running(
        store,
        &job(&n.id("c"), &n.project(1), 0.0, t0()),
        "rc",
        t0(),
    )
    .await;
    settle(store, &c).await;
    store
        .request_cancel(&b.id, CancelLevel::Graceful)
        .await
        .unwrap();
    assert!(
        !store.requeue_job(&b.id, 2).await.unwrap(),
        "requeue with a wrong attempt returns false"
    );
    assert!(
        !store.requeue_job(&a.id, 0).await.unwrap(),
        "requeue of a pending job returns false"
    );
    assert!(
        !store.requeue_job(&c.id, 1).await.unwrap(),
        "requeue of a finished job returns false"
    );
    assert!(
        store.requeue_job(&b.id, 1).await.unwrap(),
        "requeue of the running attempt returns true"
    );
    let again = store.get_job(&b.id).await.unwrap().unwrap();
    assert_eq!(again.state, JobState::Pending, "requeue → pending");
    assert_eq!(again.attempt, 1, "requeue keeps the attempt count");
    assert_eq!(
        (
            again.started_at,
            again.runner.as_deref(),
            again.heartbeat_at,
            again.cancel_requests
        ),
        (None, None, None, 0),
        "requeue clears started_at, runner, heartbeat_at and cancel_requests"
    );
    assert!(
        !store.requeue_job(&b.id, 1).await.unwrap(),
        "a second requeue returns false"
    );
    assert!(store.remove_pending(&a.id).await.unwrap());
    assert!(store.remove_pending(&b.id).await.unwrap());
}

/// A requeued job is back in its place in the queue and restarts as the next attempt;
/// the old attempt can neither heartbeat nor finish it.
pub async fn requeued_job_restarts_as_next_attempt(store: &dyn JobStore) {
    let n = Names::new("t");
    let p = n.project(1);
    let b = running(store, &job(&n.id("b"), &p, 0.5, t0() + secs(3)), "rb", t0()).await;
    let f = job(&n.id("f"), &p, 0.5, t0() + secs(9));
    let g = job(&n.id("g"), &p, 0.5, t0() + secs(1));
    store.insert_job(&f).await.expect("insert_job");
    store.insert_job(&g).await.expect("insert_job");
    assert!(store.requeue_job(&b.id, 1).await.unwrap());
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p)).await.unwrap()),
        owned(&[&g.id, &b.id, &f.id]),
        "a requeued job is back in its place in the queue"
    );
    let b2 = store
        .start_job(&b.id, "runner-b2", t0() + secs(400))
        .await
        .unwrap()
        .expect("a requeued job can start again");
    assert_eq!(b2.attempt, 2, "the restart is attempt 2");
    assert_eq!(
        store.heartbeat(&b.id, 1, t0() + secs(401)).await.unwrap(),
        None,
        "the old attempt's heartbeat is refused"
    );
    assert!(
        !store
            .finish_job(&b.id, 1, &outcome(), t0() + secs(402))
            .await
            .unwrap(),
        "the old attempt cannot finish the job"
    );
    assert!(
        store
            .finish_job(
                &b.id,
                2,
                &Outcome::reason("cancelled", None),
                t0() + secs(500)
            )
            .await
            .unwrap(),
        "the new attempt finishes it"
    );
    assert!(store.remove_pending(&f.id).await.unwrap());
    assert!(store.remove_pending(&g.id).await.unwrap());
}
