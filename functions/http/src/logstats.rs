//! LogParser's analysis of a Scrapy log, in Rust: [`parse`] returns what LogParser's
//! `parse()` (my8100/logparser 0.8) returns for the same text — first and latest log
//! times, the `Crawled N pages (at X pages/min), scraped M items (at Y items/min)`
//! series (`datas`), `pages`, `items`, the latest matching lines, the log categories
//! (errors, warnings, retries, ...), the shutdown reason, and `finish_reason` and
//! `crawler_stats` from the `Dumping Scrapy stats:` block. `/logs/stats.json` is built
//! from it, so ScrapydWeb's stats pages work without LogParser.

use std::sync::LazyLock;

use chrono::{Local, NaiveDateTime, TimeZone};
use regex::Regex;
use serde_json::{json, Map, Value};

/// The LogParser version whose output [`parse`] reproduces.
pub const LOGPARSER_VERSION: &str = "0.8.4";

/// LogParser's `N/A`.
pub const NA: &str = "N/A";

const DT: &str = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}";

/// Lines kept at the head and the tail (LogParser's defaults).
const HEAD_LINES: usize = 100;
const TAIL_LINES: usize = 200;
/// Details kept per log category (LogParser's `LOG_CATEGORIES_LIMIT`).
const CATEGORY_DETAILS: usize = 10;

fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern {pattern}: {e}"))
}

static LINE_TIME: LazyLock<Regex> = LazyLock::new(|| re(&format!("^{DT} ")));
static DATAS: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\n({DT}) .+?Crawled (\d+) pages \(at (\d+) pages/min\), scraped (\d+) items \(at (\d+) items/min\)"
    ))
});
/// `latest_matches` keys and their line patterns (searched from the end, except the
/// first five, searched from the start).
static LATEST: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let at = |p: &str| re(&format!("^{DT} .+?{p}"));
    vec![
        ("scrapy_version", at(r"Scrapy \d+\.\d+\.\d+ started")),
        ("telnet_console", at("Telnet console listening on")),
        ("telnet_username", re(r"TELNETCONSOLE_USERNAME\W:.+")),
        (
            "telnet_password",
            re(r"TELNETCONSOLE_PASSWORD\W:.+|Telnet Password: .+"),
        ),
        ("resuming_crawl", at("Resuming crawl")),
        ("latest_offsite", at("Filtered offsite")),
        ("latest_duplicate", at("Filtered duplicate")),
        ("latest_crawl", at(r"Crawled \(\d+\)")),
        ("latest_stat", at(r"Crawled \d+ pages \(at")),
    ]
});
/// Log categories: the first line of each matching record (with its continuation lines).
static CATEGORIES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("critical_logs", r"\] CRITICAL:"),
        ("error_logs", r"\] ERROR:"),
        ("warning_logs", r"\] WARNING:"),
        ("redirect_logs", r": Redirecting \("),
        ("retry_logs", r" [Rr]etrying <"),
        ("ignore_logs", r": Ignoring response <"),
    ]
    .into_iter()
    .map(|(k, p)| (k, re(&format!(r"^{DT} [^\n]*?{p}"))))
    .collect()
});
static SIGTERM: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^{DT} .+?: (Received SIG(?:BREAK|INT|TERM)( twice)?),"
    ))
});
static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^{DT} [^\n]+?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)"
    ))
});

/// Stats keys that override a log category's count (LogParser's
/// `STATS_DUMPED_CATEGORIES_DICT`).
const STATS_CATEGORIES: [(&str, &str); 5] = [
    ("critical_logs", "log_count/CRITICAL"),
    ("error_logs", "log_count/ERROR"),
    ("warning_logs", "log_count/WARNING"),
    ("retry_logs", "retry/count"),
    ("ignore_logs", "httperror/response_ignored_count"),
];

/// A local-time `YYYY-MM-DD HH:MM:SS` as a Unix timestamp (LogParser uses
/// `time.mktime`, the server's local time), 0 when it does not parse.
pub fn timestamp(s: &str) -> i64 {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|t| Local.from_local_datetime(&t).earliest())
        .map_or(0, |t| t.timestamp())
}

/// Python's `str(timedelta)` for whole seconds: `0:01:05`, `1 day, 2:03:04`.
pub fn runtime(first: &str, latest: &str) -> String {
    let parse = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S");
    let (Ok(a), Ok(b)) = (parse(first), parse(latest)) else {
        return NA.to_string();
    };
    let secs = (b - a).num_seconds();
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 | -1 => format!("{days} day, {hms}"),
        _ => format!("{days} days, {hms}"),
    }
}

/// `(last_update_time, last_update_timestamp)`: now, in local time like LogParser.
pub fn now() -> (String, i64) {
    let now = Local::now();
    (now.format("%Y-%m-%d %H:%M:%S").to_string(), now.timestamp())
}

/// The log's records: each starts at a line beginning with a timestamp and a level,
/// and holds its continuation lines.
fn records(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if LEVEL.is_match(line) || out.is_empty() {
            out.push((*line).to_string());
        } else if let Some(last) = out.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    out
}

