//! Scrapyd's JSON endpoints: parameters → [`Control`](trawl_core::Control) → envelope.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::envelope::{ok_text, opt_time, text_response, Fields};
use super::{App, Params};
use http::StatusCode;
use trawl_core::control::{ApiError, ApiResult, ScheduleRequest};
use trawl_core::events::Webhook;
use trawl_core::model::{CancelLevel, Job};
use trawl_core::notify::NotifyRequest;

/// Parameters of `schedule.json` that are not spider arguments.
const SCHEDULE_RESERVED: &[&str] = &[
    "project",
    "spider",
    "_version",
    "jobid",
    "priority",
    "setting",
    "notify",
    "notify_events",
];

/// The `notify` and `notify_events` parameters.
pub(super) fn notify_request(p: &Params) -> NotifyRequest {
    NotifyRequest {
        urls: p.all("notify"),
        events: p.opt("notify_events"),
    }
}

/// The `notify` webhooks of an answer, with their secrets (shown only here).
pub(super) fn notify_entries(hooks: &[Webhook]) -> Value {
    hooks
        .iter()
        .map(|w| json!({"id": w.id, "url": w.url, "events": w.event_names(), "secret": w.secret}))
        .collect()
}

/// `daemonstatus.json`: `pending`, `running`, `finished` counts.
pub(super) async fn daemon_status(State(app): State<Arc<App>>) -> Response {
    let r = async {
        let c = app.control.daemon_status().await?;
        Ok(fields! {"pending" => c.pending, "running" => c.running, "finished" => c.finished})
    };
    app.reply(r.await)
}

/// `addversion.json`: `project`, `version`, `egg` (file part or form field).
pub(super) async fn add_version(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let version = p.required("version")?;
        let egg = p.required_bytes("egg")?;
        let spiders = app.control.add_version(&project, &version, egg).await?;
        Ok(fields! {"project" => project, "version" => version, "spiders" => spiders})
    };
    app.reply(r.await)
}

/// `schedule.json`: returns `jobid`.
pub(super) async fn schedule(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let req = ScheduleRequest {
            project: p.required("project")?,
            spider: p.required("spider")?,
            version: p.opt("_version"),
            job_id: p.opt("jobid"),
            priority: p.priority()?,
            settings: p.settings()?,
            args: p.args(SCHEDULE_RESERVED),
        };
        let (jobid, hooks) = app
            .control
            .schedule_notify(req, &notify_request(&p))
            .await?;
        let mut f = fields! {"jobid" => jobid};
        if !hooks.is_empty() {
            f.insert("notify".into(), notify_entries(&hooks));
        }
        Ok(f)
    };
    app.reply(r.await)
}

/// `cancel.json`: `project`, `job`, optional `signal`: `INT` (the default) or `TERM`
/// (2, 15) stop a running job gracefully, and a second cancel stops it at once; `KILL`
/// (9) stops it at once. Returns `prevstate`.
pub(super) async fn cancel(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let job = p.required("job")?;
        let level = match p.opt("signal") {
            None => CancelLevel::Graceful,
            Some(sig) => CancelLevel::from_signal(&sig).ok_or_else(|| {
                ApiError::invalid(
                    "signal",
                    format!(
                        "{sig:?} is not a signal Trawl applies: INT or TERM (2, 15) stop \
                         gracefully, KILL (9) stops at once"
                    ),
                )
            })?,
        };
        let prev = app.control.cancel(&project, &job, level).await?;
        Ok(fields! {"prevstate" => prev.map(|s| s.as_str())})
    };
    app.reply(r.await)
}

/// `status.json`: `job`, optional `project`. Returns `currstate`.
pub(super) async fn status(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let job = p.required("job")?;
        let project = p.opt("project");
        let found = app.control.status(&job, project.as_deref()).await?;
        Ok(fields! {"currstate" => found.map(|j| j.state.as_str())})
    };
    app.reply(r.await)
}

/// `listprojects.json`.
pub(super) async fn list_projects(State(app): State<Arc<App>>) -> Response {
    let r = async { Ok(fields! {"projects" => app.control.list_projects().await?}) };
    app.reply(r.await)
}

/// `listversions.json`: `project`.
pub(super) async fn list_versions(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        Ok(fields! {"versions" => app.control.list_versions(&project).await?})
    };
    app.reply(r.await)
}

/// `listspiders.json`: `project`, optional `_version`.
pub(super) async fn list_spiders(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let version = p.opt("_version");
        let spiders = app
            .control
            .list_spiders(&project, version.as_deref())
            .await?;
        Ok(fields! {"spiders" => spiders})
    };
    app.reply(r.await)
}

/// `listjobs.json`: optional `project`. Answers are cached while the job store is
/// unchanged (see [`crate::listcache`]).
pub(super) async fn list_jobs(State(app): State<Arc<App>>, p: Params) -> Response {
    let project = p.opt("project");
    let Some(generation) = app.control.jobs_generation() else {
        return app.reply(job_lists(&app, project.as_deref()).await);
    };
    if let Some(body) = app.lists.get(&project, generation) {
        return text_response(StatusCode::OK, body);
    }
    let _one_at_a_time = app.lists.computing.lock().await;
    let generation = app.control.jobs_generation().unwrap_or(generation);
    if let Some(body) = app.lists.get(&project, generation) {
        return text_response(StatusCode::OK, body);
    }
    match job_lists(&app, project.as_deref()).await {
        Ok(fields) => {
            let body = bytes::Bytes::from(ok_text(app.node_name(), fields));
            app.lists.put(project, generation, body.clone());
            text_response(StatusCode::OK, body)
        }
        Err(e) => app.error(e),
    }
}

