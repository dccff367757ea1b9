//! The poller over real SQLite and files, with an injected clock: global priority, both
//! concurrency limits, cron firing exactly once, overlap and missed-run policies.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use trawl_core::control::{AddScheduleRequest, ScheduleRequest};
use trawl_core::model::{CancelLevel, JobState, Outcome, OverlapPolicy};
use trawl_core::ports::ManualClock;
use trawl_core::{Control, ControlConfig};

use trawl_embedded::testkit as common;

use common::{Recorder, SPEC};

struct Fixture {
    control: Arc<Control>,
    clock: Arc<ManualClock>,
    dispatched: Arc<Recorder>,
    _dir: tempfile::TempDir,
}

async fn fixture(cfg: ControlConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (control, clock, dispatched) = common::control(dir.path(), cfg);
    for p in ["alpha", "beta", "gamma"] {
        control
            .add_version(p, "1", Bytes::from_static(SPEC.as_bytes()))
            .await
            .unwrap();
    }
    Fixture {
        control,
        clock,
        dispatched,
        _dir: dir,
    }
}

async fn schedule(c: &Control, project: &str, id: &str, priority: f64) {
    c.schedule(ScheduleRequest {
        project: project.into(),
        spider: "shop".into(),
        job_id: Some(id.into()),
        priority,
        ..Default::default()
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn priority_is_global_and_both_limits_hold() {
    let cfg = ControlConfig {
        max_proc: 3,
        max_proc_per_project: 2,
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    schedule(c, "alpha", "a-low", 0.0).await;
    schedule(c, "alpha", "a-high", 5.0).await;
    schedule(c, "alpha", "a-top", 9.0).await;
    schedule(c, "beta", "b-mid", 3.0).await;
    schedule(c, "gamma", "g-low", -1.0).await;
    let report = c.poll_once("test").await.unwrap();
    // alpha's two slots go to its two best jobs; the third global slot to beta.
    assert_eq!(report.started, vec!["a-top", "a-high", "b-mid"]);
    assert_eq!(*f.dispatched.0.lock(), report.started);
    // Full: nothing more starts.
    assert!(c.poll_once("test").await.unwrap().started.is_empty());
    // One alpha job ends: alpha's next job is behind gamma's in priority? No — a-low (0)
    // outranks g-low (-1), and alpha has a free slot again.
    let j = c.status("a-top", None).await.unwrap().unwrap();
    let done = Outcome::reason("finished", None);
    assert!(c
        .stores()
        .jobs
        .finish_job("a-top", j.attempt, &done, Utc::now())
        .await
        .unwrap());
    assert_eq!(c.poll_once("test").await.unwrap().started, vec!["a-low"]);
    let lists = c.list_jobs(None).await.unwrap();
    assert_eq!(
        lists
            .pending
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        vec!["g-low"]
    );
    assert_eq!(lists.running.len(), 3);
    assert_eq!(lists.finished.len(), 1);
}

#[tokio::test]
async fn max_proc_counts_crawlers() {
    let cfg = ControlConfig {
        max_proc: 4,
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    let mut wide = ScheduleRequest {
        project: "alpha".into(),
        spider: "shop".into(),
        job_id: Some("wide".into()),
        priority: 9.0,
        ..Default::default()
    };
    wide.settings
        .insert("CONCURRENT_CRAWLERS".into(), "3".into());
    c.schedule(wide).await.unwrap();
    schedule(c, "alpha", "one", 5.0).await;
    schedule(c, "alpha", "two", 1.0).await;
    // Three slots for the job over three crawlers, one for the next.
    assert_eq!(
        c.poll_once("test").await.unwrap().started,
        vec!["wide", "one"]
    );
    assert!(c.poll_once("test").await.unwrap().started.is_empty());
}

#[tokio::test]
async fn a_started_job_is_never_started_twice() {
    let f = fixture(ControlConfig::default()).await;
    schedule(&f.control, "alpha", "only", 0.0).await;
    let polls: Vec<_> = (0..8)
        .map(|i| {
            let c = f.control.clone();
            tokio::spawn(async move { c.poll_once(&format!("poller-{i}")).await.unwrap() })
        })
        .collect();
    let mut started = 0;
    for p in polls {
        started += p.await.unwrap().started.len();
    }
    assert_eq!(started, 1);
    assert_eq!(*f.dispatched.0.lock(), vec!["only"]);
}

fn every_five_minutes(overlap: OverlapPolicy) -> AddScheduleRequest {
    AddScheduleRequest {
        project: "alpha".into(),
        spider: "shop".into(),
        cron: "*/5 * * * *".into(),
        timezone: "UTC".into(),
        args: Default::default(),
        settings: Default::default(),
        priority: 0.0,
        enabled: true,
        overlap,
        id: Some("every5".into()),
    }
}

#[tokio::test]
async fn cron_fires_each_due_time_exactly_once() {
    let cfg = ControlConfig {
        max_proc: 0, // keep jobs pending: only firing is under test
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    let s = c
        .add_schedule(every_five_minutes(OverlapPolicy::Allow))
        .await
        .unwrap();
    assert_eq!(
        s.next_run,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap())
    );

    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 4, 59).unwrap());
    assert!(c.poll_once("p").await.unwrap().fired.is_empty());

    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 30).unwrap());
    // Two pollers at once: one job.
    let (a, b) = tokio::join!(c.poll_once("p1"), c.poll_once("p2"));
    let fired: Vec<String> = a
        .unwrap()
        .fired
        .into_iter()
        .chain(b.unwrap().fired)
        .collect();
    assert_eq!(fired, vec!["every5-20260301T120500Z"]);
    assert!(c.poll_once("p").await.unwrap().fired.is_empty());

    let s = &c.list_schedules(None).await.unwrap()[0];
    assert_eq!(
        s.next_run,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 10, 0).unwrap())
    );
    assert_eq!(s.last_job.as_deref(), Some("every5-20260301T120500Z"));
    let job = c
        .status("every5-20260301T120500Z", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.schedule_id.as_deref(), Some("every5"));

    // Allow overlap: the next run fires although the previous job is still pending.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 10, 1).unwrap());
    assert_eq!(c.poll_once("p").await.unwrap().fired.len(), 1);
}

