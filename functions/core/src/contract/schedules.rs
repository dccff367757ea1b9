//! Schedule-store cases. Every case deletes the schedules it puts.

use std::collections::BTreeMap;

use chrono::Duration;
use futures::future::join_all;

use super::{schedule, secs, t0, Names};
use crate::model::{OverlapPolicy, Schedule};
use crate::ports::ScheduleStore;

/// Deletes `schedules`, each of which must exist.
async fn delete_all(store: &dyn ScheduleStore, schedules: &[&Schedule]) {
    for s in schedules {
        assert!(
            store.delete_schedule(&s.id).await.expect("delete_schedule"),
            "delete_schedule of an existing schedule returns true"
        );
    }
}

/// `put_schedule` then `get_schedule` gives back every field; unknown ids are `None`.
pub async fn schedule_round_trips_every_field(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let mut full = schedule(&n.id("full"), &n.project(1), t0());
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
        store.get_schedule(&n.id("unknown")).await.unwrap(),
        None,
        "unknown schedule is None"
    );
    let mut none = schedule(&n.id("none"), &n.project(2), t0() - secs(10));
    none.next_run = None;
    store.put_schedule(&none).await.unwrap();
    assert_eq!(
        store.get_schedule(&none.id).await.unwrap(),
        Some(none.clone()),
        "a schedule without next_run round-trips"
    );
    delete_all(store, &[&full, &none]).await;
}

/// `put_schedule` replaces the schedule with the same id.
pub async fn put_schedule_replaces_same_id(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let first = schedule(&n.id("full"), &n.project(1), t0());
    store.put_schedule(&first).await.expect("put_schedule");
    let mut changed = first.clone();
    changed.enabled = false;
    changed.cron = "0 3 * * 1".into();
    changed.args.insert("b".into(), "2".into());
    changed.next_run = None;
    store.put_schedule(&changed).await.unwrap();
    assert_eq!(
        store.get_schedule(&first.id).await.unwrap(),
        Some(changed.clone()),
        "put_schedule replaces a schedule with the same id"
    );
    assert_eq!(
        store.list_schedules(Some(&n.project(1))).await.unwrap(),
        vec![changed.clone()],
        "a replaced schedule is listed once"
    );
    delete_all(store, &[&changed]).await;
}

/// Schedules list oldest first, across projects or in one, as whole records.
pub async fn schedules_listed_oldest_first(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let (p1, p2) = (n.project(1), n.project(2));
    let full = schedule(&n.id("full"), &p1, t0());
    let later = schedule(&n.id("later"), &p1, t0() + secs(60));
    let earlier = schedule(&n.id("earlier"), &p1, t0() - secs(60));
    let none = schedule(&n.id("none"), &p2, t0() - secs(10));
    for s in [&full, &later, &earlier, &none] {
        store.put_schedule(s).await.expect("put_schedule");
    }
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
    delete_all(store, &[&full, &later, &earlier, &none]).await;
}

/// `advance_schedule` moves a schedule only from the due time it names.
pub async fn advance_schedule_requires_due_time(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let later = schedule(&n.id("later"), &n.project(1), t0() + secs(60));
    let mut none = schedule(&n.id("none"), &n.project(1), t0());
    none.next_run = None;
    store.put_schedule(&later).await.expect("put_schedule");
    store.put_schedule(&none).await.expect("put_schedule");
    let due = later.next_run.unwrap();
    assert!(
        !store
            .advance_schedule(&later.id, due + secs(1), Some(due + secs(300)), None, None)
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
            .advance_schedule(&n.id("unknown"), due, None, None, None)
            .await
            .unwrap(),
        "advance of an unknown schedule returns false"
    );
    assert!(
        !store
            .advance_schedule(&none.id, due, Some(due), None, None)
            .await
            .unwrap(),
        "advance of a schedule without next_run returns false"
    );
    assert_eq!(
        store.get_schedule(&none.id).await.unwrap(),
        Some(none.clone()),
        "a refused advance of a schedule without next_run changes nothing"
    );
    delete_all(store, &[&later, &none]).await;
}

