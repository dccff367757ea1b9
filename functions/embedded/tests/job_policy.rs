//! What an API caller may put in a job (`trawl_core::policy`), through the control
//! plane's `schedule` and `add_schedule` over real SQLite stores.

use bytes::Bytes;
use trawl_core::control::{AddScheduleRequest, ScheduleRequest};
use trawl_core::{ControlConfig, JobState, OverlapPolicy};
use trawl_embedded::testkit::{control, SPEC};

fn request(settings: &[(&str, &str)], args: &[(&str, &str)]) -> ScheduleRequest {
    let mut r = ScheduleRequest {
        project: "demo".into(),
        spider: "shop".into(),
        ..Default::default()
    };
    for (k, v) in settings {
        r.settings.insert(k.to_string(), v.to_string());
    }
    for (k, v) in args {
        r.args.insert(k.to_string(), v.to_string());
    }
    r
}

#[tokio::test]
async fn settings_that_write_outside_the_job_or_bypass_destinations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _clock, _) = control(dir.path(), ControlConfig::default());
    c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    let outside = dir.path().join("outside.jl");
    let feeds = format!(r#"{{"{}":{{"format":"jsonlines"}}}}"#, outside.display());
    for (name, value) in [
        ("FEEDS", feeds.as_str()),
        ("HTTPCACHE_DIR", "/tmp/anywhere"),
        ("HTTPCACHE_ENABLED", "True"),
        ("JOBDIR", "/tmp/state"),
        ("LOG_FILE", "/tmp/log"),
        ("HTTPS_PROXY", "http://127.0.0.1:1"),
    ] {
        let e = c
            .schedule(request(&[(name, value)], &[]))
            .await
            .unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "setting is invalid: setting {name} is not allowed"
            )),
            "{name}: {e}"
        );
        let mut add = AddScheduleRequest {
            project: "demo".into(),
            spider: "shop".into(),
            cron: "0 * * * *".into(),
            timezone: "UTC".into(),
            args: Default::default(),
            settings: Default::default(),
            priority: 0.0,
            enabled: true,
            overlap: OverlapPolicy::Allow,
            id: None,
        };
        add.settings.insert(name.into(), value.into());
        assert!(c.add_schedule(add).await.is_err(), "{name}");
    }
    assert!(!outside.exists());
    // Ordinary settings pass: the job is queued.
    let id = c
        .schedule(request(&[("DOWNLOAD_DELAY", "0.5")], &[]))
        .await
        .unwrap();
    let job = c.status(&id, None).await.unwrap().expect("the job exists");
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.settings["DOWNLOAD_DELAY"], "0.5");
}

#[tokio::test]
async fn a_spec_cannot_set_what_an_api_caller_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _clock, _) = control(dir.path(), ControlConfig::default());
    let spec = SPEC.replace(
        "[settings]",
        "[settings]\nHTTPCACHE_DIR = \"/tmp/anywhere\"",
    );
    c.add_version("demo", "1", Bytes::from(spec)).await.unwrap();
    let e = c.schedule(request(&[], &[])).await.unwrap_err().to_string();
    assert!(
        e.contains("shop: setting HTTPCACHE_DIR is not allowed for jobs"),
        "{e}"
    );
}

#[tokio::test]
async fn huge_arguments_are_refused_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _clock, _) = control(dir.path(), ControlConfig::default());
    c.add_version("demo", "1", Bytes::from_static(SPEC.as_bytes()))
        .await
        .unwrap();
    let big = "x".repeat(10 << 20);
    let e = c
        .schedule(request(&[], &[("site", &big)]))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.len() < 200, "{} bytes", e.len());
    assert!(e.contains("argument site is too long"), "{e}");
}
