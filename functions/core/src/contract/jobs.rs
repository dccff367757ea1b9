//! Job-store cases: records, queue order, listings, counts and pruning. The state
//! transitions are in [`super::transitions`], the crawler's claim in [`super::claim`].

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use super::{ids, job, only, outcome, owned, running, secs, settle, t0, Names};
use crate::model::{CancelLevel, Job, JobState, Outcome};
use crate::ports::{JobStore, StoreError};

/// `insert_job` then `get_job` gives back every field; unknown ids are `None`.
pub async fn job_round_trips_every_field(store: &dyn JobStore) {
    let n = Names::new("j");
    let mut full = job(&n.id("full"), &n.project(1), 3.5, t0());
    full.version = Some("v1.2-r3".into());
    full.args = BTreeMap::from([
        ("arg".into(), "value with spaces & ünïcode".into()),
        ("empty".into(), String::new()),
    ]);
    full.settings = BTreeMap::from([
        ("DOWNLOAD_DELAY".into(), "0.5".into()),
        ("JSON".into(), "{\"a\": [1]}".into()),
    ]);
    full.started_at = Some(t0() + chrono::Duration::microseconds(1));
    full.finished_at = Some(t0() + secs(3600) + chrono::Duration::microseconds(999_999));
    full.outcome = Some(outcome());
    full.attempt = 7;
    full.runner = Some("runner-1".into());
    full.heartbeat_at = Some(t0() + secs(10) + chrono::Duration::microseconds(1));
    full.cancel_requests = 2;
    full.schedule_id = Some("sched-1".into());
    store.insert_job(&full).await.expect("insert_job");
    assert_eq!(
        store.get_job(&full.id).await.expect("get_job").as_ref(),
        Some(&full),
        "get_job must return every field as inserted"
    );
    let minimal = job(
        &n.id("minimal"),
        &n.project(2),
        -1.25,
        t0() - secs(86400 * 365 * 20),
    );
    store.insert_job(&minimal).await.expect("insert_job");
    assert_eq!(
        store.get_job(&minimal.id).await.unwrap(),
        Some(minimal.clone()),
        "a job with no optional fields round-trips"
    );
    assert_eq!(
        store.get_job(&n.id("unknown")).await.unwrap(),
        None,
        "unknown job is None"
    );
    assert!(store.remove_pending(&full.id).await.unwrap());
    assert!(store.remove_pending(&minimal.id).await.unwrap());
}

/// Inserting a taken id is a conflict that leaves the stored job alone.
pub async fn insert_job_refuses_a_taken_id(store: &dyn JobStore) {
    let n = Names::new("j");
    let mut first = job(&n.id("taken"), &n.project(1), 3.5, t0());
    first.args.insert("a".into(), "1".into());
    store.insert_job(&first).await.expect("insert_job");
    let dup = job(&first.id, &n.project(2), 0.0, t0() + secs(1));
    match store.insert_job(&dup).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("inserting a taken id must be Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_job(&first.id).await.unwrap(),
        Some(first.clone()),
        "a conflicting insert must not change the stored job"
    );
    assert!(store.remove_pending(&first.id).await.unwrap());
}

/// Of concurrent inserts of one id, exactly one succeeds and the others conflict.
pub async fn concurrent_inserts_of_one_id_have_one_winner(store: &dyn JobStore) {
    let n = Names::new("j");
    let racer = job(&n.id("racer"), &n.project(1), 0.0, t0());
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
    assert!(store.remove_pending(&racer.id).await.unwrap());
}

/// Pending jobs list by priority (highest first), then age, across projects or in one.
pub async fn pending_jobs_by_priority_then_age(store: &dyn JobStore) {
    let n = Names::new("j");
    let (p1, p2) = (n.project(1), n.project(2));
    let a = job(&n.id("a"), &p1, 0.0, t0() + secs(1));
    let b = job(&n.id("b"), &p2, 5.0, t0() + secs(3));
    let c = job(&n.id("c"), &p1, 5.0, t0() + secs(2));
    let d = job(&n.id("d"), &p2, -1.0, t0());
    let e = job(&n.id("e"), &p1, 0.0, t0());
    let f = job(&n.id("f"), &p2, 0.5, t0() + secs(9));
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
    assert!(
        store
            .list_jobs(JobState::Pending, Some(&n.project(3)))
            .await
            .unwrap()
            .is_empty(),
        "a project without jobs lists nothing"
    );
    for id in mine {
        assert!(store.remove_pending(id).await.unwrap());
    }
}

