//! The overview (daemon status, slots, recent failures, schedule a job) and the jobs
//! table (pending, running, finished; filters; cancel and force stop), both refreshed
//! live through their fragments.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, RawQuery, State};
use axum::response::Response;
use http::HeaderMap;
use serde_json::{Map, Value};
use trawl_core::model::{Job, JobState};

use super::html::{duration, time, value_text};
use super::{error_body, fragment, seg, shell, Ctx};
use crate::pages::escape;
use crate::App;

/// Finished jobs shown at most.
const FINISHED_SHOWN: usize = 100;

/// `GET {base}/console/`: the overview.
pub(super) async fn overview(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(&app, &headers);
    let live = overview_html(&app, &ctx).await;
    let body = format!(
        "<section data-live=\"{frag}\">{live}</section>\
         <h2>Schedule a job</h2>\
         <form data-action=\"schedule\" data-go=\"job\" class=\"grid\">\
         <label>Project <input name=\"project\" required></label>\
         <label>Spider <input name=\"spider\" required></label>\
         <label>Priority <input name=\"priority\" value=\"0\"></label>\
         <label>Arguments (NAME=VALUE per line) <textarea name=\"_args\" rows=\"2\"></textarea></label>\
         <label>Settings (NAME=VALUE per line) <textarea name=\"_settings\" rows=\"2\"></textarea></label>\
         <button>Schedule</button><output class=\"result\"></output></form>",
        frag = ctx.href("/console/frag/overview"),
    );
    shell(&app, &ctx, "Overview", &body)
}

/// `GET {base}/console/frag/overview`.
pub(super) async fn overview_frag(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(&app, &headers);
    fragment(overview_html(&app, &ctx).await)
}

async fn overview_html(app: &App, ctx: &Ctx) -> String {
    let lists = match app.control.list_jobs(None).await {
        Ok(l) => l,
        Err(e) => return error_body(&e.to_string()),
    };
    let cfg = app.control.config();
    let mut h = format!(
        "<dl class=\"status\"><dt>Status</dt><dd id=\"daemon-status\">ok</dd>\
         <dt>Running</dt><dd id=\"slots\">{} of {} slots</dd>\
         <dt>Pending</dt><dd>{}</dd><dt>Finished</dt><dd>{}</dd></dl>\
         <h2>Recent failures</h2>",
        lists.running.len(),
        cfg.max_proc,
        lists.pending.len(),
        lists.finished.len(),
    );
    let failed: Vec<&Job> = lists
        .finished
        .iter()
        .filter(|j| reason(j).is_some_and(|r| r != "finished"))
        .take(10)
        .collect();
    if failed.is_empty() {
        h.push_str("<p class=\"none\">None.</p>");
    } else {
        h.push_str("<table id=\"failures\"><thead><tr><th>Job</th><th>Spider</th><th>Finished</th><th>Reason</th><th>Error</th></tr></thead><tbody>");
        for j in failed {
            let error = j
                .outcome
                .as_ref()
                .and_then(|o| o.error.clone())
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
                job_link(ctx, j),
                escape(&j.spider),
                time(j.finished_at),
                escape(reason(j).unwrap_or_default()),
                escape(&error),
            );
        }
        h.push_str("</tbody></table>");
    }
    h
}

fn reason(j: &Job) -> Option<&str> {
    j.outcome.as_ref().map(|o| o.finish_reason.as_str())
}

fn job_link(ctx: &Ctx, j: &Job) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        ctx.href(&format!("/console/job/{}/{}", seg(&j.project), seg(&j.id))),
        escape(&j.id)
    )
}

/// `GET {base}/console/jobs?project=&spider=&state=`.
pub(super) async fn jobs_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = Ctx::new(&app, &headers);
    let f = |k: &str| escape(q.get(k).map(String::as_str).unwrap_or(""));
    let state = q.get("state").map(String::as_str).unwrap_or("");
    let mut states = String::new();
    for s in ["", "pending", "running", "finished"] {
        let sel = if s == state { " selected" } else { "" };
        let label = if s.is_empty() { "any" } else { s };
        let _ = write!(states, "<option value=\"{s}\"{sel}>{label}</option>");
    }
    let table = jobs_html(&app, &ctx, &q).await;
    let frag = format!("/console/frag/jobs?{}", raw.unwrap_or_default());
    let body = format!(
        "<form method=\"get\" class=\"filters\">\
         <label>Project <input name=\"project\" value=\"{}\"></label>\
         <label>Spider <input name=\"spider\" value=\"{}\"></label>\
         <label>State <select name=\"state\">{states}</select></label>\
         <button>Filter</button></form>\
         <div id=\"jobs-live\" data-live=\"{}\">{table}</div>",
        f("project"),
        f("spider"),
        ctx.href(&frag),
    );
    shell(&app, &ctx, "Jobs", &body)
}

