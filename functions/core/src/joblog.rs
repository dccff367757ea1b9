//! Per-job logs: a `tracing` layer that writes every event emitted inside a job's span
//! (`tracing::info_span!("job", id = ...)`) to that job's log file, in Scrapy's line
//! format: `2026-01-02 03:04:05 [trawl] INFO: message key=value`.
//!
//! The engine carries the span into its request tasks and callback threads, so one
//! process can run many jobs at once and each log holds only its own lines.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The span name that marks a job.
pub const JOB_SPAN: &str = "job";

/// The name of a span whose `crawler` field tags the job-log lines of its events
/// (` crawler=NAME` at the end): one of a job's several crawlers. A [`JOB_SPAN`] may
/// carry a `crawler` field too.
pub const CRAWLER_SPAN: &str = "crawler";

struct JobLog {
    out: Mutex<BufWriter<File>>,
    level: Level,
    /// Events written, by level (ERROR, WARNING, INFO, DEBUG, TRACE).
    counts: [std::sync::atomic::AtomicU64; 5],
    /// The crawl's live stats, which count `log_count/<LEVEL>` too (so the stats dump
    /// at the end of the log includes them, as Scrapy's does).
    stats: RwLock<Option<Arc<trawl_engine::Stats>>>,
}

/// Open job logs, by job id.
#[derive(Default)]
pub struct JobLogs {
    logs: RwLock<HashMap<String, Arc<JobLog>>>,
}

/// The process-wide registry the layer writes through.
pub fn job_logs() -> &'static JobLogs {
    static LOGS: OnceLock<JobLogs> = OnceLock::new();
    LOGS.get_or_init(JobLogs::default)
}

