//! The storage contract: the test suite every implementation of the ports must pass
//! (compiled for this crate's tests and with the feature `testkit`).
//!
//! Each function runs many checks against one store and panics with a message naming
//! the broken rule. The suites use fresh random ids and project names, so they can run
//! on a store that already holds data, and [`job_store_contract`] only assumes about
//! other data what the port promises. [`job_store_contract`] ends with
//! [`JobStore::prune_finished`], which deletes *all* but the newest finished jobs of
//! the store: run it on a dedicated store or table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use serde_json::json;

use crate::model::{CancelLevel, Job, JobState, Outcome, OverlapPolicy, Schedule, Version};
use crate::ports::{BlobStore, ItemHistory, JobStore, ProjectStore, ScheduleStore, StoreError};

mod listing;
mod reuse;

pub use listing::blob_listing_contract;
pub use reuse::reuse_and_cancel_contract;

/// A prefix unique to this run, so repeated runs on one store never collide.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{nanos:x}{n}")
}

/// A base time with microseconds (stores keep microsecond precision).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap() + Duration::microseconds(123_456)
}

fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

fn ids(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// `list` restricted to the ids in `mine`, order kept.
fn only(list: Vec<Job>, mine: &[&String]) -> Vec<String> {
    list.into_iter()
        .filter(|j| mine.contains(&&j.id))
        .map(|j| j.id)
        .collect()
}

fn owned(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn job(id: &str, project: &str, priority: f64, created_at: DateTime<Utc>) -> Job {
    let mut j = Job::new(id.into(), project.into(), "spider".into(), created_at);
    j.priority = priority;
    j
}

fn outcome() -> Outcome {
    let stats = json!({
        "item_scraped_count": 42,
        "downloader/request_count": 100,
        "elapsed_time_seconds": 1.25,
        "finish_reason": "finished",
        "log_count/ERROR": 0,
        "nested": {"a": [1, 2, 3], "b": null},
    });
    Outcome {
        finish_reason: "finished".into(),
        stats: stats.as_object().unwrap().clone(),
        error: Some("boom: ünïcode \"quoted\"\nline".into()),
    }
}

/// Runs every job-store check (see the module docs about `prune_finished`).
pub async fn job_store_contract(store: &dyn JobStore) {
    claim_contract(store).await;
    reuse_and_cancel_contract(store).await;
    let run = unique("c");
    let p1 = format!("{run}-p1");
    let p2 = format!("{run}-p2");
    let id = |s: &str| format!("{run}-{s}");
    let before = store.count_jobs().await.expect("count_jobs");

    // --- insert / get round trip of every field -------------------------------
    let mut full = job(&id("full"), &p1, 3.5, t0());
    full.version = Some("v1.2-r3".into());
    full.args = BTreeMap::from([
        ("arg".into(), "value with spaces & ünïcode".into()),
        ("empty".into(), String::new()),
    ]);
    full.settings = BTreeMap::from([
        ("DOWNLOAD_DELAY".into(), "0.5".into()),
        ("JSON".into(), "{\"a\": [1]}".into()),
    ]);
    full.started_at = Some(t0() + Duration::microseconds(1));
    full.finished_at = Some(t0() + secs(3600) + Duration::microseconds(999_999));
    full.outcome = Some(outcome());
    full.attempt = 7;
    full.runner = Some("runner-1".into());
    full.heartbeat_at = Some(t0() + secs(10) + Duration::microseconds(1));
    full.cancel_requests = 2;
    full.schedule_id = Some("sched-1".into());
    store.insert_job(&full).await.expect("insert_job");
    let got = store.get_job(&full.id).await.expect("get_job");
    assert_eq!(
        got.as_ref(),
        Some(&full),
        "get_job must return every field as inserted"
    );
    let minimal = job(&id("minimal"), &p2, -1.25, t0() - secs(86400 * 365 * 20));
    store.insert_job(&minimal).await.expect("insert_job");
    assert_eq!(
        store.get_job(&minimal.id).await.unwrap(),
        Some(minimal.clone()),
        "a job with no optional fields round-trips"
    );
    assert_eq!(
        store.get_job(&id("unknown")).await.unwrap(),
        None,
        "unknown job is None"
    );

    // --- duplicate ids -------------------------------------------------------
    let dup = job(&full.id, &p2, 0.0, t0());
    match store.insert_job(&dup).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("inserting a taken id must be Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_job(&full.id).await.unwrap(),
        Some(full.clone()),
        "a conflicting insert must not change the stored job"
    );
    let racer = job(&id("racer"), &p2, 0.0, t0());
    let results = join_all((0..8).map(|_| store.insert_job(&racer))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!(
        (ok, conflicts),
        (1, 7),
        "concurrent inserts of one id: exactly one succeeds, the others conflict"
    );

    // Clean up the round-trip jobs.
    assert!(store.remove_pending(&full.id).await.unwrap());
    assert!(store.remove_pending(&minimal.id).await.unwrap());
    assert!(store.remove_pending(&racer.id).await.unwrap());
    assert_eq!(store.get_job(&full.id).await.unwrap(), None);

    // --- pending order: priority desc, then age, across projects --------------
    let a = job(&id("a"), &p1, 0.0, t0() + secs(1));
    let b = job(&id("b"), &p2, 5.0, t0() + secs(3));
    let c = job(&id("c"), &p1, 5.0, t0() + secs(2));
    let d = job(&id("d"), &p2, -1.0, t0());
    let e = job(&id("e"), &p1, 0.0, t0());
    let f = job(&id("f"), &p2, 0.5, t0() + secs(9));
    for j in [&a, &b, &c, &d, &e, &f] {
        store.insert_job(j).await.expect("insert_job");
    }
    let mine = [&a.id, &b.id, &c.id, &d.id, &e.id, &f.id];
    let pending = store.list_jobs(JobState::Pending, None).await.unwrap();
    assert!(
        pending.iter().all(|j| j.state == JobState::Pending),
        "list_jobs(Pending) returns only pending jobs"
    );
    assert_eq!(
        only(pending, &mine),
        owned(&[&c.id, &b.id, &f.id, &e.id, &a.id, &d.id]),
        "pending jobs: highest priority first, then oldest first, across projects"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p1)).await.unwrap()),
        owned(&[&c.id, &e.id, &a.id]),
        "pending jobs of one project, same order"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p2)).await.unwrap()),
        owned(&[&b.id, &f.id, &d.id]),
        "pending jobs of the other project"
    );
    assert!(
        store
            .list_jobs(JobState::Running, Some(&p1))
            .await
            .unwrap()
            .is_empty(),
        "no running jobs yet"
    );
    let counts = store.count_jobs().await.unwrap();
    assert_eq!(
        counts.pending,
        before.pending + 6,
        "count_jobs counts pending jobs"
    );

    // --- start: only from pending, exactly once ------------------------------
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
        store.start_job(&id("unknown"), "r", t0()).await.unwrap(),
        None,
        "starting an unknown job returns None"
    );
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
    let e_started = store
        .start_job(&e.id, "runner-e", t0() + secs(200))
        .await
        .unwrap()
        .expect("start e");
    assert_eq!(
        ids(&store.list_jobs(JobState::Running, None).await.unwrap())
            .into_iter()
            .filter(|i| mine.contains(&i))
            .collect::<Vec<_>>(),
        owned(&[&b.id, &c.id, &e.id]),
        "running jobs ordered by start time"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Running, Some(&p1)).await.unwrap()),
        owned(&[&c.id, &e.id]),
        "running jobs of one project"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p1)).await.unwrap()),
        owned(&[&a.id]),
        "started jobs leave the pending list"
    );
    let counts = store.count_jobs().await.unwrap();
    assert_eq!(
        (counts.pending, counts.running),
        (before.pending + 3, before.running + 3),
        "count_jobs after starts"
    );

    // --- remove_pending only when pending --------------------------------------
    assert!(
        !store.remove_pending(&c.id).await.unwrap(),
        "remove_pending of a running job must return false"
    );
    assert!(
        store.get_job(&c.id).await.unwrap().is_some(),
        "a running job survives remove_pending"
    );
    assert!(
        !store.remove_pending(&id("unknown")).await.unwrap(),
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

    // --- cancel requests and heartbeats ----------------------------------------
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
            .request_cancel(&id("unknown"), CancelLevel::Graceful)
            .await
            .unwrap(),
        None,
        "request_cancel of an unknown job returns None"
    );
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
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(120)).await.unwrap(),
        Some(2),
        "heartbeat returns the cancel count"
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

    // --- finish only with the right attempt -------------------------------------
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
    let c_done = store.get_job(&c.id).await.unwrap().unwrap();
    assert_eq!(c_done.state, JobState::Finished, "finish → finished");
    assert_eq!(
        c_done.finished_at,
        Some(t0() + secs(300)),
        "finish sets finished_at"
    );
    assert_eq!(
        c_done.outcome.as_ref(),
        Some(&out),
        "the outcome (stats, error) round-trips"
    );
    assert_eq!(
        (c_done.cancel_requests, c_done.attempt, c_done.started_at),
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
        store.get_job(&c.id).await.unwrap().unwrap().finished_at,
        Some(t0() + secs(300)),
        "a refused finish changes nothing"
    );
    assert_eq!(
        store.heartbeat(&c.id, 1, t0() + secs(310)).await.unwrap(),
        None,
        "heartbeat of a finished job returns None"
    );
    assert_eq!(
        store
            .request_cancel(&c.id, CancelLevel::Graceful)
            .await
            .unwrap(),
        None,
        "request_cancel of a finished job returns None"
    );
    assert!(
        !store.remove_pending(&c.id).await.unwrap(),
        "remove_pending of a finished job returns false"
    );
    assert_eq!(
        store
            .start_job(&c.id, "again", t0() + secs(320))
            .await
            .unwrap(),
        None,
        "a finished job cannot be started"
    );

    // --- requeue -----------------------------------------------------------------
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
    let b_again = store.get_job(&b.id).await.unwrap().unwrap();
    assert_eq!(b_again.state, JobState::Pending, "requeue → pending");
    assert_eq!(b_again.attempt, 1, "requeue keeps the attempt count");
    assert!(
        !store.requeue_job(&b.id, 1).await.unwrap(),
        "a second requeue returns false"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p2)).await.unwrap()),
        owned(&[&b.id, &f.id]),
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
            .finish_job(&b.id, 1, &out, t0() + secs(402))
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
    assert!(
        store
            .finish_job(
                &e.id,
                1,
                &Outcome::reason("failed", Some("x".into())),
                t0() + secs(450)
            )
            .await
            .unwrap(),
        "finish e"
    );
    assert_eq!(e_started.attempt, 1, "e ran once");

    // --- finished order: newest first ---------------------------------------------
    let finished = store.list_jobs(JobState::Finished, None).await.unwrap();
    assert!(
        finished.iter().all(|j| j.state == JobState::Finished),
        "list_jobs(Finished) returns only finished jobs"
    );
    assert!(
        finished
            .windows(2)
            .all(|w| w[0].finished_at >= w[1].finished_at),
        "finished jobs: newest first"
    );
    assert_eq!(
        only(finished, &mine),
        owned(&[&b.id, &e.id, &c.id]),
        "finished jobs: newest first"
    );
    assert_eq!(
        ids(&store
            .list_jobs(JobState::Finished, Some(&p1))
            .await
            .unwrap()),
        owned(&[&e.id, &c.id]),
        "finished jobs of one project"
    );
    assert_eq!(
        ids(&store
            .list_jobs(JobState::Finished, Some(&p2))
            .await
            .unwrap()),
        owned(&[&b.id]),
        "finished jobs of the other project"
    );
    assert!(
        store
            .list_jobs(JobState::Pending, Some(&format!("{run}-none")))
            .await
            .unwrap()
            .is_empty(),
        "a project without jobs lists nothing"
    );
    let counts = store.count_jobs().await.unwrap();
    assert_eq!(
        (counts.pending, counts.running, counts.finished),
        (before.pending + 2, before.running, before.finished + 3),
        "count_jobs after finishing (a, f pending; b, c, e finished)"
    );

    // --- prune: keep the newest N ---------------------------------------------------
    for (i, name) in ["g", "h", "i"].iter().enumerate() {
        let j = job(&id(name), &p1, 0.0, t0());
        store.insert_job(&j).await.unwrap();
        let s = store
            .start_job(&j.id, "r", t0() + secs(600))
            .await
            .unwrap()
            .unwrap();
        assert!(store
            .finish_job(&j.id, s.attempt, &out, t0() + secs(600 + i as i64))
            .await
            .unwrap());
    }
    let all_finished = store.list_jobs(JobState::Finished, None).await.unwrap();
    let keep = 2;
    let expected_kept: Vec<String> = ids(&all_finished[..keep.min(all_finished.len())]);
    let expected_pruned: BTreeSet<String> = ids(&all_finished[keep.min(all_finished.len())..])
        .into_iter()
        .collect();
    let pruned = store.prune_finished(keep).await.unwrap();
    assert!(
        pruned.iter().all(|j| j.state == JobState::Finished),
        "prune_finished returns finished jobs"
    );
    assert_eq!(
        ids(&pruned).into_iter().collect::<BTreeSet<_>>(),
        expected_pruned,
        "prune_finished deletes and returns all but the newest {keep}"
    );
    let pruned_c = pruned.iter().find(|j| j.id == c.id).expect("c pruned");
    assert_eq!(
        pruned_c, &c_done,
        "pruned jobs are returned whole (for their blobs)"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Finished, None).await.unwrap()),
        expected_kept,
        "the newest {keep} finished jobs are kept"
    );
    assert_eq!(
        store.get_job(&c.id).await.unwrap(),
        None,
        "a pruned job is gone"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p2)).await.unwrap()),
        owned(&[&f.id]),
        "pruning leaves pending jobs alone"
    );
    assert!(
        store.prune_finished(keep).await.unwrap().is_empty(),
        "pruning again removes nothing"
    );
    let left = store.prune_finished(0).await.unwrap();
    assert_eq!(
        left.len(),
        keep,
        "prune_finished(0) removes every finished job"
    );
    assert_eq!(store.count_jobs().await.unwrap().finished, 0);

    // Leave the store as we found it, apart from the pruned finished jobs.
    assert!(store.remove_pending(&a.id).await.unwrap());
    assert!(store.remove_pending(&f.id).await.unwrap());
    let after = store.count_jobs().await.unwrap();
    assert_eq!(
        (after.pending, after.running),
        (before.pending, before.running),
        "count_jobs back to the start"
    );
}

