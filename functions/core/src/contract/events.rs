//! Event-store cases: every transition writes its event to the outbox in the same
//! write (and a transition that does not happen writes none); the outbox's rounds;
//! webhooks and their delivery records.

use chrono::{DateTime, Utc};

use super::{job, running, schedule, secs, t0, version, Names};
use crate::events::{Delivery, Event, EventFilter, EventKind, Webhook, DELIVERIES_KEPT};
use crate::model::{JobState, Outcome};
use crate::ports::{EventStore, JobStore, OutboxEntry, ProjectStore, ScheduleStore};

/// A store with every port that writes events.
pub trait EventfulStore: JobStore + ScheduleStore + ProjectStore + EventStore {}

impl<T: JobStore + ScheduleStore + ProjectStore + EventStore + ?Sized> EventfulStore for T {}

/// Later than any event of the cases (some take the wall clock).
fn far() -> DateTime<Utc> {
    Utc::now() + secs(365 * 24 * 3600)
}

/// The outbox entries of `project` due at `now`, in outbox order.
async fn outbox(store: &dyn EventfulStore, project: &str, now: DateTime<Utc>) -> Vec<OutboxEntry> {
    store
        .due_events(now, 10_000)
        .await
        .expect("due_events")
        .into_iter()
        .filter(|e| e.event.project == project)
        .collect()
}

fn kinds(entries: &[OutboxEntry]) -> Vec<EventKind> {
    entries.iter().map(|e| e.event.kind).collect()
}

/// Empties the outbox of `project`.
async fn drain(store: &dyn EventfulStore, project: &str) {
    for e in outbox(store, project, far()).await {
        store.remove_event(&e.event.id).await.expect("remove_event");
    }
}

/// A job's life writes pending, running, continued and finished, in order, each with
/// the job as the transition left it; transitions that fail write nothing.
pub async fn job_transitions_write_their_events(store: &dyn EventfulStore) {
    let n = Names::new("ev");
    let p = n.project(1);
    let j = job(&n.id("a"), &p, 0.0, t0());
    let started = running(store, &j, "r1", t0() + secs(1)).await;
    let resumed = store
        .resume_job(&j.id, started.attempt, "r2", t0() + secs(2))
        .await
        .unwrap()
        .expect("resume_job");
    assert!(
        !store
            .finish_job(
                &j.id,
                started.attempt,
                &Outcome::reason("finished", None),
                t0() + secs(3)
            )
            .await
            .unwrap(),
        "a stale finish fails"
    );
    assert!(store.start_job(&j.id, "r3", t0()).await.unwrap().is_none());
    let mut outcome = Outcome::reason("failed", Some("boom".into()));
    outcome.stats.insert("item_scraped_count".into(), 3.into());
    assert!(store
        .finish_job(&j.id, resumed.attempt, &outcome, t0() + secs(4))
        .await
        .unwrap());
    let entries = outbox(store, &p, far()).await;
    assert_eq!(
        kinds(&entries),
        [
            EventKind::JobPending,
            EventKind::JobRunning,
            EventKind::JobContinued,
            EventKind::JobFinished
        ],
        "one event per transition that happened, in order"
    );
    let states: Vec<(JobState, u32)> = entries
        .iter()
        .map(|e| {
            let info = e.event.job.as_ref().expect("job events carry the job");
            (info.state, info.attempt)
        })
        .collect();
    assert_eq!(
        states,
        [
            (JobState::Pending, 0),
            (JobState::Running, 1),
            (JobState::Running, 2),
            (JobState::Finished, 2)
        ]
    );
    let done = entries[3].event.job.as_ref().unwrap();
    assert_eq!(done.finish_reason.as_deref(), Some("failed"));
    assert_eq!(done.error.as_deref(), Some("boom"));
    assert_eq!(done.items, Some(3));
    assert_eq!(
        entries[3].event.time,
        t0() + secs(4),
        "the transition's time"
    );
    assert!(entries
        .iter()
        .all(|e| e.attempts == 0 && e.delivered.is_empty()));
    drain(store, &p).await;
}