impl JobLogs {
    /// Starts logging job `id` at `level` and above to `path` (appending).
    pub fn open(&self, id: &str, path: &Path, level: Level) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        self.logs.write().insert(
            id.to_string(),
            Arc::new(JobLog {
                out: Mutex::new(BufWriter::new(file)),
                level,
                counts: Default::default(),
                stats: RwLock::new(None),
            }),
        );
        Ok(())
    }

    /// Writes a line to job `id`'s log directly (outside any span).
    pub fn write(&self, id: &str, level: Level, message: &str) {
        if let Some(log) = self.logs.read().get(id) {
            let mut line = String::new();
            format_line(&mut line, level, "trawl", message, "");
            let _ = log.out.lock().write_all(line.as_bytes());
        }
    }

    /// Counts job `id`'s lines from now on into `stats` as well (`log_count/<LEVEL>`,
    /// including the lines written so far).
    pub fn attach_stats(&self, id: &str, stats: Arc<trawl_engine::Stats>) {
        if let Some(log) = self.logs.read().get(id) {
            for (key, n) in self.counts(id) {
                stats.inc(&key, n as i64);
            }
            *log.stats.write() = Some(stats);
        }
    }

    /// Flushes job `id`'s buffered lines to its file.
    pub fn flush(&self, id: &str) {
        if let Some(log) = self.logs.read().get(id) {
            let _ = log.out.lock().flush();
        }
    }

    /// Scrapy's `log_count/<LEVEL>` stats of job `id`: the lines written so far, by level.
    pub fn counts(&self, id: &str) -> Vec<(String, u64)> {
        let logs = self.logs.read();
        let Some(log) = logs.get(id) else {
            return Vec::new();
        };
        LEVELS
            .iter()
            .zip(&log.counts)
            .map(|(name, n)| {
                (
                    format!("log_count/{name}"),
                    n.load(std::sync::atomic::Ordering::Relaxed),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Flushes and stops logging job `id`.
    pub fn close(&self, id: &str) {
        if let Some(log) = self.logs.write().remove(id) {
            let _ = log.out.lock().flush();
        }
    }
}

/// The job id recorded on a job span.
struct JobId(String);

/// The crawler recorded on a job or crawler span.
struct CrawlerTag(String);

/// The layer to install next to the process's own log output.
#[derive(Debug, Default, Clone, Copy)]
pub struct JobLogLayer;

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
    id: Option<String>,
    /// A `crawler` field, kept apart on spans (see [`CRAWLER_SPAN`]).
    crawler: Option<String>,
    span: bool,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "id" => self.id = Some(value.to_string()),
            "crawler" if self.span => self.crawler = Some(value.to_string()),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "id" => self.id = Some(format!("{value:?}").trim_matches('"').to_string()),
            "crawler" if self.span => {
                self.crawler = Some(format!("{value:?}").trim_matches('"').to_string())
            }
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

/// Scrapy's level names, most severe first.
const LEVELS: [&str; 5] = ["ERROR", "WARNING", "INFO", "DEBUG", "TRACE"];

/// `log_count/<LEVEL>` stats keys, in [`LEVELS`] order.
const LOG_COUNT_KEYS: [&str; 5] = [
    "log_count/ERROR",
    "log_count/WARNING",
    "log_count/INFO",
    "log_count/DEBUG",
    "log_count/TRACE",
];

fn level_index(level: Level) -> usize {
    match level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

fn format_line(out: &mut String, level: Level, target: &str, message: &str, rest: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S");
    let level = LEVELS[level_index(level)];
    let _ = writeln!(out, "{now} [{target}] {level}: {message}{rest}");
}

impl<S> Layer<S> for JobLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = attrs.metadata().name();
        if name != JOB_SPAN && name != CRAWLER_SPAN {
            return;
        }
        let mut fields = Fields {
            span: true,
            ..Fields::default()
        };
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let (Some(job), true) = (fields.id, name == JOB_SPAN) {
            ext.insert(JobId(job));
        }
        if let Some(crawler) = fields.crawler {
            ext.insert(CrawlerTag(crawler));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let mut job = None;
        let mut crawler = None;
        for span in scope.from_root() {
            let ext = span.extensions();
            if let Some(j) = ext.get::<JobId>() {
                job.get_or_insert_with(|| j.0.clone());
            }
            if let Some(c) = ext.get::<CrawlerTag>() {
                crawler = Some(c.0.clone());
            }
        }
        let Some(job) = job else {
            return;
        };
        let logs = job_logs().logs.read();
        let Some(log) = logs.get(&job) else {
            return;
        };
        let level = *event.metadata().level();
        if level > log.level {
            return;
        }
        log.counts[level_index(level)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(stats) = log.stats.read().as_ref() {
            stats.inc(LOG_COUNT_KEYS[level_index(level)], 1);
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(c) = crawler.filter(|_| !fields.rest.contains(" crawler=")) {
            let _ = write!(fields.rest, " crawler={c}");
        }
        let target = event.metadata().target();
        let target = target.split("::").next().unwrap_or(target);
        let mut line = String::with_capacity(fields.message.len() + 64);
        format_line(&mut line, level, target, &fields.message, &fields.rest);
        let mut out = log.out.lock();
        let _ = out.write_all(line.as_bytes());
        if level <= Level::INFO {
            let _ = out.flush();
        }
    }
}

/// Installs a global subscriber for a function process: its own log on stderr (level
/// from `RUST_LOG`, default `info`) plus the per-job logs.
pub fn install_function_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_filter(filter),
        )
        .with(JobLogLayer)
        .try_init();
}

/// Parses Scrapy's LOG_LEVEL names (`CRITICAL`, `ERROR`, `WARNING`, `INFO`, `DEBUG`,
/// any case; also `WARN` and `TRACE`) as tracing levels; `None` for other names.
pub fn parse_scrapy_level(name: &str) -> Option<Level> {
    Some(match name.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" | "ERROR" => Level::ERROR,
        "WARNING" | "WARN" => Level::WARN,
        "INFO" => Level::INFO,
        "DEBUG" => Level::DEBUG,
        "TRACE" => Level::TRACE,
        _ => return None,
    })
}

/// [`parse_scrapy_level`], with INFO for names it does not know.
pub fn level_from_scrapy(name: &str) -> Level {
    parse_scrapy_level(name).unwrap_or(Level::INFO)
}

/// One entry of a log: a line that starts with a time, and the lines after it that do
/// not (a multi-line message).
struct Entry<'a> {
    time: &'a str,
    lines: Vec<&'a str>,
}

/// The time at the start of a log line (`YYYY-MM-DD HH:MM:SS`), if it has one.
fn line_time(line: &str) -> Option<&str> {
    let t = line.get(..19)?;
    let b = t.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let ok = digits.iter().all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':';
    ok.then_some(t)
}

fn entries(text: &str) -> Vec<Entry<'_>> {
    let mut out: Vec<Entry> = Vec::new();
    for line in text.lines() {
        match (line_time(line), out.last_mut()) {
            (None, Some(last)) => last.lines.push(line),
            (time, _) => out.push(Entry {
                time: time.unwrap_or(""),
                lines: vec![line],
            }),
        }
    }
    out
}