fn schedule(id: &str, project: &str, created_at: DateTime<Utc>) -> Schedule {
    Schedule {
        id: id.into(),
        project: project.into(),
        spider: "spider".into(),
        cron: "*/5 * * * *".into(),
        timezone: "UTC".into(),
        args: BTreeMap::new(),
        settings: BTreeMap::new(),
        priority: 0.0,
        enabled: true,
        overlap: OverlapPolicy::Skip,
        next_run: Some(created_at + secs(300)),
        last_run: None,
        last_job: None,
        created_at,
    }
}

/// Runs every schedule-store check.
pub async fn schedule_store_contract(store: &dyn ScheduleStore) {
    let run = unique("s");
    let p1 = format!("{run}-p1");
    let p2 = format!("{run}-p2");
    let id = |s: &str| format!("{run}-{s}");

    // --- put / get round trip --------------------------------------------------
    let mut full = schedule(&id("full"), &p1, t0());
    full.cron = "@hourly".into();
    full.timezone = "Europe/Paris".into();
    full.args = BTreeMap::from([("a".into(), "1 & ü".into())]);
    full.settings = BTreeMap::from([("DOWNLOAD_DELAY".into(), "2".into())]);
    full.priority = -2.5;
    full.enabled = false;
    full.overlap = OverlapPolicy::Allow;
    full.next_run = Some(t0() + Duration::microseconds(3_600_000_001));
    full.last_run = Some(t0() - Duration::microseconds(1));
    full.last_job = Some("job-0".into());
    store.put_schedule(&full).await.expect("put_schedule");
    assert_eq!(
        store.get_schedule(&full.id).await.unwrap(),
        Some(full.clone()),
        "get_schedule returns every field as put"
    );
    assert_eq!(
        store.get_schedule(&id("unknown")).await.unwrap(),
        None,
        "unknown schedule is None"
    );
    let mut none = schedule(&id("none"), &p2, t0() - secs(10));
    none.next_run = None;
    store.put_schedule(&none).await.unwrap();
    assert_eq!(
        store.get_schedule(&none.id).await.unwrap(),
        Some(none.clone()),
        "a schedule without next_run round-trips"
    );

    // --- replace -------------------------------------------------------------------
    let mut changed = full.clone();
    changed.enabled = true;
    changed.cron = "0 3 * * 1".into();
    changed.args.insert("b".into(), "2".into());
    store.put_schedule(&changed).await.unwrap();
    assert_eq!(
        store.get_schedule(&full.id).await.unwrap(),
        Some(changed.clone()),
        "put_schedule replaces a schedule with the same id"
    );

    // --- list: oldest first, project filter -------------------------------------------
    let later = schedule(&id("later"), &p1, t0() + secs(60));
    let earlier = schedule(&id("earlier"), &p1, t0() - secs(60));
    store.put_schedule(&later).await.unwrap();
    store.put_schedule(&earlier).await.unwrap();
    let listed: Vec<String> = store
        .list_schedules(Some(&p1))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        vec![earlier.id.clone(), full.id.clone(), later.id.clone()],
        "schedules of a project, oldest first"
    );
    let mine = [&earlier.id, &full.id, &later.id, &none.id];
    let all: Vec<String> = store
        .list_schedules(None)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .filter(|i| mine.contains(&i))
        .collect();
    assert_eq!(
        all,
        vec![
            earlier.id.clone(),
            none.id.clone(),
            full.id.clone(),
            later.id.clone()
        ],
        "all schedules, oldest first, across projects"
    );
    assert_eq!(
        store.list_schedules(Some(&p2)).await.unwrap(),
        vec![none.clone()],
        "schedules of the other project (whole records)"
    );

    // --- advance ----------------------------------------------------------------------
    let due = later.next_run.unwrap();
    assert!(
        !store
            .advance_schedule(&later.id, due + secs(1), Some(due + secs(300)), None)
            .await
            .unwrap(),
        "advance with a wrong expected time returns false"
    );
    assert_eq!(
        store.get_schedule(&later.id).await.unwrap(),
        Some(later.clone()),
        "a refused advance changes nothing"
    );
    assert!(
        !store
            .advance_schedule(&id("unknown"), due, None, None)
            .await
            .unwrap(),
        "advance of an unknown schedule returns false"
    );
    assert!(
        !store
            .advance_schedule(&none.id, due, Some(due), None)
            .await
            .unwrap(),
        "advance of a schedule without next_run returns false"
    );
    let next = due + secs(300);
    let fired_at = due + Duration::microseconds(1_500);
    assert!(
        store
            .advance_schedule(&later.id, due, Some(next), Some((fired_at, "job-1".into())))
            .await
            .unwrap(),
        "advance from the due time returns true"
    );
    let moved = store.get_schedule(&later.id).await.unwrap().unwrap();
    assert_eq!(
        (moved.next_run, moved.last_run, moved.last_job.as_deref()),
        (Some(next), Some(fired_at), Some("job-1")),
        "a fired advance sets next_run, last_run and last_job"
    );
    assert_eq!(
        (&moved.cron, moved.enabled, moved.created_at),
        (&later.cron, later.enabled, later.created_at),
        "advance keeps the other fields"
    );
    assert!(
        !store
            .advance_schedule(&later.id, due, Some(next), Some((fired_at, "job-2".into())))
            .await
            .unwrap(),
        "a second advance from the same due time returns false"
    );
    let next2 = next + secs(300);
    assert!(
        store
            .advance_schedule(&later.id, next, Some(next2), None)
            .await
            .unwrap(),
        "a skipped run advances too"
    );
    let skipped = store.get_schedule(&later.id).await.unwrap().unwrap();
    assert_eq!(
        (
            skipped.next_run,
            skipped.last_run,
            skipped.last_job.as_deref()
        ),
        (Some(next2), Some(fired_at), Some("job-1")),
        "an advance without firing keeps last_run and last_job"
    );
    for round in 0..5 {
        let current = store
            .get_schedule(&later.id)
            .await
            .unwrap()
            .unwrap()
            .next_run
            .unwrap();
        let following = current + secs(300);
        let results = join_all((0..2).map(|k| {
            store.advance_schedule(
                &later.id,
                current,
                Some(following),
                Some((current, format!("job-r{round}-{k}"))),
            )
        }))
        .await;
        let wins = results.iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(
            wins, 1,
            "two concurrent advancers on the same due time: exactly one wins"
        );
        let s = store.get_schedule(&later.id).await.unwrap().unwrap();
        assert_eq!(s.next_run, Some(following), "next_run moved once");
    }
    let current = store
        .get_schedule(&later.id)
        .await
        .unwrap()
        .unwrap()
        .next_run
        .unwrap();
    assert!(
        store
            .advance_schedule(&later.id, current, None, None)
            .await
            .unwrap(),
        "advance to no next run"
    );
    assert_eq!(
        store
            .get_schedule(&later.id)
            .await
            .unwrap()
            .unwrap()
            .next_run,
        None,
        "advance with next = None clears next_run"
    );

    // --- delete -----------------------------------------------------------------------
    for s in [&full.id, &later.id, &earlier.id, &none.id] {
        assert!(
            store.delete_schedule(s).await.unwrap(),
            "delete_schedule of an existing schedule returns true"
        );
        assert_eq!(
            store.get_schedule(s).await.unwrap(),
            None,
            "a deleted schedule is gone"
        );
        assert!(
            !store.delete_schedule(s).await.unwrap(),
            "delete_schedule of a deleted schedule returns false"
        );
    }
    assert!(
        store.list_schedules(Some(&p1)).await.unwrap().is_empty(),
        "no schedules left in the project"
    );
}