#[tokio::test]
async fn overlap_skip_and_missed_runs() {
    let cfg = ControlConfig {
        max_proc: 0,
        schedule_grace: chrono::Duration::minutes(10),
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    c.add_schedule(every_five_minutes(OverlapPolicy::Skip))
        .await
        .unwrap();
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 1).unwrap());
    assert_eq!(c.poll_once("p").await.unwrap().fired.len(), 1);
    // The 12:10 run finds the 12:05 job still pending: skipped.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 10, 1).unwrap());
    let r = c.poll_once("p").await.unwrap();
    assert!(r.fired.is_empty());
    assert_eq!(r.skipped, 1);

    // Downtime: the schedule was due at 12:15 and it is now 13:00 — older than the
    // grace period, so it is skipped (not fired in a burst) and moves to 13:05.
    c.cancel("alpha", "every5-20260301T120500Z", CancelLevel::Graceful)
        .await
        .unwrap();
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 13, 0, 0).unwrap());
    let r = c.poll_once("p").await.unwrap();
    assert!(r.fired.is_empty());
    assert_eq!(r.skipped, 1);
    let s = &c.list_schedules(None).await.unwrap()[0];
    assert_eq!(
        s.next_run,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 13, 5, 0).unwrap())
    );
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 13, 5, 2).unwrap());
    assert_eq!(c.poll_once("p").await.unwrap().fired.len(), 1);

    // Disabled schedules never fire; enabling computes the next run from now.
    c.set_schedule_enabled("every5", false).await.unwrap();
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 1, 13, 20, 0).unwrap());
    assert!(c.poll_once("p").await.unwrap().fired.is_empty());
    let s = c.set_schedule_enabled("every5", true).await.unwrap();
    assert_eq!(
        s.next_run,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 13, 25, 0).unwrap())
    );
}

#[tokio::test]
async fn stale_heartbeats_are_reaped_as_failed() {
    let cfg = ControlConfig {
        heartbeat_timeout: chrono::Duration::seconds(60),
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    schedule(c, "alpha", "stuck", 0.0).await;
    assert_eq!(c.poll_once("p").await.unwrap().started, vec!["stuck"]);
    f.clock.advance(chrono::Duration::seconds(61));
    let r = c.poll_once("p").await.unwrap();
    assert_eq!(r.reaped, vec!["stuck"]);
    let job = c.status("stuck", None).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Finished);
    assert_eq!(job.outcome.unwrap().finish_reason, "failed");
}

/// A job whose crawler died is resumed from its checkpoint as a new attempt, until
/// `max_failed_segments` segments in a row died without writing one; then it fails and
/// its checkpoint goes.
#[tokio::test]
async fn a_reaped_job_with_a_checkpoint_resumes_until_segments_keep_dying() {
    let cfg = ControlConfig {
        heartbeat_timeout: chrono::Duration::seconds(60),
        max_failed_segments: 2,
        ..ControlConfig::default()
    };
    let f = fixture(cfg).await;
    let c = &f.control;
    schedule(c, "alpha", "stuck", 0.0).await;
    assert_eq!(c.poll_once("p").await.unwrap().started, vec!["stuck"]);
    let job = c.status("stuck", None).await.unwrap().unwrap();
    // The first segment wrote a checkpoint, then died.
    let ck = f._dir.path().join("blobs/checkpoints/alpha/shop/stuck");
    std::fs::create_dir_all(&ck).unwrap();
    let labels = serde_json::json!({"labels": {
        "attempt": 1,
        "job_created": job.created_at.timestamp_micros().to_string(),
    }});
    std::fs::write(ck.join("state.json"), labels.to_string()).unwrap();

    for attempt in [2, 3] {
        f.clock.advance(chrono::Duration::seconds(61));
        let r = c.poll_once("p").await.unwrap();
        assert_eq!(r.reaped, vec!["stuck"]);
        let job = c.status("stuck", None).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Running, "resumed, not failed");
        assert_eq!(job.attempt, attempt);
        assert_eq!(job.runner.as_deref(), Some("p"));
        assert_eq!(
            job.started_at,
            Some(job.created_at),
            "one job: its start is kept"
        );
    }
    assert_eq!(f.dispatched.0.lock().len(), 3, "each segment is dispatched");
    // Two segments in a row died without a checkpoint: the job fails.
    f.clock.advance(chrono::Duration::seconds(61));
    c.poll_once("p").await.unwrap();
    let job = c.status("stuck", None).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Finished);
    assert_eq!(job.outcome.unwrap().finish_reason, "failed");
    assert!(!ck.join("state.json").exists(), "the checkpoint is deleted");
}
