//! One job: summary and stats with the progress chart (live), its log (followed by the
//! script through `/logs` with `Range`), an items preview with downloads, and the spec
//! it ran.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value};
use trawl_core::model::{Job, JobState};

use super::html::{chart, duration, kv_table, pairs_text, time, value_text};
use super::jobs::{cancel_buttons, numbers};
use super::{error_body, fragment, seg, shell, Ctx};
use crate::endpoints::{items_url, log_url};
use crate::pages::escape;
use crate::App;

/// Rows of the items preview.
const PREVIEW_ROWS: usize = 20;

async fn find(app: &App, project: &str, job: &str) -> Result<Job, String> {
    match app.control.status(job, Some(project)).await {
        Ok(Some(j)) => Ok(j),
        Ok(None) => Err(format!("job {job} not found in project {project}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `GET {base}/console/job/{project}/{job}`.
pub(super) async fn job_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let ctx = Ctx::new(&app, &headers);
    let j = match find(&app, &project, &id).await {
        Ok(j) => j,
        Err(msg) => {
            let mut res = shell(&app, &ctx, "Job", &error_body(&msg));
            *res.status_mut() = StatusCode::NOT_FOUND;
            return res;
        }
    };
    let summary = summary_html(&app, &ctx, &j).await;
    let items = items_html(&app, &ctx, &j).await;
    let spec = spec_html(&app, &j).await;
    let live = |path: &str| {
        ctx.href(&format!(
            "/console/frag/{path}/{}/{}",
            seg(&j.project),
            seg(&j.id)
        ))
    };
    let levels: String = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        .iter()
        .map(|l| format!("<option>{l}</option>"))
        .collect();
    let body = format!(
        "<section id=\"summary\" data-live=\"{sum}\">{summary}</section>\
         <h2>Log</h2><div class=\"logbar\"><label>Level <select id=\"log-level\">{levels}</select></label>\
         <label>Search <input id=\"log-search\" type=\"search\"></label>\
         <label><input id=\"log-follow\" type=\"checkbox\" checked> Follow</label>\
         <a href=\"{raw}\">raw</a></div>\
         <pre id=\"log\" class=\"log\" data-log=\"{raw}\"></pre>\
         <h2>Items</h2><section id=\"items\" data-live=\"{itm}\" data-every=\"5000\">{items}</section>\
         <h2>Spec</h2>{spec}",
        sum = live("job"),
        raw = escape(&log_url(&ctx.base, &j)),
        itm = live("items"),
    );
    shell(&app, &ctx, "Job", &body)
}

/// `GET {base}/console/frag/job/{project}/{job}`: summary, stats and chart.
pub(super) async fn job_frag(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let ctx = Ctx::new(&app, &headers);
    match find(&app, &project, &id).await {
        Ok(j) => fragment(summary_html(&app, &ctx, &j).await),
        Err(msg) => fragment(error_body(&msg)),
    }
}

/// `data-final` on a fragment stops its refreshes.
fn final_mark(j: &Job) -> &'static str {
    if j.state == JobState::Finished {
        "<span data-final hidden></span>"
    } else {
        ""
    }
}

async fn summary_html(app: &App, _ctx: &Ctx, j: &Job) -> String {
    let now = app.control.now();
    let stats = if j.state == JobState::Pending {
        Map::new()
    } else {
        crate::stats_json::entry(app, j).await.unwrap_or_default()
    };
    let [pages, items, rate, errors] = numbers(j, &stats, now);
    let reason = j
        .outcome
        .as_ref()
        .map(|o| o.finish_reason.as_str().to_string())
        .unwrap_or_default();
    let runtime = j
        .started_at
        .map(|s| duration(j.finished_at.unwrap_or(now) - s))
        .unwrap_or_default();
    let mut rows: Vec<(String, String)> = vec![
        ("Job".into(), j.id.clone()),
        ("State".into(), j.state.as_str().into()),
        ("Project".into(), j.project.clone()),
        ("Spider".into(), j.spider.clone()),
        ("Priority".into(), j.priority.to_string()),
        ("Scheduled".into(), time(Some(j.created_at))),
        ("Started".into(), time(j.started_at)),
        ("Finished".into(), time(j.finished_at)),
        ("Runtime".into(), runtime),
        ("Pages".into(), pages),
        ("Items".into(), items),
        ("Pages/min".into(), rate),
        ("Errors".into(), errors),
        ("Finish reason".into(), reason),
    ];
    if let Some(err) = j.outcome.as_ref().and_then(|o| o.error.clone()) {
        rows.push(("Error".into(), err));
    }
    let mut h = String::from(final_mark(j));
    h.push_str(&kv_table("summary", &rows));
    if j.state != JobState::Finished {
        h.push_str(&format!(
            "<div class=\"actions\">{}</div>",
            cancel_buttons(j)
        ));
    }
    let datas = stats.get("datas").and_then(Value::as_array);
    if let Some(svg) = datas.and_then(|d| chart(d)) {
        h.push_str("<h2>Progress</h2>");
        h.push_str(&svg);
    }
    if let Some(crawler) = stats.get("crawler_stats").and_then(Value::as_object) {
        h.push_str(&grouped_stats(crawler));
    }
    h
}

/// Scrapy's stats grouped by the part of the key before `/` (`downloader`,
/// `log_count`, `item_scraped_count`, ...).
fn grouped_stats(stats: &Map<String, Value>) -> String {
    let mut groups: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in stats {
        if matches!(
            k.as_str(),
            "source" | "last_update_time" | "last_update_timestamp"
        ) {
            continue;
        }
        let group = k.split_once('/').map_or("general", |(g, _)| g);
        groups
            .entry(group)
            .or_default()
            .push((k.clone(), value_text(v)));
    }
    if groups.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h2>Stats</h2><div class=\"stats\">");
    for (g, rows) in groups {
        let _ = write!(h, "<div><h3>{}</h3>{}</div>", escape(g), kv_table(g, &rows));
    }
    h.push_str("</div>");
    h
}

/// The first items of a job's feed (JSON lines) and its `(columns, rows)`.
fn preview(data: &[u8]) -> (Vec<String>, Vec<Map<String, Value>>) {
    let mut cols: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in data
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
    {
        if rows.len() == PREVIEW_ROWS {
            break;
        }
        let item = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(m)) => m,
            Ok(other) => Map::from_iter([("value".to_string(), other)]),
            Err(_) => continue,
        };
        for k in item.keys() {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
        rows.push(item);
    }
    (cols, rows)
}

