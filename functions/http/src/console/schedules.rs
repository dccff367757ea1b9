//! Schedules: the list (next runs in each schedule's time zone), enable, disable,
//! delete, recent fires, and the add form with a preview of the next five runs.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use http::HeaderMap;
use trawl_core::cron::CronSchedule;
use trawl_core::model::{Job, Schedule};

use super::html::{pairs_text, time};
use super::{error_body, fragment, seg, shell, Ctx};
use crate::pages::escape;
use crate::App;

/// A UTC time shown in a time zone: `2024-03-31 03:00 CEST`.
fn local(t: DateTime<Utc>, tz: &str) -> String {
    match tz.parse::<Tz>() {
        Ok(z) => t.with_timezone(&z).format("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// `GET {base}/console/schedules`.
pub(super) async fn page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(&app, &headers);
    let list = list_html(&app, &ctx).await;
    let (cron, tz) = ("*/5 * * * *", "UTC");
    let body = format!(
        "<div data-live=\"{frag}\" data-every=\"3000\">{list}</div>\
         <h2>Add a schedule</h2>\
         <form data-action=\"addschedule\" data-then=\"reload\" class=\"grid\" id=\"add-schedule\">\
         <label>Project <input name=\"project\" required></label>\
         <label>Spider <input name=\"spider\" required></label>\
         <label>Cron <input name=\"cron\" value=\"{cron}\" required data-preview></label>\
         <label>Time zone <input name=\"timezone\" value=\"{tz}\" list=\"zones\" data-preview></label>\
         <datalist id=\"zones\"><option>UTC</option><option>Europe/Paris</option>\
         <option>Europe/London</option><option>America/New_York</option>\
         <option>America/Los_Angeles</option><option>Asia/Tokyo</option></datalist>\
         <label>Overlap <select name=\"overlap\"><option value=\"skip\">skip a run while the last is pending or running</option>\
         <option value=\"allow\">allow</option></select></label>\
         <label>Priority <input name=\"priority\" value=\"0\"></label>\
         <label>Arguments (NAME=VALUE per line) <textarea name=\"_args\" rows=\"2\"></textarea></label>\
         <label>Settings (NAME=VALUE per line) <textarea name=\"_settings\" rows=\"2\"></textarea></label>\
         <div id=\"cron-preview\" data-src=\"{pv}\">{preview}</div>\
         <button>Add schedule</button><output class=\"result\"></output></form>",
        frag = ctx.href("/console/frag/schedules"),
        pv = ctx.href("/console/frag/cron"),
        preview = preview_html(&app, cron, tz),
    );
    shell(&app, &ctx, "Schedules", &body)
}

/// `GET {base}/console/frag/schedules`.
pub(super) async fn frag(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(&app, &headers);
    fragment(list_html(&app, &ctx).await)
}

/// `GET {base}/console/frag/cron?cron=&timezone=`: the schedule in words and its next
/// five runs, or why the expression is refused.
pub(super) async fn cron_preview(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let tz = if get("timezone").trim().is_empty() {
        "UTC"
    } else {
        get("timezone")
    };
    fragment(preview_html(&app, get("cron"), tz.trim()))
}

fn preview_html(app: &App, cron: &str, tz: &str) -> String {
    let c = match CronSchedule::parse(cron, tz) {
        Ok(c) => c,
        Err(e) => return error_body(&e.to_string()),
    };
    let mut h = format!(
        "<p class=\"describe\">Runs {}.</p><ol class=\"next-runs\">",
        escape(&c.describe())
    );
    let mut t = app.control.now();
    for _ in 0..5 {
        let Some(next) = c.next_after(t) else { break };
        let _ = write!(
            h,
            "<li>{} <small>({} UTC)</small></li>",
            escape(&local(next, tz)),
            next.format("%Y-%m-%d %H:%M")
        );
        t = next;
    }
    h.push_str("</ol>");
    h
}

fn button(action: &str, id: &str, label: &str, confirm: &str) -> String {
    format!(
        "<form data-action=\"{action}\" data-then=\"reload\" data-confirm=\"{confirm}\" class=\"inline\">\
         <input type=\"hidden\" name=\"id\" value=\"{}\"><button>{label}</button>\
         <output class=\"result\"></output></form>",
        escape(id)
    )
}

async fn list_html(app: &App, ctx: &Ctx) -> String {
    let schedules = match app.control.list_schedules(None).await {
        Ok(s) => s,
        Err(e) => return error_body(&e.to_string()),
    };
    let mut h = String::from(
        "<table id=\"schedules\"><thead><tr><th>Id</th><th>Project</th><th>Spider</th>\
         <th>When</th><th>Next run</th><th>Overlap</th><th>Arguments</th><th>Enabled</th>\
         <th>Last run</th><th></th></tr></thead><tbody>",
    );
    if schedules.is_empty() {
        h.push_str("<tr><td colspan=\"10\" class=\"none\">No schedules.</td></tr>");
    }
    for s in &schedules {
        row(&mut h, ctx, s);
    }
    h.push_str("</tbody></table><h2>Recent fires</h2>");
    let lists = match app.control.list_jobs(None).await {
        Ok(l) => l,
        Err(e) => return h + error_body(&e.to_string()).as_str(),
    };
    let mut fired: Vec<&Job> = lists
        .pending
        .iter()
        .chain(&lists.running)
        .chain(&lists.finished)
        .filter(|j| j.schedule_id.is_some())
        .collect();
    fired.sort_by_key(|j| std::cmp::Reverse(j.created_at));
    if fired.is_empty() {
        h.push_str("<p class=\"none\">No runs yet.</p>");
        return h;
    }
    h.push_str("<table id=\"fires\"><thead><tr><th>Schedule</th><th>Job</th><th>Spider</th><th>Created</th><th>State</th></tr></thead><tbody>");
    for j in fired.into_iter().take(10) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(j.schedule_id.as_deref().unwrap_or_default()),
            ctx.href(&format!("/console/job/{}/{}", seg(&j.project), seg(&j.id))),
            escape(&j.id),
            escape(&j.spider),
            time(Some(j.created_at)),
            j.state.as_str(),
        );
    }
    h.push_str("</tbody></table>");
    h
}