/// LogParser's `parse(text)` of a whole log (see the module docs).
pub fn parse(text: &str) -> Map<String, Value> {
    let text = text.trim();
    let lines: Vec<&str> = text
        .split("\r\n")
        .flat_map(|l| l.split(['\n', '\r']))
        .collect();
    let mut d = Map::new();
    d.insert(
        "head".into(),
        json!(lines[..lines.len().min(HEAD_LINES)].join("\n")),
    );
    d.insert(
        "tail".into(),
        json!(lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")),
    );

    let timed = |l: &&&str| LINE_TIME.is_match(l);
    let first = lines.iter().find(timed).map(|l| &l[..19]);
    let latest = lines.iter().rev().find(timed).map(|l| &l[..19]);
    match (first, latest) {
        (Some(f), Some(l)) => {
            d.insert("first_log_time".into(), json!(f));
            d.insert("latest_log_time".into(), json!(l));
            d.insert("runtime".into(), json!(runtime(f, l)));
            d.insert("first_log_timestamp".into(), json!(timestamp(f)));
            d.insert("latest_log_timestamp".into(), json!(timestamp(l)));
        }
        _ => {
            for k in ["first_log_time", "latest_log_time", "runtime"] {
                d.insert(k.into(), json!(NA));
            }
            d.insert("first_log_timestamp".into(), json!(0));
            d.insert("latest_log_timestamp".into(), json!(0));
        }
    }

    let framed = format!("\n{text}\n");
    let datas: Vec<Value> = DATAS
        .captures_iter(&framed)
        .map(|c| {
            let n = |i: usize| c[i].parse::<u64>().unwrap_or(0);
            json!([&c[1], n(2), n(3), n(4), n(5)])
        })
        .collect();
    let max_of = |i: usize| datas.iter().filter_map(|r| r[i].as_u64()).max();
    let (pages, items) = (max_of(1), max_of(3));
    d.insert("datas".into(), Value::Array(datas));
    d.insert("pages".into(), json!(pages));
    d.insert("items".into(), json!(items));

    let records = records(&lines);
    let mut latest = Map::new();
    for (i, (key, pattern)) in LATEST.iter().enumerate() {
        let hit = if i < 5 {
            lines.iter().find(|l| pattern.is_match(l))
        } else {
            lines.iter().rev().find(|l| pattern.is_match(l))
        };
        latest.insert((*key).into(), json!(latest_value(key, hit.copied())));
    }
    let scrape = records.iter().rev().find_map(|r| {
        let (first, rest) = r.split_once('\n')?;
        (first.contains(": Scraped from <") && rest.starts_with('{'))
            .then(|| (first.to_string(), rest.to_string()))
    });
    let (scrape, item) = scrape.unwrap_or_default();
    latest.insert("latest_scrape".into(), json!(scrape));
    latest.insert("latest_item".into(), json!(item));
    for key in ["latest_crawl", "latest_scrape"] {
        let t = latest[key]
            .as_str()
            .and_then(|s| s.get(..19))
            .map_or(0, timestamp);
        d.insert(format!("{key}_timestamp"), json!(t));
    }
    d.insert("latest_matches".into(), Value::Object(latest));

    let mut categories = Map::new();
    for (key, pattern) in CATEGORIES.iter() {
        let details: Vec<&String> = records.iter().filter(|r| pattern.is_match(r)).collect();
        let count = if *key == "retry_logs" {
            details
                .iter()
                .filter(|r| !r.contains("Gave up retrying <"))
                .count()
        } else {
            details.len()
        };
        let kept = &details[details.len().saturating_sub(CATEGORY_DETAILS)..];
        categories.insert((*key).into(), json!({"count": count, "details": kept}));
    }
    d.insert("log_categories".into(), Value::Object(categories));

    let shutdown = lines
        .iter()
        .rev()
        .find_map(|l| SIGTERM.captures(l).map(|c| c[1].to_string()));
    d.insert(
        "shutdown_reason".into(),
        json!(shutdown.as_deref().unwrap_or(NA)),
    );
    d.insert("finish_reason".into(), json!(NA));
    d.insert("crawler_stats".into(), json!({}));
    if let Some((at, stats)) = dumped_stats(text) {
        apply_stats(&mut d, &stats, Some(at));
    }
    let (t, ts) = now();
    d.insert("last_update_time".into(), json!(t));
    d.insert("last_update_timestamp".into(), json!(ts));
    d.insert("logparser_version".into(), json!(LOGPARSER_VERSION));
    d
}

/// What `latest_matches[key]` holds for the line `hit`.
fn latest_value(key: &str, hit: Option<&str>) -> String {
    let Some(line) = hit else {
        return String::new();
    };
    let group = |p: &str, i: usize| {
        re(p)
            .captures(line)
            .and_then(|c| c.get(i).map(|m| m.as_str().to_string()))
            .unwrap_or_default()
    };
    match key {
        "scrapy_version" => group(r"Scrapy (\d+\.\d+\.\d+) started", 1),
        "telnet_console" => group(r"listening on (.+)$", 1),
        "telnet_username" => group(r#"TELNETCONSOLE_USERNAME['"]: ['"](.+?)['"]"#, 1),
        "telnet_password" => {
            let p = group(r"Telnet Password: (.+)", 1);
            if p.is_empty() {
                group(r#"TELNETCONSOLE_PASSWORD['"]: ['"](.+?)['"]"#, 1)
            } else {
                p
            }
        }
        _ => line.to_string(),
    }
}

/// Applies a job's final stats the way LogParser applies the dumped stats:
/// `finish_reason`, `pages` (`response_received_count`), `items`
/// (`item_scraped_count`), the log category counts, and `crawler_stats` (sorted, with
/// `source`, `last_update_time`; timestamps as `datetime.datetime(...)` strings).
/// `dumped_at` is the time of the dump line, when the log has one.
pub fn apply_stats(
    d: &mut Map<String, Value>,
    stats: &Map<String, Value>,
    dumped_at: Option<&str>,
) {
    if let Some(r) = stats.get("finish_reason") {
        d.insert("finish_reason".into(), r.clone());
    }
    if let Some(n) = stats.get("response_received_count") {
        d.insert("pages".into(), n.clone());
    }
    if let Some(n) = stats.get("item_scraped_count") {
        d.insert("items".into(), n.clone());
    }
    if let Some(Value::Object(cats)) = d.get_mut("log_categories") {
        let redirects: u64 = stats
            .iter()
            .filter(|(k, _)| k.starts_with("downloader/response_status_count/3"))
            .filter_map(|(_, v)| v.as_u64())
            .sum();
        let mut set = |key: &str, n: u64| {
            if let Some(Value::Object(c)) = cats.get_mut(key) {
                c.insert("count".into(), json!(n));
            }
        };
        if redirects > 0 {
            set("redirect_logs", redirects);
        }
        for (key, stat) in STATS_CATEGORIES {
            if let Some(n) = stats.get(stat).and_then(Value::as_u64).filter(|n| *n > 0) {
                set(key, n);
            }
        }
    }
    let mut crawler = Map::new();
    crawler.insert("source".into(), json!("log"));
    let (now, now_ts) = now();
    let (t, ts) = match dumped_at {
        Some(t) => (t.to_string(), timestamp(t)),
        None => (now, now_ts),
    };
    crawler.insert("last_update_time".into(), json!(t));
    crawler.insert("last_update_timestamp".into(), json!(ts));
    let mut keys: Vec<&String> = stats.keys().collect();
    keys.sort();
    for k in keys {
        let v = &stats[k.as_str()];
        let v = match v.as_str().and_then(trawl_engine::pyrepr::datetime_repr) {
            Some(dt) => json!(dt),
            None => v.clone(),
        };
        crawler.insert(k.clone(), v);
    }
    d.insert("crawler_stats".into(), Value::Object(crawler));
}

/// The `Dumping Scrapy stats:` block: its line's time and the stats, parsed the way
/// LogParser parses them (`datetime.datetime(...)` values stay strings). `None` when
/// the log has no dump, or a `Spider closed` line comes first.
pub fn dumped_stats(text: &str) -> Option<(&str, Map<String, Value>)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if !LINE_TIME.is_match(line) {
            continue;
        }
        if let Some(i) = line.find("Dumping Scrapy stats:") {
            let rest = &text[start + i..];
            let open = rest.find('{')?;
            let close = rest.rfind('}')?;
            return (open < close)
                .then(|| parse_python_dict(&rest[open..=close]))
                .flatten()
                .map(|stats| (&line[..19], stats));
        }
        if line.contains("INFO: Spider closed") {
            return None;
        }
    }
    None
}

static DATETIME_VALUE: LazyLock<Regex> = LazyLock::new(|| re(r"(datetime.datetime\(.+?\))"));
static QUOTE_IN_DOUBLE: LazyLock<Regex> = LazyLock::new(|| re(r#"(".*?)'(.*?)'(.*?")"#));
static SINGLE_QUOTED: LazyLock<Regex> = LazyLock::new(|| re(r"'(.+?)'"));
static BYTES_OR_UNICODE: LazyLock<Regex> = LazyLock::new(|| re(r#"[bu]"(.+?)""#));
static NONE_VALUE: LazyLock<Regex> = LazyLock::new(|| re(r": None([,}])"));

/// LogParser's `parse_crawler_stats`: a Python dict literal turned into JSON by the same
/// substitutions, then decoded.
fn parse_python_dict(text: &str) -> Option<Map<String, Value>> {
    let t = DATETIME_VALUE.replace_all(text, "\"$1\"");
    let t = QUOTE_IN_DOUBLE.replace_all(&t, "${1}_${2}_${3}");
    let t = SINGLE_QUOTED.replace_all(&t, "\"$1\"");
    let t = BYTES_OR_UNICODE.replace_all(&t, "\"$1\"");
    let t = NONE_VALUE.replace_all(&t, ": null$1");
    serde_json::from_str(&t).ok()
}

#[cfg(test)]
mod tests;