/// A cancelled pending job writes `job.removed`; a requeue writes `job.pending`.
pub async fn remove_and_requeue_write_events(store: &dyn EventfulStore) {
    let n = Names::new("ev");
    let p = n.project(1);
    let a = job(&n.id("a"), &p, 0.0, t0());
    store.insert_job(&a).await.unwrap();
    assert!(store.remove_pending(&a.id).await.unwrap());
    assert!(!store.remove_pending(&a.id).await.unwrap());
    let b = job(&n.id("b"), &p, 0.0, t0());
    let started = running(store, &b, "r", t0() + secs(1)).await;
    assert!(store.requeue_job(&b.id, started.attempt).await.unwrap());
    assert!(!store.requeue_job(&b.id, started.attempt).await.unwrap());
    let got: Vec<(EventKind, String)> = outbox(store, &p, far())
        .await
        .iter()
        .map(|e| (e.event.kind, e.event.job_id().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (EventKind::JobPending, a.id.clone()),
            (EventKind::JobRemoved, a.id.clone()),
            (EventKind::JobPending, b.id.clone()),
            (EventKind::JobRunning, b.id.clone()),
            (EventKind::JobPending, b.id.clone()),
        ]
    );
    store.start_job(&b.id, "r", t0()).await.unwrap().unwrap();
    let b2 = store.get_job(&b.id).await.unwrap().unwrap();
    super::settle(store, &b2).await;
    drain(store, &p).await;
}

/// A schedule's advance writes its event only when it moves the schedule; versions
/// write `version.added` and one `version.removed` per deleted version.
pub async fn schedule_and_deploy_events(store: &dyn EventfulStore) {
    let n = Names::new("ev");
    let p = n.project(1);
    let s = schedule(&n.id("s"), &p, t0());
    store.put_schedule(&s).await.unwrap();
    let due = s.next_run.unwrap();
    let fired = Event::schedule(EventKind::ScheduleFired, &s, due, Some("j"), due);
    let lost = Event::schedule(EventKind::ScheduleSkipped, &s, due, None, due);
    assert!(store
        .advance_schedule(
            &s.id,
            due,
            Some(due + secs(300)),
            Some((due, "j".into())),
            Some(&fired)
        )
        .await
        .unwrap());
    assert!(!store
        .advance_schedule(&s.id, due, Some(due + secs(300)), None, Some(&lost))
        .await
        .unwrap());
    store.put_version(&version(&p, "1", t0())).await.unwrap();
    store
        .put_version(&version(&p, "2", t0() + secs(1)))
        .await
        .unwrap();
    store
        .put_version(&version(&p, "3", t0() + secs(2)))
        .await
        .unwrap();
    assert!(store.delete_version(&p, "1").await.unwrap());
    assert!(!store.delete_version(&p, "1").await.unwrap());
    assert!(store.delete_project(&p).await.unwrap());
    let entries = outbox(store, &p, far()).await;
    assert_eq!(entries[0].event, fired, "the event is stored as given");
    let mut rest: Vec<(EventKind, String)> = entries[1..]
        .iter()
        .map(|e| {
            (
                e.event.kind,
                e.event.deploy.as_ref().unwrap().version.clone(),
            )
        })
        .collect();
    // A project's versions are deleted in no particular order.
    rest[4..].sort();
    assert_eq!(
        rest,
        [
            (EventKind::VersionAdded, "1".to_string()),
            (EventKind::VersionAdded, "2".to_string()),
            (EventKind::VersionAdded, "3".to_string()),
            (EventKind::VersionRemoved, "1".to_string()),
            (EventKind::VersionRemoved, "2".to_string()),
            (EventKind::VersionRemoved, "3".to_string()),
        ]
    );
    assert_eq!(
        entries[1].event.deploy.as_ref().unwrap().spiders,
        ["alpha", "beta"]
    );
    assert!(store.delete_schedule(&s.id).await.unwrap());
    drain(store, &p).await;
}