/// `head_jobs` is a prefix of `list_jobs`, of the length asked for.
pub async fn head_jobs_is_the_head_of_the_list(store: &dyn JobStore) {
    let n = Names::new("h");
    let p = n.project(1);
    // Priorities above anything else a shared store holds: these are the head.
    let jobs: Vec<Job> = (0..5)
        .map(|i| job(&n.id(&format!("j{i}")), &p, 1e300 - i as f64 * 1e290, t0()))
        .collect();
    for j in &jobs {
        store.insert_job(j).await.expect("insert_job");
    }
    let all = ids(&store.list_jobs(JobState::Pending, None).await.unwrap());
    for limit in [0, 1, 3, 5] {
        let head = ids(&store.head_jobs(JobState::Pending, limit).await.unwrap());
        assert_eq!(head, all[..limit].to_vec(), "head_jobs(Pending, {limit})");
    }
    assert_eq!(
        ids(&store
            .head_jobs(JobState::Pending, all.len() + 10)
            .await
            .unwrap()),
        all,
        "a limit beyond the list gives the whole list"
    );
    for j in &jobs {
        assert!(store.remove_pending(&j.id).await.unwrap());
    }
}

/// `job_lists` puts each job of the project in exactly the list of its state.
pub async fn job_lists_holds_each_job_once(store: &dyn JobStore) {
    let n = Names::new("l");
    let p = n.project(1);
    let jobs: Vec<Job> = (0..3)
        .map(|i| job(&n.id(&format!("j{i}")), &p, 0.0, t0() + secs(i)))
        .collect();
    for j in &jobs {
        store.insert_job(j).await.expect("insert_job");
    }
    store
        .start_job(&jobs[1].id, "r", t0())
        .await
        .unwrap()
        .unwrap();
    store
        .start_job(&jobs[2].id, "r", t0())
        .await
        .unwrap()
        .unwrap();
    let done = Outcome::reason("finished", None);
    assert!(store
        .finish_job(&jobs[2].id, 1, &done, t0() + secs(5))
        .await
        .unwrap());
    let lists = store.job_lists(Some(&p)).await.unwrap();
    assert_eq!(ids(&lists.pending), owned(&[&jobs[0].id]), "pending list");
    assert_eq!(ids(&lists.running), owned(&[&jobs[1].id]), "running list");
    assert_eq!(ids(&lists.finished), owned(&[&jobs[2].id]), "finished list");
    assert!(store.remove_pending(&jobs[0].id).await.unwrap());
    assert!(store.finish_job(&jobs[1].id, 1, &done, t0()).await.unwrap());
}

/// `count_jobs` follows inserts, starts, finishes, requeues and removals.
pub async fn count_jobs_counts_each_state(store: &dyn JobStore) {
    let n = Names::new("j");
    let before = store.count_jobs().await.expect("count_jobs");
    let counts = || async {
        let c = store.count_jobs().await.expect("count_jobs");
        (c.pending, c.running, c.finished)
    };
    let (bp, br, bf) = (before.pending, before.running, before.finished);
    let jobs: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|s| job(&n.id(s), &n.project(1), 0.0, t0()))
        .collect();
    for j in &jobs {
        store.insert_job(j).await.expect("insert_job");
    }
    assert_eq!(
        counts().await,
        (bp + 4, br, bf),
        "count_jobs counts pending jobs"
    );
    for j in &jobs[..2] {
        store.start_job(&j.id, "r", t0()).await.unwrap().unwrap();
    }
    assert_eq!(
        counts().await,
        (bp + 2, br + 2, bf),
        "count_jobs after starts"
    );
    let done = Outcome::reason("finished", None);
    assert!(store.finish_job(&jobs[0].id, 1, &done, t0()).await.unwrap());
    assert_eq!(
        counts().await,
        (bp + 2, br + 1, bf + 1),
        "count_jobs after a finish"
    );
    assert!(store.requeue_job(&jobs[1].id, 1).await.unwrap());
    assert_eq!(
        counts().await,
        (bp + 3, br, bf + 1),
        "count_jobs after a requeue"
    );
    for j in &jobs[1..] {
        assert!(store.remove_pending(&j.id).await.unwrap());
    }
    assert_eq!(
        counts().await,
        (bp, br, bf + 1),
        "count_jobs after removals: back to the start but for the finished job"
    );
}