async fn items_html(app: &App, ctx: &Ctx, j: &Job) -> String {
    let data = match app.control.job_items(&j.project, &j.spider, &j.id).await {
        Ok(d) => d.unwrap_or_default(),
        Err(e) => return error_body(&e.to_string()),
    };
    let (cols, rows) = preview(&data);
    let mut h = String::from(final_mark(j));
    let export = |f: &str| {
        ctx.href(&format!(
            "/console/export/{}/{}/{f}",
            seg(&j.project),
            seg(&j.id)
        ))
    };
    let _ = write!(
        h,
        "<p class=\"downloads\">Download: <a href=\"{}\">JSON lines</a> \
         <a href=\"{}\">JSON</a> <a href=\"{}\">CSV</a></p>",
        escape(&items_url(&ctx.base, j)),
        export("json"),
        export("csv"),
    );
    if rows.is_empty() {
        h.push_str("<p class=\"none\">No items yet.</p>");
        return h;
    }
    let _ = write!(
        h,
        "<p>First {} items.</p><div class=\"scroll\"><table id=\"items-table\"><thead><tr>",
        rows.len()
    );
    for c in &cols {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr></thead><tbody>");
    for r in &rows {
        h.push_str("<tr>");
        for c in &cols {
            let v = r.get(c).map(value_text).unwrap_or_default();
            let _ = write!(h, "<td>{}</td>", escape(&v));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    h
}

/// `GET {base}/console/frag/items/{project}/{job}`.
pub(super) async fn items_frag(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let ctx = Ctx::new(&app, &headers);
    match find(&app, &project, &id).await {
        Ok(j) => fragment(items_html(&app, &ctx, &j).await),
        Err(msg) => fragment(error_body(&msg)),
    }
}

async fn spec_html(app: &App, j: &Job) -> String {
    let mut rows = vec![
        (
            "Version".to_string(),
            j.version
                .clone()
                .unwrap_or_else(|| "latest at start".into()),
        ),
        ("Arguments".to_string(), pairs_text(&j.args)),
        ("Settings".to_string(), pairs_text(&j.settings)),
    ];
    if let Some(s) = &j.schedule_id {
        rows.push(("Schedule".into(), s.clone()));
    }
    let mut h = kv_table("spec", &rows);
    let source = async {
        let v = app
            .control
            .resolve_version(&j.project, j.version.as_deref())
            .await
            .ok()?;
        let b = app.control.bundle(&v).await.ok()?;
        let s = b.get(&j.spider)?;
        Some((v.version, s.file.clone(), s.source.clone()))
    };
    if let Some((version, file, source)) = source.await {
        let _ = write!(
            h,
            "<p>{} of version {}:</p><pre class=\"spec\">{}</pre>",
            escape(&file),
            escape(&version),
            escape(&source)
        );
    }
    h
}

/// `GET {base}/console/export/{project}/{job}/{json|csv}`: the job's items as one JSON
/// array or as CSV (columns from the items' fields, in order of appearance).
pub(super) async fn export(
    State(app): State<Arc<App>>,
    Path((project, id, format)): Path<(String, String, String)>,
) -> Response {
    let j = match find(&app, &project, &id).await {
        Ok(j) => j,
        Err(msg) => return (StatusCode::NOT_FOUND, msg).into_response(),
    };
    let data = match app.control.job_items(&j.project, &j.spider, &j.id).await {
        Ok(d) => d.unwrap_or_default(),
        Err(e) => return app.error(e),
    };
    let items: Vec<Value> = data
        .split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let (body, ct) = match format.as_str() {
        "json" => (
            serde_json::to_string(&items).unwrap_or_default(),
            "application/json",
        ),
        "csv" => (to_csv(&items), "text/csv; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "Not Found").into_response(),
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    let name = format!("attachment; filename=\"{}.{format}\"", j.id);
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// Items as CSV (RFC 4180 quoting).
fn to_csv(items: &[Value]) -> String {
    let mut cols: Vec<&str> = Vec::new();
    for i in items.iter().filter_map(Value::as_object) {
        for k in i.keys() {
            if !cols.contains(&k.as_str()) {
                cols.push(k);
            }
        }
    }
    let cell = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = cols.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for i in items.iter().filter_map(Value::as_object) {
        let line: Vec<String> = cols
            .iter()
            .map(|c| cell(&i.get(*c).map(value_text).unwrap_or_default()))
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previews_and_csv() {
        let data = b"{\"a\":1,\"b\":\"x\"}\n\nnot json\n{\"c\":[1]}\n";
        let (cols, rows) = preview(data);
        assert_eq!(cols, ["a", "b", "c"]);
        assert_eq!(rows.len(), 2);
        let csv = to_csv(&[json!({"a": "x,y", "b": "q\""}), json!({"c": 2})]);
        assert_eq!(csv, "a,b,c\r\n\"x,y\",\"q\"\"\",\r\n,,2\r\n");
    }

    #[test]
    fn stats_are_grouped() {
        let m = json!({"downloader/request_count": 3, "item_scraped_count": 2, "source": "x"});
        let h = grouped_stats(m.as_object().unwrap());
        assert!(h.contains("<h3>downloader</h3>") && h.contains("<h3>general</h3>"));
        assert!(!h.contains("source"));
    }
}
