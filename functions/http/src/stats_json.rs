//! `GET /logs/stats.json` and `GET /logs/{project}/{spider}/{job}.json`: what LogParser writes to Scrapyd's logs folder, computed
//! from the control plane's jobs, so ScrapydWeb's stats pages, charts and node reports
//! work without LogParser.
//!
//! Each running and finished job's log is analysed as LogParser would ([`logstats`]);
//! for a finished job the control plane's record then fills what the log lacks (a job
//! that failed before its crawl started, or ran with `STATS_DUMP=false`): its
//! `finish_reason`, pages, items and crawler stats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::{json, Map, Value};
use trawl_core::model::Job;

use crate::logstats::{self, LOGPARSER_VERSION, NA};
use crate::App;

/// Finished jobs listed at most (LogParser's `JOBS_TO_KEEP`), newest first.
pub const JOBS_TO_KEEP: usize = 100;

/// What an entry was computed from: a log analysed once is not analysed again until
/// it grows or its job finishes (LogParser, too, only parses what was appended).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    base: String,
    job: String,
    finished: bool,
    log_len: usize,
}

/// Entries kept at most; the cache is emptied when it is full.
const CACHE_ENTRIES: usize = 4 * JOBS_TO_KEEP;

fn cache() -> &'static Mutex<HashMap<CacheKey, Map<String, Value>>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Map<String, Value>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(key: &CacheKey) -> Option<Map<String, Value>> {
    cache().lock().ok()?.get(key).cloned()
}

fn remember(key: CacheKey, entry: &Map<String, Value>) {
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, entry.clone());
    }
}

/// `GET /logs/stats.json`.
pub(super) async fn stats_json(State(app): State<Arc<App>>) -> Response {
    let lists = match app.control.list_jobs(None).await {
        Ok(l) => l,
        Err(e) => return app.error(e),
    };
    let mut datas: Map<String, Value> = Map::new();
    let jobs = lists
        .running
        .iter()
        .chain(lists.finished.iter().take(JOBS_TO_KEEP));
    for job in jobs {
        let entry = match entry(&app, job).await {
            Ok(entry) => entry,
            Err(e) => return app.error(e),
        };
        let spiders = datas
            .entry(job.project.clone())
            .or_insert_with(|| json!({}));
        if let Some(spiders) = spiders.as_object_mut() {
            let jobs = spiders
                .entry(job.spider.clone())
                .or_insert_with(|| json!({}));
            if let Some(jobs) = jobs.as_object_mut() {
                jobs.insert(job.id.clone(), Value::Object(entry));
            }
        }
    }
    let (t, ts) = logstats::now();
    let body = json!({
        "status": "ok",
        "datas": datas,
        "settings_py": "",
        "settings": {},
        "last_update_timestamp": ts,
        "last_update_time": t,
        "logparser_version": LOGPARSER_VERSION,
    });
    json_answer(&body)
}

/// A job's entry of `stats.json` (without the log's head and tail), analysed once per
/// length of its log.
pub(crate) async fn entry(app: &App, job: &Job) -> trawl_core::ApiResult<Map<String, Value>> {
    let log = app
        .control
        .job_log(&job.project, &job.spider, &job.id)
        .await?;
    let key = CacheKey {
        base: app.base.clone(),
        job: job.id.clone(),
        finished: job.finished_at.is_some(),
        log_len: log.as_ref().map_or(0, |l| l.len()),
    };
    if let Some(entry) = cached(&key) {
        return Ok(entry);
    }
    let text = log.as_deref().map(String::from_utf8_lossy);
    let mut entry = job_entry(job, text.as_deref(), &app.base);
    // Like LogParser's stats.json, without the log's head and tail (they are in the
    // job's own `.json`).
    entry.remove("head");
    entry.remove("tail");
    remember(key, &entry);
    Ok(entry)
}

/// `GET /logs/{project}/{spider}/{job}.json`: the job's full analysis (the file
/// LogParser writes next to each log, which ScrapydWeb's stats page requests).
pub(super) async fn job_json(app: Arc<App>, project: &str, spider: &str, job: &str) -> Response {
    let names_ok = [project, spider, job]
        .iter()
        .all(|n| crate::files::valid_name(n));
    if !names_ok {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let found = match app.control.status(job, Some(project)).await {
        Ok(j) => j.filter(|j| j.spider == spider),
        // A file under an unknown project is a missing file, as for `.log`.
        Err(trawl_core::ApiError::ProjectNotFound(_)) => None,
        Err(e) => return app.error(e),
    };
    let Some(found) = found else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let log = match app.control.job_log(project, spider, job).await {
        Ok(log) => log,
        Err(e) => return app.error(e),
    };
    let text = log.as_deref().map(String::from_utf8_lossy);
    let entry = job_entry(&found, text.as_deref(), &app.base);
    json_answer(&Value::Object(entry))
}

fn json_answer(body: &Value) -> Response {
    let mut res = (
        StatusCode::OK,
        serde_json::to_string_pretty(body).unwrap_or_default(),
    )
        .into_response();
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// One job's entry: LogParser's per-log data (`log_path`, `json_path`, `json_url`,
/// `size`, `position`, `status`, then what `parse()` returns).
pub fn job_entry(job: &Job, log: Option<&str>, base: &str) -> Map<String, Value> {
    let rel = format!("{}/{}/{}", job.project, job.spider, job.id);
    let text = log.unwrap_or("");
    let mut d = Map::new();
    d.insert("log_path".into(), json!(format!("{base}/logs/{rel}.log")));
    d.insert("json_path".into(), json!(format!("{base}/logs/{rel}.json")));
    d.insert("json_url".into(), json!(format!("{base}/logs/{rel}.json")));
    d.insert("size".into(), json!(text.len()));
    d.insert("position".into(), json!(text.len()));
    d.insert("status".into(), json!("ok"));
    d.extend(logstats::parse(text));
    // Filled by LogParser's telnet probe of a running Scrapy process; Trawl has none.
    d.insert("crawler_engine".into(), json!({}));
    if let Some(outcome) = &job.outcome {
        let no_dump = d
            .get("crawler_stats")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if no_dump && !outcome.stats.is_empty() {
            logstats::apply_stats(&mut d, &outcome.stats, None);
        }
        if d.get("finish_reason").and_then(Value::as_str) == Some(NA) {
            d.insert(
                "finish_reason".into(),
                json!(outcome.finish_reason.as_str()),
            );
        }
    }
    d
}