/// Running jobs list by start time, across projects or in one.
pub async fn running_jobs_by_start_time(store: &dyn JobStore) {
    let n = Names::new("j");
    let (p1, p2) = (n.project(1), n.project(2));
    let a = job(&n.id("a"), &p1, 0.0, t0() + secs(1));
    store.insert_job(&a).await.expect("insert_job");
    let c = running(
        store,
        &job(&n.id("c"), &p1, 5.0, t0()),
        "rc",
        t0() + secs(100),
    )
    .await;
    let e = running(
        store,
        &job(&n.id("e"), &p1, 0.0, t0()),
        "re",
        t0() + secs(200),
    )
    .await;
    let b = running(
        store,
        &job(&n.id("b"), &p2, 5.0, t0()),
        "rb",
        t0() + secs(50),
    )
    .await;
    let mine = [&a.id, &b.id, &c.id, &e.id];
    assert_eq!(
        only(
            store.list_jobs(JobState::Running, None).await.unwrap(),
            &mine
        ),
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
    assert!(store.remove_pending(&a.id).await.unwrap());
    for j in [&b, &c, &e] {
        settle(store, j).await;
    }
}

/// Finished jobs list newest first, across projects or in one.
pub async fn finished_jobs_newest_first(store: &dyn JobStore) {
    let n = Names::new("j");
    let (p1, p2) = (n.project(1), n.project(2));
    let b = running(store, &job(&n.id("b"), &p2, 0.0, t0()), "r", t0()).await;
    let c = running(store, &job(&n.id("c"), &p1, 0.0, t0()), "r", t0()).await;
    let e = running(store, &job(&n.id("e"), &p1, 0.0, t0()), "r", t0()).await;
    let failed = Outcome::reason("failed", Some("x".into()));
    for (j, at) in [(&e, 450), (&b, 500), (&c, 300)] {
        assert!(store
            .finish_job(&j.id, 1, &failed, t0() + secs(at))
            .await
            .unwrap());
    }
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
        only(finished, &[&b.id, &c.id, &e.id]),
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
}

/// `prune_finished(keep)` deletes and returns whole every finished job but the newest
/// `keep`, and leaves the others alone. It deletes other finished jobs of the store too.
pub async fn prune_finished_keeps_the_newest(store: &dyn JobStore) {
    let n = Names::new("j");
    let p1 = n.project(1);
    let out = outcome();
    // An older finished job, with cancel requests and a full outcome.
    let old = running(store, &job(&n.id("old"), &p1, 0.0, t0()), "r", t0()).await;
    store
        .request_cancel(&old.id, CancelLevel::Graceful)
        .await
        .unwrap();
    store
        .request_cancel(&old.id, CancelLevel::Graceful)
        .await
        .unwrap();
    assert!(store
        .finish_job(&old.id, 1, &out, t0() + secs(300))
        .await
        .unwrap());
    let old_done = store.get_job(&old.id).await.unwrap().unwrap();
    for (i, name) in ["g", "h", "i"].iter().enumerate() {
        let j = running(
            store,
            &job(&n.id(name), &p1, 0.0, t0()),
            "r",
            t0() + secs(600),
        )
        .await;
        assert!(store
            .finish_job(&j.id, j.attempt, &out, t0() + secs(600 + i as i64))
            .await
            .unwrap());
    }
    let pending = job(&n.id("pending"), &p1, 0.0, t0());
    store.insert_job(&pending).await.unwrap();
    let busy = running(store, &job(&n.id("busy"), &p1, 0.0, t0()), "r", t0()).await;

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
    let pruned_old = pruned.iter().find(|j| j.id == old.id).expect("old pruned");
    assert_eq!(
        pruned_old, &old_done,
        "pruned jobs are returned whole (for their blobs)"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Finished, None).await.unwrap()),
        expected_kept,
        "the newest {keep} finished jobs are kept"
    );
    assert_eq!(
        store.get_job(&old.id).await.unwrap(),
        None,
        "a pruned job is gone"
    );
    assert_eq!(
        ids(&store.list_jobs(JobState::Pending, Some(&p1)).await.unwrap()),
        owned(&[&pending.id]),
        "pruning leaves pending jobs alone"
    );
    assert_eq!(
        store.get_job(&busy.id).await.unwrap(),
        Some(busy.clone()),
        "pruning leaves running jobs alone"
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
    assert!(store.remove_pending(&pending.id).await.unwrap());
    settle(store, &busy).await;
}