fn version(project: &str, label: &str, created_at: DateTime<Utc>) -> Version {
    Version {
        project: project.into(),
        version: label.into(),
        spiders: vec!["alpha".into(), "beta".into()],
        bundle_key: format!("bundles/{project}/{label}.bundle"),
        created_at,
    }
}

fn sorted(mut v: Vec<Version>) -> Vec<Version> {
    v.sort_by(|a, b| a.version.cmp(&b.version));
    v
}

/// Runs every project-store check.
pub async fn project_store_contract(store: &dyn ProjectStore) {
    let run = unique("p");
    let p1 = format!("{run}-p1");
    let p2 = format!("{run}-p2");

    assert!(
        store.versions(&p1).await.unwrap().is_empty(),
        "an unknown project has no versions"
    );
    assert!(
        !store.projects().await.unwrap().contains(&p1),
        "an unknown project is not listed"
    );

    let v1 = version(&p1, "1.0", t0());
    let v2 = version(&p1, "r2-ü", t0() + Duration::microseconds(1));
    let mut empty = version(&p2, "0", t0());
    empty.spiders = vec![];
    for v in [&v1, &v2, &empty] {
        store.put_version(v).await.expect("put_version");
    }
    assert_eq!(
        sorted(store.versions(&p1).await.unwrap()),
        vec![v1.clone(), v2.clone()],
        "versions returns every field as put"
    );
    assert_eq!(
        store.versions(&p2).await.unwrap(),
        vec![empty.clone()],
        "a version without spiders round-trips"
    );
    let projects = store.projects().await.unwrap();
    assert!(
        projects.contains(&p1) && projects.contains(&p2),
        "projects lists every project with a version: {projects:?}"
    );
    assert_eq!(
        projects.iter().filter(|p| **p == p1).count(),
        1,
        "a project is listed once"
    );

    // --- replace ------------------------------------------------------------------------
    let mut v1b = v1.clone();
    v1b.spiders = vec!["gamma".into()];
    v1b.bundle_key = format!("bundles/{p1}/1.0-new.bundle");
    v1b.created_at = t0() + secs(5);
    store.put_version(&v1b).await.unwrap();
    assert_eq!(
        sorted(store.versions(&p1).await.unwrap()),
        vec![v1b.clone(), v2.clone()],
        "put_version replaces the version with the same label"
    );

    // --- delete -------------------------------------------------------------------------
    assert!(
        !store.delete_version(&p1, "nope").await.unwrap(),
        "delete_version of an unknown version returns false"
    );
    assert!(
        !store
            .delete_version(&format!("{run}-none"), "1.0")
            .await
            .unwrap(),
        "delete_version in an unknown project returns false"
    );
    assert!(
        store.delete_version(&p1, "1.0").await.unwrap(),
        "delete_version of a version returns true"
    );
    assert_eq!(
        store.versions(&p1).await.unwrap(),
        vec![v2.clone()],
        "the other version stays"
    );
    assert!(
        store.projects().await.unwrap().contains(&p1),
        "a project with versions left stays listed"
    );
    assert!(
        !store.delete_version(&p1, "1.0").await.unwrap(),
        "a second delete_version returns false"
    );
    assert!(store.delete_version(&p1, &v2.version).await.unwrap());
    assert!(
        !store.projects().await.unwrap().contains(&p1),
        "deleting the last version removes the project from projects()"
    );
    assert!(store.versions(&p1).await.unwrap().is_empty());

    store.put_version(&v1).await.unwrap();
    store.put_version(&v2).await.unwrap();
    assert!(
        store.delete_project(&p1).await.unwrap(),
        "delete_project of a project with versions returns true"
    );
    assert!(
        store.versions(&p1).await.unwrap().is_empty(),
        "delete_project deletes every version"
    );
    assert!(
        !store.projects().await.unwrap().contains(&p1),
        "a deleted project is not listed"
    );
    assert!(
        !store.delete_project(&p1).await.unwrap(),
        "delete_project of a project without versions returns false"
    );
    assert_eq!(
        store.versions(&p2).await.unwrap(),
        vec![empty.clone()],
        "deleting one project leaves the others"
    );
    assert!(store.delete_project(&p2).await.unwrap());
}

