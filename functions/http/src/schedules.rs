//! Trawl's schedule endpoints (beyond Scrapyd): `addschedule.json`,
//! `listschedules.json`, `delschedule.json`, `enableschedule.json`,
//! `disableschedule.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::envelope::{opt_time, Fields};
use super::{App, Params};
use trawl_core::control::{AddScheduleRequest, ApiError, ApiResult};
use trawl_core::model::{OverlapPolicy, Schedule};

/// Parameters of `addschedule.json` that are not spider arguments.
const RESERVED: &[&str] = &[
    "project",
    "spider",
    "cron",
    "timezone",
    "priority",
    "enabled",
    "overlap",
    "setting",
    "id",
    "_version",
    "jobid",
    "notify",
    "notify_events",
];

/// A schedule as listed.
pub(super) fn schedule_entry(s: &Schedule) -> Value {
    json!({
        "id": s.id,
        "project": s.project,
        "spider": s.spider,
        "cron": s.cron,
        "timezone": s.timezone,
        "enabled": s.enabled,
        "overlap": s.overlap.as_str(),
        "priority": s.priority,
        "args": s.args,
        "settings": s.settings,
        "next_run": opt_time(s.next_run),
        "last_run": opt_time(s.last_run),
        "last_job": s.last_job,
    })
}

/// Parses a boolean parameter (`true/false`, `1/0`, `yes/no`, `on/off`).
fn parse_bool(p: &Params, name: &'static str, default: bool) -> ApiResult<bool> {
    match p.opt(name) {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ApiError::invalid(
                name,
                format!("'{v}' is not a boolean (true or false)"),
            )),
        },
    }
}

/// Parses `overlap` (`skip`, the default, or `allow`).
fn parse_overlap(p: &Params) -> ApiResult<OverlapPolicy> {
    match p.opt("overlap").as_deref() {
        None | Some("skip") => Ok(OverlapPolicy::Skip),
        Some("allow") => Ok(OverlapPolicy::Allow),
        Some(v) => Err(ApiError::invalid(
            "overlap",
            format!("'{v}' is not skip or allow"),
        )),
    }
}

/// The request of `addschedule.json`.
pub(super) fn add_request(p: &Params) -> ApiResult<AddScheduleRequest> {
    let project = p.required("project")?;
    let spider = p.required("spider")?;
    let cron = p.required("cron")?;
    for (name, why) in [
        ("_version", "schedules always run the latest version"),
        ("jobid", "each run gets a new job id"),
    ] {
        if p.opt(name).is_some() {
            return Err(ApiError::invalid(
                name,
                format!("not accepted by addschedule.json: {why}"),
            ));
        }
    }
    Ok(AddScheduleRequest {
        project,
        spider,
        cron,
        timezone: p.opt("timezone").unwrap_or_else(|| "UTC".into()),
        args: p.args(RESERVED),
        settings: p.settings()?,
        priority: p.priority()?,
        enabled: parse_bool(p, "enabled", true)?,
        overlap: parse_overlap(p)?,
        id: p.opt("id"),
    })
}

/// `addschedule.json`: returns `id` and the `schedule`.
pub(super) async fn add_schedule(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let notify = super::endpoints::notify_request(&p);
        let (s, hooks) = app
            .control
            .add_schedule_notify(add_request(&p)?, &notify)
            .await?;
        let mut f = fields! {"id" => s.id, "schedule" => schedule_entry(&s)};
        if !hooks.is_empty() {
            f.insert("notify".into(), super::endpoints::notify_entries(&hooks));
        }
        Ok(f)
    };
    app.reply(r.await)
}

/// `listschedules.json`: optional `project`.
pub(super) async fn list_schedules(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.opt("project");
        let list = app.control.list_schedules(project.as_deref()).await?;
        Ok(fields! {"schedules" => list.iter().map(schedule_entry).collect::<Vec<_>>()})
    };
    app.reply(r.await)
}

/// `delschedule.json`: `id`.
pub(super) async fn delete_schedule(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let id = p.required("id")?;
        app.control.delete_schedule(&id).await?;
        ApiResult::Ok(Fields::new())
    };
    app.reply(r.await)
}

async fn set_enabled(app: &App, p: &Params, enabled: bool) -> ApiResult<Fields> {
    let id = p.required("id")?;
    let s = app.control.set_schedule_enabled(&id, enabled).await?;
    Ok(fields! {"schedule" => schedule_entry(&s)})
}

/// `enableschedule.json`: `id`.
pub(super) async fn enable_schedule(State(app): State<Arc<App>>, p: Params) -> Response {
    app.reply(set_enabled(&app, &p, true).await)
}

/// `disableschedule.json`: `id`.
pub(super) async fn disable_schedule(State(app): State<Arc<App>>, p: Params) -> Response {
    app.reply(set_enabled(&app, &p, false).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_request_defaults_and_args() {
        let p = Params::from_pairs([
            ("project", "p"),
            ("spider", "s"),
            ("cron", "*/5 * * * *"),
            ("setting", "A=1"),
            ("category", "books"),
        ]);
        let r = add_request(&p).unwrap();
        assert_eq!(r.timezone, "UTC");
        assert!(r.enabled);
        assert_eq!(r.overlap, OverlapPolicy::Skip);
        assert_eq!(r.priority, 0.0);
        assert_eq!(r.settings["A"], "1");
        assert_eq!(r.args.len(), 1);
        assert_eq!(r.args["category"], "books");
        assert_eq!(r.id, None);
    }

    #[test]
    fn add_request_errors() {
        let base = [("project", "p"), ("spider", "s"), ("cron", "@hourly")];
        let with = |k: &'static str, v: &'static str| {
            let mut v2: Vec<(&str, &str)> = base.to_vec();
            v2.push((k, v));
            add_request(&Params::from_pairs(v2))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            add_request(&Params::from_pairs([("project", "p"), ("spider", "s")]))
                .unwrap_err()
                .to_string(),
            "'cron' parameter is required"
        );
        assert!(with("overlap", "maybe").starts_with("overlap is invalid: "));
        assert!(with("enabled", "perhaps").starts_with("enabled is invalid: "));
        assert!(with("priority", "high").starts_with("priority is invalid: "));
        assert!(with("_version", "1").starts_with("_version is invalid: "));
        let p = Params::from_pairs(base.iter().copied().chain([
            ("enabled", "false"),
            ("overlap", "allow"),
            ("timezone", "Europe/Paris"),
        ]));
        let r = add_request(&p).unwrap();
        assert!(!r.enabled);
        assert_eq!(r.overlap, OverlapPolicy::Allow);
        assert_eq!(r.timezone, "Europe/Paris");
    }
}