async fn job_lists(app: &App, project: Option<&str>) -> ApiResult<Fields> {
    let lists = app.control.list_jobs(project).await?;
    let base = &app.base;
    Ok(fields! {
        "pending" => lists.pending.iter().map(pending_entry).collect::<Vec<_>>(),
        "running" => lists.running.iter().map(|j| running_entry(j, base)).collect::<Vec<_>>(),
        "finished" => lists.finished.iter().map(|j| finished_entry(j, base)).collect::<Vec<_>>(),
    })
}

/// `delversion.json`: `project`, `version`.
pub(super) async fn delete_version(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let version = p.required("version")?;
        app.control.delete_version(&project, &version).await?;
        ApiResult::Ok(Fields::new())
    };
    app.reply(r.await)
}

/// `delproject.json`: `project`.
pub(super) async fn delete_project(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        app.control.delete_project(&project).await?;
        ApiResult::Ok(Fields::new())
    };
    app.reply(r.await)
}

/// Percent-encodes a path segment (names are validated, so this rarely changes them).
pub(super) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{base}/logs/{p}/{s}/{job}.log`.
pub(super) fn log_url(base: &str, j: &Job) -> String {
    format!(
        "{base}/logs/{}/{}/{}.log",
        encode_segment(&j.project),
        encode_segment(&j.spider),
        encode_segment(&j.id)
    )
}

/// `{base}/items/{p}/{s}/{job}.jl`.
pub(super) fn items_url(base: &str, j: &Job) -> String {
    format!(
        "{base}/items/{}/{}/{}.jl",
        encode_segment(&j.project),
        encode_segment(&j.spider),
        encode_segment(&j.id)
    )
}

/// A pending job in `listjobs.json`.
pub(super) fn pending_entry(j: &Job) -> Value {
    json!({
        "id": j.id,
        "project": j.project,
        "spider": j.spider,
        "version": j.version,
        "settings": j.settings,
        "args": j.args,
    })
}

/// A running job in `listjobs.json` (`pid` is an integer, [`Job::pid`]).
pub(super) fn running_entry(j: &Job, base: &str) -> Value {
    json!({
        "id": j.id,
        "project": j.project,
        "spider": j.spider,
        "pid": j.pid(),
        "start_time": opt_time(j.started_at),
        "log_url": log_url(base, j),
        "items_url": items_url(base, j),
    })
}

/// A finished job in `listjobs.json`, plus `finish_reason` and `items_scraped` from
/// its outcome (`null` when it has none).
pub(super) fn finished_entry(j: &Job, base: &str) -> Value {
    let outcome = j.outcome.as_ref();
    json!({
        "id": j.id,
        "project": j.project,
        "spider": j.spider,
        "start_time": opt_time(j.started_at),
        "end_time": opt_time(j.finished_at),
        "log_url": log_url(base, j),
        "items_url": items_url(base, j),
        "finish_reason": outcome.map(|o| o.finish_reason.as_str()),
        "items_scraped": outcome.map(|o| o.items_scraped()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use trawl_core::model::{JobState, Outcome};

    fn job() -> Job {
        let t = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        let mut j = Job::new("j1".into(), "proj".into(), "sp".into(), t);
        j.args.insert("a".into(), "1".into());
        j.settings.insert("S".into(), "v".into());
        j
    }

    #[test]
    fn entries() {
        let mut j = job();
        assert_eq!(
            pending_entry(&j),
            json!({"id": "j1", "project": "proj", "spider": "sp", "version": null,
                   "settings": {"S": "v"}, "args": {"a": "1"}})
        );
        j.state = JobState::Running;
        j.started_at = Some(Utc.with_ymd_and_hms(2024, 5, 6, 7, 9, 0).unwrap());
        j.runner = Some("task-7".into());
        j.attempt = 1;
        let pid = j.pid().unwrap();
        assert_eq!(
            running_entry(&j, ""),
            json!({"id": "j1", "project": "proj", "spider": "sp", "pid": pid,
                   "start_time": "2024-05-06 07:09:00.000000",
                   "log_url": "/logs/proj/sp/j1.log", "items_url": "/items/proj/sp/j1.jl"})
        );
        j.state = JobState::Finished;
        j.finished_at = Some(Utc.with_ymd_and_hms(2024, 5, 6, 7, 10, 0).unwrap());
        let mut o = Outcome::reason("finished", None);
        o.stats.insert("item_scraped_count".into(), json!(42));
        j.outcome = Some(o);
        assert_eq!(
            finished_entry(&j, "/base"),
            json!({"id": "j1", "project": "proj", "spider": "sp",
                   "start_time": "2024-05-06 07:09:00.000000",
                   "end_time": "2024-05-06 07:10:00.000000",
                   "log_url": "/base/logs/proj/sp/j1.log", "items_url": "/base/items/proj/sp/j1.jl",
                   "finish_reason": "finished", "items_scraped": 42})
        );
        j.outcome = None;
        assert_eq!(finished_entry(&j, "")["finish_reason"], Value::Null);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a-b_c.d~1"), "a-b_c.d~1");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
