//! [`ScrapydClient`]: the Scrapyd HTTP API over reqwest, with Trawl's extensions
//! (schedules, ranged log reads).

use std::error::Error as _;

use bytes::Bytes;
use reqwest::{header, RequestBuilder, StatusCode};
use serde_json::Value;
use url::Url;

use super::ServerOpts;

/// Why a request failed; the `Display` text is what the user sees after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered `status: error`.
    #[error("{0}")]
    Api(String),
    /// HTTP 401.
    #[error(
        "{url} answered 401 Unauthorized: pass --username and --password \
         (or set TRAWL_USERNAME and TRAWL_PASSWORD)"
    )]
    Unauthorized {
        /// The URL tried.
        url: String,
    },
    /// Nothing listens there.
    #[error(
        "cannot connect to {url}: {reason}\nhint: is a server running there? start one with \
         `trawl serve`, or point --url (TRAWL_URL) at another"
    )]
    Connect {
        /// The URL tried.
        url: String,
        /// The lowest-level cause.
        reason: String,
    },
    /// Any other non-success HTTP status.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The URL tried.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A 2xx answer that is not a JSON object.
    #[error("{url} did not answer JSON: {body}")]
    NotJson {
        /// The URL tried.
        url: String,
        /// The start of the body.
        body: String,
    },
    /// Another transport error (timeout, TLS, bad URL…).
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The URL tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// One read of a job log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRead {
    /// 206: the bytes from `start` on.
    Partial {
        /// Offset of the first byte (from `Content-Range`).
        start: u64,
        /// The bytes.
        bytes: Bytes,
    },
    /// 200: the whole log (the server ignored `Range`, or none was sent).
    Full(Bytes),
    /// 416: nothing past the offset yet.
    NothingNew,
    /// 404: no log (yet).
    Missing,
}

/// A client for one Scrapyd-compatible server.
#[derive(Debug, Clone)]
pub struct ScrapydClient {
    http: reqwest::Client,
    base: Url,
    auth: Option<(String, Option<String>)>,
}

impl ScrapydClient {
    /// A client for `opts.url` with optional Basic auth.
    pub fn new(opts: &ServerOpts) -> anyhow::Result<Self> {
        let text = if opts.url.contains("://") {
            opts.url.clone()
        } else {
            format!("http://{}", opts.url)
        };
        let mut base =
            Url::parse(&text).map_err(|e| anyhow::anyhow!("invalid --url {:?}: {e}", opts.url))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("invalid --url {:?}: expected http:// or https://", opts.url);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("trawl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let auth = match (&opts.username, &opts.password) {
            (Some(u), p) => Some((u.clone(), p.clone())),
            (None, Some(p)) => Some((String::new(), Some(p.clone()))),
            (None, None) => None,
        };
        Ok(ScrapydClient { http, base, auth })
    }

    /// The URL of an endpoint such as `listjobs.json`.
    pub fn endpoint(&self, name: &str) -> Url {
        self.base
            .join(name)
            .expect("endpoint names are relative paths")
    }