/// Runs every blob-store check.
pub async fn blob_store_contract(store: &dyn BlobStore) {
    blob_listing_contract(store).await;
    let run = unique("b");
    let bundle = format!("bundles/{run}/v1.bundle");
    let log = format!("logs/{run}/spider/job.log");
    let items = format!("items/{run}/spider/job.jl");

    assert_eq!(
        store.get(&log).await.unwrap(),
        None,
        "a missing key is None"
    );
    store
        .delete(&log)
        .await
        .expect("deleting a missing key is fine");

    let binary = Bytes::from((0..=255u8).cycle().take(70_000).collect::<Vec<u8>>());
    store.put(&bundle, binary.clone()).await.expect("put");
    assert_eq!(
        store.get(&bundle).await.unwrap(),
        Some(binary.clone()),
        "get returns the bytes put (binary, nested key)"
    );
    store
        .put(&log, Bytes::from_static(b"line 1\n"))
        .await
        .unwrap();
    store
        .put(&log, Bytes::from_static(b"line 1\nline 2\n"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&log).await.unwrap(),
        Some(Bytes::from_static(b"line 1\nline 2\n")),
        "put replaces the blob"
    );
    store.put(&log, Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(
        store.get(&log).await.unwrap(),
        Some(Bytes::from_static(b"x")),
        "a shorter overwrite leaves no trailing bytes"
    );
    store.put(&items, Bytes::new()).await.unwrap();
    assert_eq!(
        store.get(&items).await.unwrap(),
        Some(Bytes::new()),
        "an empty blob exists and is empty"
    );

    store.delete(&log).await.expect("delete");
    assert_eq!(
        store.get(&log).await.unwrap(),
        None,
        "a deleted blob is gone"
    );
    assert_eq!(
        store.get(&bundle).await.unwrap(),
        Some(binary),
        "deleting one key leaves the others"
    );
    store.delete(&log).await.expect("deleting twice is fine");

    let uri = store.feed_uri(&items);
    assert!(!uri.is_empty(), "feed_uri gives a URI");
    assert!(
        store.feed_storages().for_uri(&uri).is_ok(),
        "feed_storages can write feed_uri's URI {uri}"
    );

    store.delete(&bundle).await.unwrap();
    store.delete(&items).await.unwrap();
    assert_eq!(store.get(&items).await.unwrap(), None);
}

/// Checks the crawler's claim on a dispatched job (part of the job-store contract).
pub async fn claim_contract(store: &dyn JobStore) {
    let id = unique("claim");
    let now = Utc::now();
    store
        .insert_job(&Job::new(id.clone(), "p".into(), "s".into(), now))
        .await
        .unwrap();
    assert!(
        !store.claim_job(&id, 1, "poller", "c1", now).await.unwrap(),
        "a pending job cannot be claimed"
    );
    let job = store.start_job(&id, "poller", now).await.unwrap().unwrap();
    assert!(
        !store
            .claim_job(&id, job.attempt + 1, "poller", "c1", now)
            .await
            .unwrap(),
        "wrong attempt"
    );
    assert!(
        !store
            .claim_job(&id, job.attempt, "someone", "c1", now)
            .await
            .unwrap(),
        "wrong holder"
    );
    assert!(
        store
            .claim_job(&id, job.attempt, "poller", "c1", now)
            .await
            .unwrap(),
        "first claim"
    );
    assert!(
        !store
            .claim_job(&id, job.attempt, "poller", "c2", now)
            .await
            .unwrap(),
        "a second delivery cannot claim it again"
    );
    let job = store.get_job(&id).await.unwrap().unwrap();
    assert_eq!(job.runner.as_deref(), Some("c1"));
    assert_eq!(
        store.heartbeat(&id, job.attempt, now).await.unwrap(),
        Some(0)
    );
    let done = Outcome::reason("finished", None);
    assert!(store
        .finish_job(&id, job.attempt, &done, now)
        .await
        .unwrap());
    assert!(
        !store
            .claim_job(&id, job.attempt, "c1", "c3", now)
            .await
            .unwrap(),
        "finished"
    );
}

/// Runs every item-history check.
pub async fn item_history_contract(store: &dyn ItemHistory) {
    let project = unique("hist");
    let fp = |n: u8| [n; 20];
    assert!(
        store.seen_items(&project, "s").await.unwrap().is_empty(),
        "a new project has no history"
    );
    store
        .add_seen_items(&project, "s", &[fp(1), fp(2)])
        .await
        .unwrap();
    // Adding known fingerprints again is fine and does not duplicate them.
    store
        .add_seen_items(&project, "s", &[fp(2), fp(3)])
        .await
        .unwrap();
    store
        .add_seen_items(&project, "other", &[fp(9)])
        .await
        .unwrap();
    store.add_seen_items(&project, "s", &[]).await.unwrap();
    let mut seen = store.seen_items(&project, "s").await.unwrap();
    seen.sort();
    assert_eq!(seen, vec![fp(1), fp(2), fp(3)], "history is per spider");
    // Many at once (a large crawl's worth).
    let many: Vec<[u8; 20]> = (0..3000u32)
        .map(|i| {
            let mut f = [0u8; 20];
            f[..4].copy_from_slice(&i.to_be_bytes());
            f[19] = 0xAA;
            f
        })
        .collect();
    store.add_seen_items(&project, "big", &many).await.unwrap();
    assert_eq!(store.seen_items(&project, "big").await.unwrap().len(), 3000);
    store.forget_items(&project).await.unwrap();
    assert!(store.seen_items(&project, "s").await.unwrap().is_empty());
    assert!(store.seen_items(&project, "big").await.unwrap().is_empty());
}