/// Interleaves logs by time into one (their lines carry their crawler already, see
/// [`CRAWLER_SPAN`]). Entries of one second keep their order within their log, the
/// first log's first.
pub fn merge_log_texts(logs: &[&str]) -> String {
    let parsed: Vec<Vec<Entry>> = logs.iter().map(|text| entries(text)).collect();
    let mut all: Vec<(&str, usize, usize, &Entry)> = Vec::new();
    for (src, es) in parsed.iter().enumerate() {
        for (i, e) in es.iter().enumerate() {
            all.push((e.time, src, i, e));
        }
    }
    all.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let mut out = String::new();
    for (_, _, _, e) in all {
        for line in &e.lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `log_count/<LEVEL>` of a log's text: its entries by level.
pub fn log_counts(text: &str) -> Vec<(String, u64)> {
    let mut counts = [0u64; 5];
    for e in entries(text) {
        let Some(rest) = e.lines[0].get(20..) else {
            continue;
        };
        let Some(after) = rest.split_once("] ").map(|(_, a)| a) else {
            continue;
        };
        if let Some(i) = LEVELS
            .iter()
            .position(|l| after.starts_with(l) && after[l.len()..].starts_with(':'))
        {
            counts[i] += 1;
        }
    }
    LOG_COUNT_KEYS
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect()
}

/// Merges the logs the crawlers of a job crawled over partitions wrote beside its log
/// (`{key}.parts/{crawler}.log`) into the log at `key`, interleaved by time
/// ([`merge_log_texts`]); deletes the parts. Returns the
/// merged log's `log_count/*` stats.
pub async fn merge_logs(
    blobs: &dyn crate::ports::BlobStore,
    key: &str,
) -> crate::ports::StoreResult<Vec<(String, u64)>> {
    let folder = format!("{key}.parts/");
    let main = blobs.get(key).await?.unwrap_or_default();
    let mut parts = Vec::new();
    for entry in blobs.list(&folder).await? {
        if entry.size.is_none() {
            continue;
        }
        let part_key = format!("{folder}{}", entry.name);
        let text = blobs.get(&part_key).await?.unwrap_or_default();
        parts.push((part_key, text));
    }
    let main_text = String::from_utf8_lossy(&main);
    let texts: Vec<String> = parts
        .iter()
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .collect();
    let mut logs: Vec<&str> = vec![&main_text];
    logs.extend(texts.iter().map(String::as_str));
    let merged = merge_log_texts(&logs);
    let counts = log_counts(&merged);
    blobs.put(key, bytes::Bytes::from(merged)).await?;
    for (part_key, _) in parts {
        blobs.delete(&part_key).await?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_in_a_job_span_go_to_its_log_only() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        job_logs().open("job-a", &a, Level::INFO).unwrap();
        job_logs().open("job-b", &b, Level::DEBUG).unwrap();
        let subscriber = tracing_subscriber::registry().with(JobLogLayer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!(JOB_SPAN, id = "job-a").in_scope(|| {
                tracing::info!(pages = 3, "crawled");
                tracing::debug!("hidden at INFO");
            });
            tracing::info_span!(JOB_SPAN, id = "job-b").in_scope(|| {
                tracing::info_span!("inner").in_scope(|| tracing::debug!("nested"));
            });
            tracing::info!("outside any job");
        });
        assert_eq!(
            job_logs().counts("job-a"),
            vec![("log_count/INFO".to_string(), 1)]
        );
        assert_eq!(
            job_logs().counts("job-b"),
            vec![("log_count/DEBUG".to_string(), 1)]
        );
        job_logs().close("job-a");
        job_logs().close("job-b");
        let a = std::fs::read_to_string(a).unwrap();
        let b = std::fs::read_to_string(b).unwrap();
        assert!(a.contains("INFO: crawled pages=3"), "{a}");
        assert!(!a.contains("hidden") && !a.contains("nested") && !a.contains("outside"));
        assert!(b.contains("DEBUG: nested"), "{b}");
        assert_eq!(a.lines().count(), 1);
    }

    #[test]
    fn attached_stats_count_lines_so_far_and_from_now_on() {
        let dir = tempfile::tempdir().unwrap();
        job_logs()
            .open("job-c", &dir.path().join("c.log"), Level::INFO)
            .unwrap();
        let stats = Arc::new(trawl_engine::Stats::new());
        let subscriber = tracing_subscriber::registry().with(JobLogLayer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(JOB_SPAN, id = "job-c");
            span.in_scope(|| tracing::info!("before"));
            job_logs().attach_stats("job-c", stats.clone());
            span.in_scope(|| {
                tracing::warn!("after");
                tracing::debug!("not written, not counted");
            });
        });
        job_logs().close("job-c");
        assert_eq!(stats.get_i64("log_count/INFO"), 1);
        assert_eq!(stats.get_i64("log_count/WARNING"), 1);
        assert_eq!(stats.get("log_count/DEBUG"), None);
    }

    #[test]
    fn logs_merge_by_time() {
        let main = "2026-12-01 10:00:00 [trawl_core] INFO: Starting job\n\
                    2026-12-01 10:00:05 [trawl_core] INFO: Closing\n";
        let c1 = "2026-12-01 10:00:01 [trawl_engine] INFO: Spider opened crawler=c1\n\
                  2026-12-01 10:00:03 [trawl_engine] INFO: Dumping stats: crawler=c1\n{\"a\": 1}\n";
        let c2 = "2026-12-01 10:00:02 [trawl_engine] ERROR: boom crawler=c2\n";
        let merged = merge_log_texts(&[main, c1, c2]);
        assert_eq!(
            merged,
            "2026-12-01 10:00:00 [trawl_core] INFO: Starting job\n\
             2026-12-01 10:00:01 [trawl_engine] INFO: Spider opened crawler=c1\n\
             2026-12-01 10:00:02 [trawl_engine] ERROR: boom crawler=c2\n\
             2026-12-01 10:00:03 [trawl_engine] INFO: Dumping stats: crawler=c1\n\
             {\"a\": 1}\n\
             2026-12-01 10:00:05 [trawl_core] INFO: Closing\n"
        );
        assert_eq!(
            log_counts(&merged),
            vec![
                ("log_count/ERROR".to_string(), 1),
                ("log_count/INFO".to_string(), 4)
            ]
        );
    }
}