    /// The URL of a job log: `logs/{project}/{spider}/{job}.log` under the base.
    pub fn log_url(&self, project: &str, spider: &str, job: &str) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have paths")
            .pop_if_empty()
            .extend(["logs", project, spider, &format!("{job}.log")]);
        url
    }

    fn with_auth(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Some((u, p)) => req.basic_auth(u, p.as_ref()),
            None => req,
        }
    }

    /// GET an endpoint with query parameters; gives the `status: ok` answer.
    pub async fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value, ClientError> {
        let url = self.endpoint(endpoint);
        let req = self.with_auth(self.http.get(url.clone()).query(query));
        self.json(url, req).await
    }

    /// POST a urlencoded form (keys may repeat); gives the `status: ok` answer.
    pub async fn post(
        &self,
        endpoint: &str,
        form: &[(String, String)],
    ) -> Result<Value, ClientError> {
        let url = self.endpoint(endpoint);
        let req = self.with_auth(self.http.post(url.clone()).form(form));
        self.json(url, req).await
    }

    /// POST a multipart form; gives the `status: ok` answer.
    pub async fn post_multipart(
        &self,
        endpoint: &str,
        form: reqwest::multipart::Form,
    ) -> Result<Value, ClientError> {
        let url = self.endpoint(endpoint);
        let req = self.with_auth(self.http.post(url.clone()).multipart(form));
        self.json(url, req).await
    }

    /// Reads a job log from `offset` (`Range: bytes=offset-` when offset > 0).
    pub async fn read_log(&self, url: &Url, offset: u64) -> Result<LogRead, ClientError> {
        let mut req = self.with_auth(self.http.get(url.clone()));
        if offset > 0 {
            req = req.header(header::RANGE, format!("bytes={offset}-"));
        }
        let resp = self.send(url, req).await?;
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let start = resp
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start)
                    .unwrap_or(offset);
                let bytes = self.body(url, resp).await?;
                Ok(LogRead::Partial { start, bytes })
            }
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(LogRead::NothingNew),
            StatusCode::NOT_FOUND => Ok(LogRead::Missing),
            s if s.is_success() => Ok(LogRead::Full(self.body(url, resp).await?)),
            _ => Err(self.http_error(url, resp).await),
        }
    }

    async fn send(&self, url: &Url, req: RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let resp = req.send().await.map_err(|e| transport_error(url, &e))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized {
                url: url.to_string(),
            });
        }
        Ok(resp)
    }

    async fn body(&self, url: &Url, resp: reqwest::Response) -> Result<Bytes, ClientError> {
        resp.bytes().await.map_err(|e| transport_error(url, &e))
    }

    async fn http_error(&self, url: &Url, resp: reqwest::Response) -> ClientError {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        ClientError::Http {
            url: url.to_string(),
            status,
            body: snippet(&body),
        }
    }

    async fn json(&self, url: Url, req: RequestBuilder) -> Result<Value, ClientError> {
        let resp = self.send(&url, req).await?;
        if !resp.status().is_success() {
            return Err(self.http_error(&url, resp).await);
        }
        let body = self.body(&url, resp).await?;
        check_answer(&url, &body)
    }
}

/// Parses an answer body: a JSON object whose `status` is not `error`.
pub fn check_answer(url: &Url, body: &[u8]) -> Result<Value, ClientError> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(ClientError::NotJson {
                url: url.to_string(),
                body: snippet(body),
            })
        }
    };
    if value.get("status").and_then(Value::as_str) == Some("error") {
        let message = match value.get("message") {
            Some(Value::String(m)) => m.clone(),
            Some(other) => other.to_string(),
            None => "the server reported an error without a message".to_string(),
        };
        return Err(ClientError::Api(message));
    }
    Ok(value)
}

/// The first byte offset of a `Content-Range: bytes START-END/TOTAL` header.
pub fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

fn transport_error(url: &Url, e: &reqwest::Error) -> ClientError {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        ClientError::Connect {
            url: url.to_string(),
            reason,
        }
    } else {
        ClientError::Transport {
            url: url.to_string(),
            reason,
        }
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None if text.is_empty() => "(empty body)".to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> ScrapydClient {
        ScrapydClient::new(&ServerOpts {
            url: url.into(),
            username: None,
            password: None,
            json: false,
        })
        .unwrap()
    }

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let c = client("http://host:6800");
        assert_eq!(
            c.endpoint("listjobs.json").as_str(),
            "http://host:6800/listjobs.json"
        );
        let c = client("https://proxy/scrapyd");
        assert_eq!(
            c.endpoint("schedule.json").as_str(),
            "https://proxy/scrapyd/schedule.json"
        );
        let c = client("localhost:7000");
        assert_eq!(c.endpoint("").as_str(), "http://localhost:7000/");
        assert!(ScrapydClient::new(&ServerOpts {
            url: "ftp://x".into(),
            username: None,
            password: None,
            json: false,
        })
        .is_err());
    }

    #[test]
    fn log_urls_escape_segments() {
        let c = client("http://h/base/");
        assert_eq!(
            c.log_url("p", "my spider", "j1").as_str(),
            "http://h/base/logs/p/my%20spider/j1.log"
        );
    }

    #[test]
    fn answers() {
        let url = Url::parse("http://h/x.json").unwrap();
        let ok = check_answer(&url, br#"{"status":"ok","jobid":"1"}"#).unwrap();
        assert_eq!(ok["jobid"], "1");
        match check_answer(
            &url,
            br#"{"status":"error","message":"project 'p' not found"}"#,
        ) {
            Err(ClientError::Api(m)) => assert_eq!(m, "project 'p' not found"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check_answer(&url, b"<html>"),
            Err(ClientError::NotJson { .. })
        ));
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(content_range_start("items 1-2"), None);
    }

    #[tokio::test]
    async fn refused_connections_name_the_url() {
        // Bind then drop a listener: the port is closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = client(&format!("http://127.0.0.1:{port}"));
        let err = c.get("daemonstatus.json", &[]).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ClientError::Connect { .. }), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}/daemonstatus.json")));
        assert!(text.contains("trawl serve"));
    }
}
