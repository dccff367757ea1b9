//! Directory listings of job logs and items, as Scrapyd serves them (Twisted's
//! `static.File` listing plus Scrapyd's "Last modified" column): `/logs/`,
//! `/logs/{project}/`, `/logs/{project}/{spider}/`, and the same under `/items/`. A
//! folder asked for without its trailing slash redirects to it, so the listing's
//! relative links resolve.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::header::LOCATION;
use http::{HeaderValue, StatusCode, Uri};
use trawl_core::jobfiles::JobFiles;
use trawl_core::ports::BlobEntry;

use super::endpoints::encode_segment;
use super::pages::escape;
use super::App;

/// `GET /logs/`.
pub(super) async fn logs(State(app): State<Arc<App>>, uri: Uri) -> Response {
    listing(&app, JobFiles::Logs, None, None, &uri).await
}

/// `GET /logs/{project}/`.
pub(super) async fn logs_project(
    State(app): State<Arc<App>>,
    Path(project): Path<String>,
    uri: Uri,
) -> Response {
    listing(&app, JobFiles::Logs, Some(&project), None, &uri).await
}

/// `GET /logs/{project}/{spider}/`.
pub(super) async fn logs_spider(
    State(app): State<Arc<App>>,
    Path((project, spider)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    listing(&app, JobFiles::Logs, Some(&project), Some(&spider), &uri).await
}

/// `GET /items/`.
pub(super) async fn items(State(app): State<Arc<App>>, uri: Uri) -> Response {
    listing(&app, JobFiles::Items, None, None, &uri).await
}

/// `GET /items/{project}/`.
pub(super) async fn items_project(
    State(app): State<Arc<App>>,
    Path(project): Path<String>,
    uri: Uri,
) -> Response {
    listing(&app, JobFiles::Items, Some(&project), None, &uri).await
}

/// `GET /items/{project}/{spider}/`.
pub(super) async fn items_spider(
    State(app): State<Arc<App>>,
    Path((project, spider)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    listing(&app, JobFiles::Items, Some(&project), Some(&spider), &uri).await
}

/// `GET /logs`, `/logs/{project}`, ...: 302 to the folder (`logs/`, relative, so it
/// works under any prefix), as Twisted answers for a directory without its slash.
pub(super) async fn add_slash(uri: Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{last}/")) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

async fn listing(
    app: &App,
    kind: JobFiles,
    project: Option<&str>,
    spider: Option<&str>,
    uri: &Uri,
) -> Response {
    match app.control.list_job_files(kind, project, spider).await {
        Ok(Some(entries)) => {
            // A spider's folder lists the jobs' files; nothing else is served from it.
            let entries: Vec<BlobEntry> = entries
                .into_iter()
                .filter(|e| spider.is_none() || e.name.ends_with(kind.extension()))
                .collect();
            Html(render(uri.path(), kind, &entries)).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        Err(e) => app.error(e),
    }
}

const STYLE: &str = ".even-dir { background-color: #efe0ef }
.even { background-color: #eee }
.odd-dir {background-color: #f0d0ef }
.odd { background-color: #dedede }
.icon { text-align: center }
.listing {
    margin-left: auto;
    margin-right: auto;
    width: 50%;
    padding: 0.1em;
    }

body { border: 0; padding: 0; margin: 0; background-color: #efefef; }
h1 {padding: 0.1em; background-color: #777; color: white; border-bottom: thin white dashed;}
";

/// Twisted's `formatFileSize`: `512B`, `3K`, `12M`, `1G`.
fn file_size(size: u64) -> String {
    const K: u64 = 1024;
    match size {
        s if s < K => format!("{s}B"),
        s if s < K * K => format!("{}K", s / K),
        s if s < K * K * K => format!("{}M", s / (K * K)),
        s => format!("{}G", s / (K * K * K)),
    }
}

/// The listing page: folders first, then files, rows alternating `odd`/`even`.
fn render(path: &str, kind: JobFiles, entries: &[BlobEntry]) -> String {
    let header = format!("Directory listing for {}", escape(path));
    let content_type = match kind {
        JobFiles::Logs => "[text/plain]",
        JobFiles::Items => "[application/x-ndjson]",
    };
    let (folders, files): (Vec<&BlobEntry>, Vec<&BlobEntry>) =
        entries.iter().partition(|e| e.is_folder());
    let mut rows = String::new();
    for (i, e) in folders.iter().chain(files.iter()).enumerate() {
        let class = if i % 2 == 0 { "odd" } else { "even" };
        let slash = if e.is_folder() { "/" } else { "" };
        let modified = e
            .modified
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let (size, ty) = match e.size {
            Some(n) => (file_size(n), content_type),
            None => (String::new(), "[Directory]"),
        };
        let _ = write!(
            rows,
            "<tr class=\"{class}\">\n    <td><a href=\"{href}{slash}\">{text}{slash}</a></td>\n    \
             <td>{size}</td>\n    <td>{modified}</td>\n    <td>{ty}</td>\n    <td></td>\n</tr>\n",
            href = encode_segment(&e.name),
            text = escape(&e.name),
        );
    }
    format!(
        "<html>\n<head>\n<title>{header}</title>\n<style>\n{STYLE}\n</style>\n</head>\n\n\
         <body>\n<h1>{header}</h1>\n\n<table>\n    <thead>\n        <tr>\n            \
         <th>Filename</th>\n            <th>Size</th>\n            <th>Last modified</th>\n            \
         <th>Content type</th>\n            <th>Content encoding</th>\n        </tr>\n    \
         </thead>\n    <tbody>\n{rows}    </tbody>\n</table>\n\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn sizes_as_twisted_formats_them() {
        assert_eq!(file_size(0), "0B");
        assert_eq!(file_size(1023), "1023B");
        assert_eq!(file_size(1024), "1K");
        assert_eq!(file_size(5 * 1024 * 1024 + 1), "5M");
        assert_eq!(file_size(3 << 30), "3G");
    }

    #[test]
    fn folders_first_then_files_with_escaped_names() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 59).unwrap();
        let entries = [
            BlobEntry {
                name: "a b.log".into(),
                size: Some(2048),
                modified: Some(t),
            },
            BlobEntry {
                name: "<shop>".into(),
                size: None,
                modified: Some(t),
            },
        ];
        let html = render("/logs/p/", JobFiles::Logs, &entries);
        assert!(html.contains("<title>Directory listing for /logs/p/</title>"));
        assert!(html.contains("<th>Last modified</th>"));
        let folder = html.find("&lt;shop&gt;/</a>").unwrap();
        let file = html.find(">a b.log</a>").unwrap();
        assert!(folder < file, "folders first");
        assert!(html.contains(
            "<tr class=\"odd\">\n    <td><a href=\"%3Cshop%3E/\">&lt;shop&gt;/</a></td>\n    \
             <td></td>\n    <td>2026-03-01 12:30</td>\n    <td>[Directory]</td>"
        ));
        assert!(html.contains(
            "<tr class=\"even\">\n    <td><a href=\"a%20b.log\">a b.log</a></td>\n    \
             <td>2K</td>\n    <td>2026-03-01 12:30</td>\n    <td>[text/plain]</td>"
        ));
    }
}
