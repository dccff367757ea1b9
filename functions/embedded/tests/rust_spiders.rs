//! Rust spiders of the control plane's registry next to the bundles' specs: listed in
//! every project, accepted by schedule.json with their arguments checked, and the
//! bundle's spider chosen on a name clash.

use std::sync::Arc;

use trawl_core::control::ScheduleRequest;
use trawl_core::spiders::SpiderSource;
use trawl_core::{ApiError, ControlConfig};
use trawl_embedded::testkit::{control, SPEC};
use trawl_engine::registry::{SpiderArgs, SpiderRegistry};
use trawl_engine::spider::{Output, StartRequests};
use trawl_engine::{Response, Settings, Spider};

/// A spider that crawls nothing, named after its `name` argument.
struct Quiet(String);

impl Spider for Quiet {
    fn name(&self) -> &str {
        &self.0
    }
    fn start_requests(&self) -> anyhow::Result<StartRequests> {
        Ok(Box::new(std::iter::empty()))
    }
    fn parse(&self, _: &str, _: &Response, _: &mut Output) -> anyhow::Result<()> {
        Ok(())
    }
}

fn quiet(args: &SpiderArgs, _: &Settings) -> anyhow::Result<Arc<dyn Spider>> {
    args.only(&["name"])?;
    Ok(Arc::new(Quiet(args.get("name").unwrap_or("quiet").into())))
}

fn registry() -> SpiderRegistry {
    // "shop" clashes with the spec of the deployed bundle.
    SpiderRegistry::new()
        .with("quiet", quiet)
        .with("shop", quiet)
}

fn schedule(project: &str, spider: &str, args: &[(&str, &str)]) -> ScheduleRequest {
    ScheduleRequest {
        project: project.into(),
        spider: spider.into(),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn registered_spiders_are_in_every_project_and_bundles_win_on_a_clash() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        spiders: registry(),
        ..ControlConfig::default()
    };
    let (control, _, _) = control(dir.path(), cfg);
    control.add_version("p1", "1", SPEC.into()).await.unwrap();
    control.add_version("p2", "1", SPEC.into()).await.unwrap();
    for p in ["p1", "p2"] {
        assert_eq!(
            control.list_spiders(p, None).await.unwrap(),
            ["quiet", "shop"]
        );
    }

    let id = control
        .schedule(schedule("p1", "quiet", &[("name", "q")]))
        .await
        .unwrap();
    let job = control.status(&id, None).await.unwrap().unwrap();
    let resolved = control
        .job_spider("p1", None, "quiet", &job.args, &job.settings)
        .await
        .unwrap();
    assert_eq!(resolved.source, SpiderSource::Registry);
    assert_eq!(resolved.spider.name(), "q");

    let no_args = Default::default();
    let shop = control
        .job_spider("p2", None, "shop", &no_args, &no_args)
        .await
        .unwrap();
    assert_eq!(shop.source, SpiderSource::Bundle { incremental: false });
}

#[tokio::test]
async fn schedule_checks_registered_spiders_and_still_needs_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        spiders: registry(),
        ..ControlConfig::default()
    };
    let (control, _, _) = control(dir.path(), cfg);
    control.add_version("p", "1", SPEC.into()).await.unwrap();
    let err = control
        .schedule(schedule("p", "quiet", &[("nmae", "x")]))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ApiError::Invalid {
            param: "spider arguments",
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "spider arguments is invalid: unknown spider argument 'nmae' (known: name)"
    );
    let err = control
        .schedule(schedule("p", "nope", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::SpiderNotFound(ref s) if s == "nope"),
        "{err}"
    );
    let err = control
        .schedule(schedule("q", "quiet", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::ProjectNotFound(ref p) if p == "q"),
        "{err}"
    );
}

#[tokio::test]
async fn without_a_registry_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (control, _, _) = control(dir.path(), ControlConfig::default());
    control.add_version("p", "1", SPEC.into()).await.unwrap();
    assert_eq!(control.list_spiders("p", None).await.unwrap(), ["shop"]);
    let err = control
        .schedule(schedule("p", "quiet", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::SpiderNotFound(_)), "{err}");
}
