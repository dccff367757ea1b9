use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::model::Outcome;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn finished_job() -> Job {
    let mut job = Job::new("j1".into(), "demo".into(), "shop".into(), t0());
    job.state = JobState::Finished;
    job.attempt = 2;
    job.started_at = Some(t0());
    job.finished_at = Some(t0() + chrono::Duration::seconds(5));
    let mut outcome = Outcome::reason(trawl_engine::FinishReason::Failed, Some("boom".into()));
    outcome.stats.insert("item_scraped_count".into(), json!(7));
    outcome.stats.insert("scheduler/enqueued".into(), json!(70));
    job.outcome = Some(outcome);
    job
}

#[test]
fn a_finished_job_event_has_the_documented_shape() {
    let event = Event::job(EventKind::JobFinished, &finished_job(), t0());
    let body: Value = serde_json::from_str(&event.body(Some("https://trawl.example/"))).unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["type"], "job.finished");
    assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(body["project"], "demo");
    let job = &body["job"];
    assert_eq!(job["id"], "j1");
    assert_eq!(job["state"], "finished");
    assert_eq!(job["finish_reason"], "failed");
    assert_eq!(job["error"], "boom");
    assert_eq!(job["items"], 7);
    assert_eq!(
        job["stats"],
        json!({"item_scraped_count": 7}),
        "main stats only"
    );
    assert_eq!(
        job["log_url"],
        "https://trawl.example/logs/demo/shop/j1.log"
    );
    assert_eq!(
        job["items_url"],
        "https://trawl.example/items/demo/shop/j1.jl"
    );
    let back: Event = serde_json::from_value(body).unwrap();
    assert_eq!(back.kind, EventKind::JobFinished);
}

#[test]
fn event_bodies_are_bounded() {
    let mut job = finished_job();
    let outcome = job.outcome.as_mut().unwrap();
    outcome.error = Some("x".repeat(1 << 20));
    let event = Event::job(EventKind::JobFinished, &job, t0());
    let body = event.body(None);
    assert!(body.len() <= MAX_EVENT_BYTES, "{}", body.len());
    assert!(serde_json::from_str::<Value>(&body).is_ok());
}

#[test]
fn event_ids_sort_by_time() {
    let a = Event::version_removed("p", "1", t0());
    let b = Event::version_removed("p", "1", t0() + chrono::Duration::microseconds(1));
    assert!(a.id < b.id);
    assert_ne!(a.id, Event::version_removed("p", "1", t0()).id);
}

#[test]
fn filters_parse_kinds_groups_and_everything() {
    let f = EventFilter::parse("job.finished, schedule.*").unwrap();
    assert!(f.matches(EventKind::JobFinished));
    assert!(f.matches(EventKind::ScheduleMissed));
    assert!(!f.matches(EventKind::JobRunning));
    assert_eq!(f.names().len(), 4);
    for all in ["", "*", "job.*,schedule.*,version.*"] {
        assert_eq!(
            EventFilter::parse(all).unwrap(),
            EventFilter::all(),
            "{all:?}"
        );
    }
    for bad in ["job.done", "nope.*", "job", "\u{0}"] {
        assert!(EventFilter::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn signatures_verify_and_refuse_tampering() {
    let body = br#"{"a":1}"#;
    let header = sign::signature_header("whsec_k", 1_700_000_000, body);
    assert!(header.starts_with("t=1700000000,v1="));
    assert!(sign::verify("whsec_k", &header, body, 1_700_000_100, 300));
    assert!(!sign::verify(
        "whsec_k",
        &header,
        b"{\"a\":2}",
        1_700_000_100,
        300
    ));
    assert!(!sign::verify("other", &header, body, 1_700_000_100, 300));
    assert!(
        !sign::verify("whsec_k", &header, body, 1_700_001_000, 300),
        "too old"
    );
    for junk in ["", "t=", "v1=zz", "t=1,v1=", "t=x,v1=00", ",,,"] {
        assert!(!sign::verify("whsec_k", junk, body, 1, 300), "{junk:?}");
    }
}

#[test]
fn webhooks_check_their_url_and_secret() {
    let all = EventFilter::all();
    let w = Webhook::new("p", "https://example.com/hook", all.clone(), None, t0()).unwrap();
    assert!(w.secret.starts_with("whsec_") && w.secret.len() == 70);
    assert_eq!(secret_hint(&w.secret).chars().count(), 11);
    assert!(!secret_hint(&w.secret).contains(&w.secret[10..]));
    for bad in ["ftp://x/", "/relative", "http://user:pw@x/", "", "http://"] {
        assert_eq!(
            Webhook::new("p", bad, all.clone(), None, t0()).unwrap_err(),
            WebhookError::BadUrl,
            "{bad:?}"
        );
    }
    let long = format!("https://x/{}", "a".repeat(3000));
    assert!(Webhook::new("p", &long, all.clone(), None, t0()).is_err());
    for secret in ["short", "has a space in it!!", &"k".repeat(300)] {
        assert_eq!(
            Webhook::new("p", "https://x/", all.clone(), Some(secret.into()), t0()).unwrap_err(),
            WebhookError::BadSecret
        );
    }
}

#[test]
fn notify_webhooks_get_only_their_job_or_schedule() {
    let mut job = finished_job();
    job.schedule_id = Some("nightly".into());
    let event = Event::job(EventKind::JobFinished, &job, t0());
    let mut w = Webhook::new("demo", "https://x/", Webhook::notify_events(), None, t0()).unwrap();
    assert!(w.wants(&event));
    w.job = Some("other".into());
    assert!(!w.wants(&event));
    w.job = None;
    w.schedule = Some("nightly".into());
    assert!(w.wants(&event));
    w.project = "elsewhere".into();
    assert!(!w.wants(&event));
}

#[test]
fn backoff_doubles_up_to_an_hour() {
    let base = std::time::Duration::from_secs(10);
    assert_eq!(backoff(base, 1).as_secs(), 10);
    assert_eq!(backoff(base, 2).as_secs(), 20);
    assert_eq!(backoff(base, 4).as_secs(), 80);
    assert_eq!(backoff(base, 40).as_secs(), 3600);
}

#[test]
fn the_guard_refuses_private_literals_unless_allowed() {
    let strict = WebhookClient::new(false, std::time::Duration::from_secs(1)).unwrap();
    for url in [
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
    ] {
        assert!(strict.check_url(url).is_err(), "{url}");
    }
    assert!(strict.check_url("https://example.com/").is_ok());
    let open = WebhookClient::new(true, std::time::Duration::from_secs(1)).unwrap();
    assert!(open.check_url("http://127.0.0.1:9/").is_ok());
    assert!(open.check_url("file:///etc/passwd").is_err());
}
