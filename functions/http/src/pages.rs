//! HTML pages: `/` (home) and `/jobs`, laid out like Scrapyd's so ScrapydWeb can parse
//! them (`<h1>Jobs</h1>`, a table with columns Project, Spider, Job, PID, Start,
//! Runtime, Finish, Log, Items, Cancel; rows `<tr><td>...</td>...</tr>`). Times are
//! UTC. Behind a reverse proxy, the `X-Forwarded-Prefix` header (Scrapyd's default
//! `prefix_header`) prefixes their links.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::endpoints::{items_url, log_url};
use super::App;
use trawl_core::model::Job;

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// `YYYY-MM-DD HH:MM:SS` (what ScrapydWeb expects in `/jobs`).
fn page_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A duration as Python's `str(timedelta)` without microseconds: `H:MM:SS` or
/// `N day(s), H:MM:SS`.
fn runtime(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

const STYLE: &str = "body{font-family:sans-serif}table{border-collapse:collapse}\
td,th{border:1px solid #999;padding:2px 6px}thead th{background:#eee}";

/// The header a reverse proxy sets to the path prefix it serves the API under.
const PREFIX_HEADER: &str = "x-forwarded-prefix";

/// The prefix of the pages' links: the proxy's `X-Forwarded-Prefix` (without a
/// trailing slash), then the configured base path.
pub(crate) fn link_base(app: &App, headers: &HeaderMap) -> String {
    let forwarded = headers
        .get(PREFIX_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_end_matches('/'))
        .unwrap_or_default();
    let slash = if forwarded.is_empty() || forwarded.starts_with('/') {
        ""
    } else {
        "/"
    };
    format!("{slash}{forwarded}{}", app.base)
}

/// `GET /`: a small home page, with Scrapyd's links (Jobs, Items, Logs).
pub(super) async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let b = escape(&link_base(&app, &headers));
    let node = escape(app.node_name());
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Trawl</title>\
         <style>{STYLE}</style></head><body><h1>Trawl</h1>\
         <p>Node: {node}. A Scrapyd-compatible crawl service.</p>\
         <ul><li><a href=\"{b}/jobs\">Jobs</a></li><li><a href=\"{b}/items/\">Items</a></li>\
         <li><a href=\"{b}/logs/\">Logs</a></li></ul>\
         <p>API: daemonstatus.json, addversion.json, schedule.json, cancel.json, status.json, \
         listprojects.json, listversions.json, listspiders.json, listjobs.json, \
         delversion.json, delproject.json, addschedule.json, listschedules.json, \
         delschedule.json, enableschedule.json, disableschedule.json.</p>\
         </body></html>"
    ))
    .into_response()
}

/// `GET /jobs`: pending, then running, then finished jobs.
pub(super) async fn jobs(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let lists = match app.control.list_jobs(None).await {
        Ok(l) => l,
        Err(e) => return app.error(e),
    };
    let now = app.control.now();
    Html(render_jobs(
        &link_base(&app, &headers),
        &lists.pending,
        &lists.running,
        &lists.finished,
        now,
    ))
    .into_response()
}

/// The `/jobs` page.
pub(super) fn render_jobs(
    base: &str,
    pending: &[Job],
    running: &[Job],
    finished: &[Job],
    now: DateTime<Utc>,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Trawl</title>\
         <style>{STYLE}</style></head><body><h1>Jobs</h1>\
         <p><a href=\"{}/\">Go up</a> (times are UTC)</p>\
         <table id=\"jobs\"><thead><tr><th>Project</th><th>Spider</th><th>Job</th>\
         <th>PID</th><th>Start</th><th>Runtime</th><th>Finish</th><th>Log</th>\
         <th>Items</th><th>Cancel</th></tr></thead><tbody>",
        escape(base)
    );
    let section = |h: &mut String, name: &str| {
        let _ = write!(h, "<tr><th colspan=\"10\">{name}</th></tr>");
    };
    section(&mut h, "Pending");
    for j in pending {
        row(&mut h, base, j, "", "", "", "", false, true);
    }
    section(&mut h, "Running");
    for j in running {
        let rt = j.started_at.map(|s| runtime(now - s)).unwrap_or_default();
        let pid = j.pid().map(|p| p.to_string()).unwrap_or_default();
        row(
            &mut h,
            base,
            j,
            &pid,
            &page_time(j.started_at),
            &rt,
            "",
            true,
            true,
        );
    }
    section(&mut h, "Finished");
    for j in finished {
        let rt = match (j.started_at, j.finished_at) {
            (Some(s), Some(f)) => runtime(f - s),
            _ => String::new(),
        };
        let start = page_time(j.started_at);
        row(
            &mut h,
            base,
            j,
            "",
            &start,
            &rt,
            &page_time(j.finished_at),
            true,
            false,
        );
    }
    h.push_str("</tbody></table></body></html>");
    h
}