/// A failed round moves the event to its next time with the targets that took it; only
/// the holder of the round count moves it; a removed event is gone.
pub async fn outbox_rounds(store: &dyn EventfulStore) {
    let n = Names::new("ev");
    let p = n.project(1);
    store
        .insert_job(&job(&n.id("a"), &p, 0.0, t0()))
        .await
        .unwrap();
    let entry = outbox(store, &p, t0())
        .await
        .pop()
        .expect("due at its time");
    assert!(
        outbox(store, &p, t0() - secs(1)).await.is_empty(),
        "not due before its time"
    );
    let id = entry.event.id.clone();
    let later = t0() + secs(3600);
    let took = vec!["wh_1".to_string()];
    assert!(store.retry_event(&id, 0, later, &took).await.unwrap());
    assert!(
        !store.retry_event(&id, 0, later, &[]).await.unwrap(),
        "a stale round count loses"
    );
    assert!(outbox(store, &p, later - secs(1)).await.is_empty());
    let again = outbox(store, &p, later).await.pop().expect("due again");
    assert_eq!((again.attempts, again.next_at), (1, later));
    assert_eq!(again.delivered, took);
    assert_eq!(again.event, entry.event, "the event is unchanged");
    assert!(store.remove_event(&id).await.unwrap());
    assert!(!store.remove_event(&id).await.unwrap());
    assert!(!store.retry_event(&id, 1, later, &[]).await.unwrap());
    assert!(outbox(store, &p, far()).await.is_empty());
    assert!(store.remove_pending(&n.id("a")).await.unwrap());
    drain(store, &p).await;
}

/// Webhooks are stored whole, listed per project oldest first, deleted only in their
/// project, with their deliveries.
pub async fn webhooks_round_trip(store: &dyn EventfulStore) {
    let n = Names::new("wh");
    let (p, q) = (n.project(1), n.project(2));
    let filter = EventFilter::parse("job.finished,schedule.*").unwrap();
    let mut a = Webhook::new(&p, "https://a.example/h?x=1", filter, None, t0()).unwrap();
    a.job = Some("job-1".into());
    let b = Webhook::new(
        &p,
        "http://b.example/",
        EventFilter::all(),
        Some("s".repeat(20)),
        t0() + secs(1),
    )
    .unwrap();
    store.put_webhook(&b).await.unwrap();
    store.put_webhook(&a).await.unwrap();
    assert_eq!(store.webhooks(&p).await.unwrap(), [a.clone(), b.clone()]);
    assert!(store.webhooks(&q).await.unwrap().is_empty());
    assert!(
        !store.delete_webhook(&q, &a.id).await.unwrap(),
        "not in that project"
    );
    let d = delivery("evt_1", 1);
    store.record_delivery(&a.id, &d).await.unwrap();
    assert!(store.delete_webhook(&p, &a.id).await.unwrap());
    assert!(!store.delete_webhook(&p, &a.id).await.unwrap());
    assert!(
        store.deliveries(&a.id).await.unwrap().is_empty(),
        "deleted with it"
    );
    assert_eq!(store.webhooks(&p).await.unwrap(), std::slice::from_ref(&b));
    assert!(store.delete_webhook(&p, &b.id).await.unwrap());
}

fn delivery(event: &str, attempt: u32) -> Delivery {
    Delivery {
        event_id: event.into(),
        event_type: EventKind::JobFinished,
        at: t0() + secs(i64::from(attempt)),
        attempt,
        status: Some(500),
        error: Some("HTTP 500".into()),
        ok: false,
        last: false,
        duration_ms: 12,
    }
}

/// A webhook keeps its newest deliveries, newest first.
pub async fn deliveries_keep_the_newest(store: &dyn EventfulStore) {
    let n = Names::new("wh");
    let p = n.project(1);
    let w = Webhook::new(&p, "https://a.example/", EventFilter::all(), None, t0()).unwrap();
    store.put_webhook(&w).await.unwrap();
    let total = DELIVERIES_KEPT as u32 + 5;
    for i in 1..=total {
        store
            .record_delivery(&w.id, &delivery(&format!("evt_{i:03}"), i))
            .await
            .unwrap();
    }
    let kept = store.deliveries(&w.id).await.unwrap();
    assert_eq!(kept.len(), DELIVERIES_KEPT);
    assert_eq!(
        kept[0],
        delivery(&format!("evt_{total:03}"), total),
        "newest first, whole"
    );
    assert_eq!(
        kept.last().unwrap().attempt,
        total - DELIVERIES_KEPT as u32 + 1
    );
    assert!(store.delete_webhook(&p, &w.id).await.unwrap());
}
