//! `trawl jobs [PROJECT]`: pending, running and finished jobs as a table.

use std::process::ExitCode;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::api::ScrapydClient;
use super::{cell, print_json, table, ServerOpts};

/// `trawl jobs` arguments.
#[derive(clap::Args, Debug)]
pub struct JobsArgs {
    /// Only this project's jobs (default: all projects).
    pub project: Option<String>,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl jobs`.
pub async fn run(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(&args.server)?;
    let query: Vec<(&str, &str)> = args
        .project
        .as_deref()
        .map(|p| ("project", p))
        .into_iter()
        .collect();
    let answer = client.get("listjobs.json", &query).await?;
    if args.server.json {
        print_json(&answer);
    } else {
        print!("{}", jobs_table(&answer, args.project.is_none()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `listjobs.json` answer as a table: pending, then running, then finished.
/// The finish-reason and items columns appear only when some job has them.
pub fn jobs_table(answer: &Value, with_project: bool) -> String {
    let mut jobs: Vec<(&str, &Value)> = Vec::new();
    for state in ["pending", "running", "finished"] {
        if let Some(list) = answer.get(state).and_then(Value::as_array) {
            jobs.extend(list.iter().map(|j| (state, j)));
        }
    }
    let has = |f: fn(&Value) -> Option<&Value>| jobs.iter().any(|(_, j)| f(j).is_some());
    let with_reason = has(finish_reason);
    let with_items = has(items);
    let mut headers = vec!["ID"];
    if with_project {
        headers.push("PROJECT");
    }
    headers.extend(["SPIDER", "STATE", "START", "END", "RUNTIME"]);
    if with_reason {
        headers.push("FINISH REASON");
    }
    if with_items {
        headers.push("ITEMS");
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|(state, j)| {
            let start = j.get("start_time").and_then(Value::as_str);
            let end = j.get("end_time").and_then(Value::as_str);
            let mut row = vec![cell(j.get("id"))];
            if with_project {
                row.push(cell(j.get("project")));
            }
            row.extend([
                cell(j.get("spider")),
                state.to_string(),
                start.map_or("-".into(), short_time),
                end.map_or("-".into(), short_time),
                match (start, end) {
                    (Some(s), Some(e)) => runtime(s, e).unwrap_or_else(|| "-".into()),
                    _ => "-".into(),
                },
            ]);
            if with_reason {
                row.push(cell(finish_reason(j)));
            }
            if with_items {
                row.push(cell(items(j)));
            }
            row
        })
        .collect();
    table::render(&headers, &rows)
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn finish_reason(job: &Value) -> Option<&Value> {
    present(job.get("finish_reason"))
        .or_else(|| present(job.get("outcome").and_then(|o| o.get("finish_reason"))))
}

fn items(job: &Value) -> Option<&Value> {
    present(job.get("items_scraped"))
        .or_else(|| present(job.get("items")).filter(|v| v.is_number()))
        .or_else(|| present(job.get("item_scraped_count")))
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .map(|d| d.naive_utc())
        })
}

/// A listjobs time without its fraction of a second.
pub fn short_time(s: &str) -> String {
    match parse_time(s) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => s.to_string(),
    }
}

/// `H:MM:SS` between two listjobs times.
pub fn runtime(start: &str, end: &str) -> Option<String> {
    let secs = (parse_time(end)? - parse_time(start)?).num_seconds().max(0);
    Some(format!(
        "{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times() {
        assert_eq!(
            short_time("2024-01-02 03:04:05.123456"),
            "2024-01-02 03:04:05"
        );
        assert_eq!(short_time("garbage"), "garbage");
        assert_eq!(
            runtime("2024-01-02 03:04:05.5", "2024-01-02 04:06:07.9").as_deref(),
            Some("1:02:02")
        );
        assert_eq!(runtime("x", "2024-01-02 03:04:05"), None);
    }

    #[test]
    fn table_has_optional_columns() {
        let answer = json!({
            "status": "ok",
            "pending": [{"id": "j3", "project": "p", "spider": "s"}],
            "running": [{"id": "j2", "project": "p", "spider": "s",
                         "start_time": "2024-01-02 03:04:05.000001"}],
            "finished": [{"id": "j1", "project": "p", "spider": "s",
                          "start_time": "2024-01-02 03:04:05.0",
                          "end_time": "2024-01-02 03:05:06.0",
                          "finish_reason": "finished", "items_scraped": 50}],
        });
        let t = jobs_table(&answer, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].contains("FINISH REASON") && lines[0].contains("ITEMS"));
        assert!(!lines[0].contains("PROJECT"));
        assert!(lines[1].starts_with("j3") && lines[1].contains("pending"));
        assert!(lines[2].contains("running") && lines[2].contains("2024-01-02 03:04:05"));
        assert!(
            lines[3].contains("0:01:01")
                && lines[3]
                    .split_whitespace()
                    .rev()
                    .take(2)
                    .eq(["50", "finished"])
        );

        let scrapyd = json!({"status": "ok", "pending": [], "running": [],
            "finished": [{"id": "j1", "project": "p", "spider": "s"}]});
        let t = jobs_table(&scrapyd, true);
        assert!(t.starts_with("ID  PROJECT"), "{t}");
        assert!(!t.contains("ITEMS") && !t.contains("FINISH"));
    }
}
