//! `GET /logs/{project}/{spider}/{job}.log` and `/items/{project}/{spider}/{job}.jl`,
//! with `Range: bytes=...` support (so `trawl logs -f` can tail cheaply).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::App;

/// Whether a path segment is a safe name ([`trawl_core::names::check_name`]: `[A-Za-z0-9._-]`,
/// never `.` or `..`, so no traversal).
pub fn valid_name(s: &str) -> bool {
    trawl_core::names::check_name("name", s).is_ok()
}

/// The validated project, spider and job id ([`trawl_core::names::check_job_id`]: a
/// job id may hold spaces, never a path separator), or `None`.
fn names(project: &str, spider: &str, file: &str, ext: &str) -> Option<(String, String, String)> {
    let job = file.strip_suffix(ext)?;
    (valid_name(project) && valid_name(spider) && trawl_core::names::check_job_id(job).is_ok())
        .then(|| (project.to_string(), spider.to_string(), job.to_string()))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// A byte range request: `bytes=N-`, `bytes=N-M` or `bytes=-K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    From(u64),
    FromTo(u64, u64),
    Last(u64),
}

/// Parses a single-range `Range` header; anything else is ignored (whole body).
fn parse_range(h: &HeaderMap) -> Option<ByteRange> {
    let spec = h.get(RANGE)?.to_str().ok()?.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.trim().split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (false, true) => a.parse().ok().map(ByteRange::From),
        (false, false) => {
            let (x, y) = (a.parse().ok()?, b.parse().ok()?);
            (x <= y).then_some(ByteRange::FromTo(x, y))
        }
        (true, false) => b.parse().ok().map(ByteRange::Last),
        (true, true) => None,
    }
}

/// The body answer for `data`, honouring a `Range` header.
fn ranged(data: Bytes, headers: &HeaderMap, content_type: &'static str) -> Response {
    let len = data.len() as u64;
    let mut res = match parse_range(headers) {
        None => (StatusCode::OK, data).into_response(),
        Some(r) => {
            let (start, end) = match r {
                ByteRange::From(s) => (s, len.saturating_sub(1)),
                ByteRange::FromTo(s, e) => (s, e.min(len.saturating_sub(1))),
                ByteRange::Last(k) => (len.saturating_sub(k), len.saturating_sub(1)),
            };
            let empty_suffix = matches!(r, ByteRange::Last(0));
            if start >= len || empty_suffix {
                let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    res.headers_mut().insert(CONTENT_RANGE, v);
                }
                res
            } else {
                let part = data.slice(start as usize..=end as usize);
                let mut res = (StatusCode::PARTIAL_CONTENT, part).into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                    res.headers_mut().insert(CONTENT_RANGE, v);
                }
                res
            }
        }
    };
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    res
}

/// `GET /logs/{project}/{spider}/{job}.log`.
pub(super) async fn log(
    State(app): State<Arc<App>>,
    Path((project, spider, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(job) = file.strip_suffix(".json") {
        return crate::stats_json::job_json(app, &project, &spider, job).await;
    }
    let Some((p, s, j)) = names(&project, &spider, &file, ".log") else {
        return not_found();
    };
    match app.control.job_log(&p, &s, &j).await {
        Ok(Some(data)) => ranged(data, &headers, "text/plain; charset=utf-8"),
        Ok(None) => not_found(),
        Err(e) => app.error(e),
    }
}

/// `GET /items/{project}/{spider}/{job}.jl`.
pub(super) async fn items(
    State(app): State<Arc<App>>,
    Path((project, spider, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((p, s, j)) = names(&project, &spider, &file, ".jl") else {
        return not_found();
    };
    match app.control.job_items(&p, &s, &j).await {
        Ok(Some(data)) => ranged(data, &headers, "application/x-ndjson"),
        Ok(None) => not_found(),
        Err(e) => app.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(valid_name("proj_1-a.b"));
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a b", "é", "a%2Fb"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(names("p", "s", "j.log", ".log").is_some());
        assert!(names("p", "s", "my job.log", ".log").is_some());
        assert!(names("p", "s", "a\\b.log", ".log").is_none());
        assert!(names("p", "s", "j.jl", ".log").is_none());
        assert!(names("p", "s", ".log", ".log").is_none());
        assert!(names("..", "s", "j.log", ".log").is_none());
        assert!(names("p", "s", "../../etc/passwd.log", ".log").is_none());
    }

    fn range(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RANGE, v.parse().unwrap());
        h
    }

    async fn body(res: Response) -> Vec<u8> {
        axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn ranges() {
        let data = Bytes::from_static(b"0123456789");
        let ct = "text/plain; charset=utf-8";
        let r = ranged(data.clone(), &HeaderMap::new(), ct);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[ACCEPT_RANGES], "bytes");
        assert_eq!(body(r).await, b"0123456789");

        let r = ranged(data.clone(), &range("bytes=4-"), ct);
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.headers()[CONTENT_RANGE], "bytes 4-9/10");
        assert_eq!(body(r).await, b"456789");

        let r = ranged(data.clone(), &range("bytes=2-4"), ct);
        assert_eq!(r.headers()[CONTENT_RANGE], "bytes 2-4/10");
        assert_eq!(body(r).await, b"234");

        let r = ranged(data.clone(), &range("bytes=-3"), ct);
        assert_eq!(body(r).await, b"789");

        let r = ranged(data.clone(), &range("bytes=8-100"), ct);
        assert_eq!(body(r).await, b"89");

        let r = ranged(data.clone(), &range("bytes=10-"), ct);
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()[CONTENT_RANGE], "bytes */10");

        for ignored in [
            "bytes=abc-",
            "items=1-",
            "bytes=5-2",
            "bytes=1-2,4-5",
            "bytes=-",
        ] {
            let r = ranged(data.clone(), &range(ignored), ct);
            assert_eq!(r.status(), StatusCode::OK, "{ignored}");
        }
    }
}