#[allow(clippy::too_many_arguments)]
fn row(
    h: &mut String,
    base: &str,
    j: &Job,
    pid: &str,
    start: &str,
    runtime: &str,
    finish: &str,
    links: bool,
    cancel: bool,
) {
    let (log, items) = if links {
        (
            format!("<a href=\"{}\">Log</a>", escape(&log_url(base, j))),
            format!("<a href=\"{}\">Items</a>", escape(&items_url(base, j))),
        )
    } else {
        (String::new(), String::new())
    };
    let cancel = if cancel {
        format!(
            "<form method=\"post\" action=\"{}/cancel.json\">\
             <input type=\"hidden\" name=\"project\" value=\"{}\">\
             <input type=\"hidden\" name=\"job\" value=\"{}\">\
             <input type=\"submit\" value=\"Cancel\"></form>",
            escape(base),
            escape(&j.project),
            escape(&j.id)
        )
    } else {
        String::new()
    };
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{log}</td><td>{items}</td><td>{cancel}</td></tr>",
        escape(&j.project),
        escape(&j.spider),
        escape(&j.id),
        escape(pid),
        escape(start),
        escape(runtime),
        escape(finish),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn escapes() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href='x'&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn runtimes() {
        assert_eq!(runtime(chrono::Duration::seconds(65)), "0:01:05");
        assert_eq!(
            runtime(chrono::Duration::seconds(86_400 + 3723)),
            "1 day, 1:02:03"
        );
        assert_eq!(
            runtime(chrono::Duration::seconds(2 * 86_400)),
            "2 days, 0:00:00"
        );
        assert_eq!(runtime(chrono::Duration::seconds(-5)), "0:00:00");
    }

    #[test]
    fn jobs_page_layout() {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap();
        let p = Job::new("pend".into(), "proj".into(), "<script>".into(), t0);
        let mut r = Job::new("run".into(), "proj".into(), "sp".into(), t0);
        r.state = trawl_core::model::JobState::Running;
        r.attempt = 1;
        r.started_at = Some(t0);
        r.runner = Some("w-1".into());
        let pid = r.pid().unwrap();
        let mut f = Job::new("fin".into(), "proj".into(), "sp".into(), t0);
        f.started_at = Some(t0);
        f.finished_at = Some(t0 + chrono::Duration::seconds(300));
        let now = t0 + chrono::Duration::seconds(90);
        let html = render_jobs("", &[p], &[r], &[f], now);
        assert!(html.contains("<h1>Jobs</h1>"));
        assert!(html.contains(
            "<thead><tr><th>Project</th><th>Spider</th><th>Job</th><th>PID</th><th>Start</th>\
             <th>Runtime</th><th>Finish</th><th>Log</th><th>Items</th><th>Cancel</th></tr></thead>"
        ));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<tr><td>proj</td><td>&lt;script&gt;</td><td>pend</td><td></td><td></td><td></td><td></td><td></td><td></td><td><form"));
        assert!(html.contains(&format!("<tr><td>proj</td><td>sp</td><td>run</td><td>{pid}</td><td>2024-01-01 10:00:00</td><td>0:01:30</td><td></td><td><a href=\"/logs/proj/sp/run.log\">Log</a></td><td><a href=\"/items/proj/sp/run.jl\">Items</a></td>")));
        assert!(html.contains("<tr><td>proj</td><td>sp</td><td>fin</td><td></td><td>2024-01-01 10:00:00</td><td>0:05:00</td><td>2024-01-01 10:05:00</td><td><a href=\"/logs/proj/sp/fin.log\">Log</a>"));
        let (pi, ri, fi) = (
            html.find("pend").unwrap(),
            html.find(">run<").unwrap(),
            html.find(">fin<").unwrap(),
        );
        assert!(pi < ri && ri < fi);
    }
}