/// `GET {base}/console/frag/jobs?...`: the jobs table.
pub(super) async fn jobs_frag(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ctx = Ctx::new(&app, &headers);
    fragment(jobs_html(&app, &ctx, &q).await)
}

async fn jobs_html(app: &App, ctx: &Ctx, q: &HashMap<String, String>) -> String {
    let lists = match app.control.list_jobs(None).await {
        Ok(l) => l,
        Err(e) => return error_body(&e.to_string()),
    };
    let want = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let keep = |j: &&Job| {
        want("project").is_none_or(|p| j.project == p)
            && want("spider").is_none_or(|s| j.spider == s)
            && want("state").is_none_or(|s| j.state.as_str() == s)
    };
    let mut h = String::from(
        "<table id=\"jobs\" class=\"jobs\"><thead><tr><th>State</th><th>Project</th>\
         <th>Spider</th><th>Job</th><th>Priority</th><th>Start</th><th>End</th>\
         <th>Runtime</th><th>Pages</th><th>Items</th><th>Pages/min</th><th>Finish reason</th>\
         <th>Errors</th><th></th></tr></thead><tbody>",
    );
    let now = app.control.now();
    let finished = lists.finished.iter().take(FINISHED_SHOWN);
    let all = lists.pending.iter().chain(&lists.running).chain(finished);
    let mut shown = 0;
    for j in all.filter(keep) {
        shown += 1;
        let stats = if j.state == JobState::Pending {
            Map::new()
        } else {
            crate::stats_json::entry(app, j).await.unwrap_or_default()
        };
        row(&mut h, ctx, j, &stats, now);
    }
    if shown == 0 {
        h.push_str("<tr><td colspan=\"14\" class=\"none\">No jobs.</td></tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// Pages, items, pages/min and error count of a job's stats entry.
pub(super) fn numbers(
    j: &Job,
    stats: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> [String; 4] {
    let n = |k: &str| stats.get(k).and_then(Value::as_u64);
    let pages = n("pages");
    let items = n("items").or_else(|| j.outcome.as_ref().map(|o| o.items_scraped()));
    let errors = stats
        .get("log_categories")
        .and_then(|c| c.get("error_logs"))
        .and_then(|e| e.get("count"))
        .and_then(Value::as_u64);
    let minutes = j
        .started_at
        .map(|s| (j.finished_at.unwrap_or(now) - s).num_milliseconds() as f64 / 60_000.0);
    let rate = match (pages, minutes) {
        (Some(p), Some(m)) if m > 0.0 => format!("{:.0}", p as f64 / m),
        _ => String::new(),
    };
    let s = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    [s(pages), s(items), rate, s(errors)]
}

fn row(
    h: &mut String,
    ctx: &Ctx,
    j: &Job,
    stats: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let runtime = j
        .started_at
        .map(|s| duration(j.finished_at.unwrap_or(now) - s))
        .unwrap_or_default();
    let [pages, items, rate, errors] = numbers(j, stats, now);
    let reason = reason(j)
        .map(str::to_string)
        .or_else(|| {
            stats
                .get("finish_reason")
                .map(value_text)
                .filter(|r| r != "N/A")
        })
        .unwrap_or_default();
    let actions = if j.state == JobState::Finished {
        String::new()
    } else {
        cancel_buttons(j)
    };
    let _ = write!(
        h,
        "<tr class=\"{state}\" data-job=\"{id}\"><td>{state}</td><td>{project}</td><td>{spider}</td>\
         <td>{link}</td><td>{prio}</td><td>{start}</td><td>{end}</td><td>{runtime}</td>\
         <td>{pages}</td><td>{items}</td><td>{rate}</td><td>{reason}</td><td>{errors}</td>\
         <td>{actions}</td></tr>",
        state = j.state.as_str(),
        id = escape(&j.id),
        project = escape(&j.project),
        spider = escape(&j.spider),
        link = job_link(ctx, j),
        prio = j.priority,
        start = time(j.started_at),
        end = time(j.finished_at),
        reason = escape(&reason),
    );
}

/// The cancel (graceful) and force-stop buttons of a pending or running job.
pub(super) fn cancel_buttons(j: &Job) -> String {
    let form = |signal: &str, label: &str, confirm: &str| {
        format!(
            "<form data-action=\"cancel\" data-confirm=\"{confirm}\" class=\"inline\">\
             <input type=\"hidden\" name=\"project\" value=\"{}\">\
             <input type=\"hidden\" name=\"job\" value=\"{}\">\
             <input type=\"hidden\" name=\"signal\" value=\"{signal}\">\
             <button class=\"{signal}\">{label}</button><output class=\"result\"></output></form>",
            escape(&j.project),
            escape(&j.id)
        )
    };
    let mut h = form("INT", "Cancel", "");
    if j.state == JobState::Running {
        h.push_str(&form("KILL", "Force stop", "Stop this job at once?"));
    }
    h
}