fn row(h: &mut String, ctx: &Ctx, s: &Schedule) {
    let when = CronSchedule::parse(&s.cron, &s.timezone)
        .map(|c| c.describe())
        .unwrap_or_default();
    let next = s
        .next_run
        .map(|t| local(t, &s.timezone))
        .unwrap_or_else(|| "—".into());
    let last = match (&s.last_run, &s.last_job) {
        (Some(t), Some(j)) => format!(
            "{} <a href=\"{}\">{}</a>",
            escape(&local(*t, &s.timezone)),
            ctx.href(&format!("/console/job/{}/{}", seg(&s.project), seg(j))),
            escape(j)
        ),
        (Some(t), None) => escape(&local(*t, &s.timezone)),
        _ => String::new(),
    };
    let toggle = if s.enabled {
        button("disableschedule", &s.id, "Disable", "")
    } else {
        button("enableschedule", &s.id, "Enable", "")
    };
    let delete = button("delschedule", &s.id, "Delete", "Delete this schedule?");
    let _ = write!(
        h,
        "<tr data-schedule=\"{id}\"><td>{id}</td><td>{project}</td><td>{spider}</td>\
         <td><code>{cron}</code><br>{when}</td><td>{next}</td><td>{overlap}</td><td><pre>{args}</pre></td>\
         <td>{enabled}</td><td>{last}</td><td>{toggle}{delete}</td></tr>",
        id = escape(&s.id),
        project = escape(&s.project),
        spider = escape(&s.spider),
        cron = escape(&s.cron),
        when = escape(&when),
        next = escape(&next),
        overlap = s.overlap.as_str(),
        args = escape(&pairs_text(&s.args)),
        enabled = if s.enabled { "yes" } else { "no" },
    );
}