/// A fired advance sets `next_run`, `last_run` and `last_job`, once per due time.
pub async fn advance_schedule_fires_once(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let later = schedule(&n.id("later"), &n.project(1), t0() + secs(60));
    store.put_schedule(&later).await.expect("put_schedule");
    let due = later.next_run.unwrap();
    let next = due + secs(300);
    let fired_at = due + Duration::microseconds(1_500);
    assert!(
        store
            .advance_schedule(
                &later.id,
                due,
                Some(next),
                Some((fired_at, "job-1".into())),
                None
            )
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
            .advance_schedule(
                &later.id,
                due,
                Some(next),
                Some((fired_at, "job-2".into())),
                None
            )
            .await
            .unwrap(),
        "a second advance from the same due time returns false"
    );
    assert_eq!(
        store.get_schedule(&later.id).await.unwrap(),
        Some(moved.clone()),
        "a refused second advance changes nothing"
    );
    delete_all(store, &[&later]).await;
}

/// An advance without firing (a skipped run) keeps `last_run` and `last_job`.
pub async fn advance_without_firing_keeps_last_run(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let later = schedule(&n.id("later"), &n.project(1), t0() + secs(60));
    store.put_schedule(&later).await.expect("put_schedule");
    let due = later.next_run.unwrap();
    let (next, next2) = (due + secs(300), due + secs(600));
    let fired_at = due + Duration::microseconds(1_500);
    assert!(store
        .advance_schedule(
            &later.id,
            due,
            Some(next),
            Some((fired_at, "job-1".into())),
            None
        )
        .await
        .unwrap());
    assert!(
        store
            .advance_schedule(&later.id, next, Some(next2), None, None)
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
    delete_all(store, &[&later]).await;
}

/// Of two concurrent advances from one due time, exactly one wins (five rounds).
pub async fn concurrent_advances_have_one_winner(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let later = schedule(&n.id("later"), &n.project(1), t0() + secs(60));
    store.put_schedule(&later).await.expect("put_schedule");
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
                None,
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
    delete_all(store, &[&later]).await;
}

/// An advance to `None` clears `next_run`.
pub async fn advance_to_no_next_run_clears_it(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let later = schedule(&n.id("later"), &n.project(1), t0() + secs(60));
    store.put_schedule(&later).await.expect("put_schedule");
    assert!(
        store
            .advance_schedule(&later.id, later.next_run.unwrap(), None, None, None)
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
    delete_all(store, &[&later]).await;
}

/// `delete_schedule` deletes an existing schedule once.
pub async fn delete_schedule_only_when_present(store: &dyn ScheduleStore) {
    let n = Names::new("s");
    let p1 = n.project(1);
    let mut cleared = schedule(&n.id("cleared"), &p1, t0());
    cleared.next_run = None;
    let kept = schedule(&n.id("kept"), &p1, t0() + secs(1));
    for s in [&cleared, &kept] {
        store.put_schedule(s).await.expect("put_schedule");
    }
    assert!(
        !store.delete_schedule(&n.id("unknown")).await.unwrap(),
        "delete_schedule of an unknown schedule returns false"
    );
    for s in [&cleared, &kept] {
        assert!(
            store.delete_schedule(&s.id).await.unwrap(),
            "delete_schedule of an existing schedule returns true"
        );
        assert_eq!(
            store.get_schedule(&s.id).await.unwrap(),
            None,
            "a deleted schedule is gone"
        );
        assert!(
            !store.delete_schedule(&s.id).await.unwrap(),
            "delete_schedule of a deleted schedule returns false"
        );
    }
    assert!(
        store.list_schedules(Some(&p1)).await.unwrap().is_empty(),
        "no schedules left in the project"
    );
}
