//! Request parameters as Scrapyd (Twisted) sees them: the query string merged with the
//! form body (`application/x-www-form-urlencoded` or `multipart/form-data`), query
//! values first. Values are raw bytes, so an `egg` survives both a file part and a
//! percent-encoded form field.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::CONTENT_TYPE;

use super::App;
use trawl_core::control::{ApiError, ApiResult};

/// Every parameter of a request, in arrival order (query first, then body).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, Bytes)>,
}

impl Params {
    /// Parses a query string and a body of the given content type.
    pub async fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: Bytes,
    ) -> ApiResult<Self> {
        let mut pairs = Vec::new();
        if let Some(q) = query {
            pairs.extend(parse_urlencoded(q.as_bytes()));
        }
        let mime = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match mime.as_deref() {
            Some("application/x-www-form-urlencoded") => pairs.extend(parse_urlencoded(&body)),
            Some("multipart/form-data") => {
                let ct = content_type.unwrap_or_default();
                pairs.extend(parse_multipart(ct, body).await?);
            }
            // Twisted ignores other bodies; so do we.
            _ => {}
        }
        Ok(Params { pairs })
    }

    /// Builds parameters from pairs (tests, other adapters).
    pub fn from_pairs<K: Into<String>, V: Into<Bytes>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `name` as raw bytes.
    pub fn bytes(&self, name: &str) -> Option<&Bytes> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The first value of `name` as text (invalid UTF-8 replaced).
    pub fn get(&self, name: &str) -> Option<String> {
        self.bytes(name).map(text)
    }

    /// The first value of `name`, `None` when absent or empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Every value of `name`, as text.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| text(v))
            .collect()
    }

    /// The first value of a required parameter; absent or empty gives
    /// `'<name>' parameter is required`.
    pub fn required(&self, name: &'static str) -> ApiResult<String> {
        self.opt(name).ok_or(ApiError::Missing(name))
    }

    /// The first value of a required parameter, as raw bytes.
    pub fn required_bytes(&self, name: &'static str) -> ApiResult<Bytes> {
        self.bytes(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or(ApiError::Missing(name))
    }

    /// The repeated `setting=NAME=VALUE` parameters, split at the first `=`.
    pub fn settings(&self) -> ApiResult<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for s in self.all("setting") {
            match s.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    out.insert(k.to_string(), v.to_string());
                }
                _ => {
                    return Err(ApiError::invalid(
                        "setting",
                        format!("expected NAME=VALUE, got '{s}'"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// `priority` as a finite float (0 when absent).
    pub fn priority(&self) -> ApiResult<f64> {
        match self.opt("priority") {
            None => Ok(0.0),
            Some(p) => match p.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(ApiError::invalid(
                    "priority",
                    format!("could not convert string to float: '{p}'"),
                )),
            },
        }
    }

    /// Every parameter not in `reserved`, first value each: the spider arguments.
    pub fn args(&self, reserved: &[&str]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.pairs {
            if !reserved.contains(&k.as_str()) && !out.contains_key(k) {
                out.insert(k.clone(), text(v));
            }
        }
        out
    }
}

fn text(v: &Bytes) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Decodes `a=b&c=d` at the byte level (`+` is a space, `%XX` a byte).
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, Bytes)> {
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = match p.iter().position(|&b| b == b'=') {
                Some(i) => (&p[..i], &p[i + 1..]),
                None => (p, &p[p.len()..]),
            };
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                Bytes::from(percent_decode(v)),
            )
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

async fn parse_multipart(content_type: &str, body: Bytes) -> ApiResult<Vec<(String, Bytes)>> {
    let bad = |e: multer::Error| ApiError::invalid("request body", e.to_string());
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let data = field.bytes().await.map_err(bad)?;
        out.push((name, data));
    }
    Ok(out)
}

impl FromRequest<Arc<App>> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, app.opts.max_body_bytes)
            .await
            .map_err(|e| {
                app.error(ApiError::invalid("request body", e.to_string()))
                    .into_response()
            })?;
        let ct = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        Params::parse(parts.uri.query(), ct, body)
            .await
            .map_err(|e| app.error(e).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    async fn parse(q: Option<&str>, ct: Option<&str>, body: &[u8]) -> Params {
        Params::parse(q, ct, Bytes::copy_from_slice(body))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn urlencoded_body() {
        let p = parse(
            None,
            Some(FORM),
            b"project=p1&spider=s%201&x=a+b&empty=&flag",
        )
        .await;
        assert_eq!(p.get("project").as_deref(), Some("p1"));
        assert_eq!(p.get("spider").as_deref(), Some("s 1"));
        assert_eq!(p.get("x").as_deref(), Some("a b"));
        assert_eq!(p.get("empty").as_deref(), Some(""));
        assert_eq!(p.opt("empty"), None);
        assert_eq!(p.get("flag").as_deref(), Some(""));
        assert!(matches!(
            p.required("empty"),
            Err(ApiError::Missing("empty"))
        ));
        assert_eq!(
            p.required("nope").unwrap_err().to_string(),
            "'nope' parameter is required"
        );
    }

    #[tokio::test]
    async fn urlencoded_egg_is_raw_bytes() {
        // What Python's urlencode does with a bytes value: every byte percent-encoded.
        let egg: Vec<u8> = (0u8..=255).collect();
        let enc: String = egg.iter().map(|b| format!("%{b:02X}")).collect();
        let body = format!("project=p&version=1&egg={enc}");
        let p = parse(
            None,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            body.as_bytes(),
        )
        .await;
        assert_eq!(p.required_bytes("egg").unwrap().as_ref(), &egg[..]);
    }

    #[tokio::test]
    async fn bad_percent_sequences_pass_through() {
        let p = parse(Some("a=%zz&b=%4&c=100%"), None, b"").await;
        assert_eq!(p.get("a").as_deref(), Some("%zz"));
        assert_eq!(p.get("b").as_deref(), Some("%4"));
        assert_eq!(p.get("c").as_deref(), Some("100%"));
    }

    #[tokio::test]
    async fn query_and_body_merge_query_first() {
        let p = parse(
            Some("project=fromquery&arg1=q"),
            Some(FORM),
            b"project=frombody&spider=s&arg1=b&arg2=x",
        )
        .await;
        assert_eq!(p.get("project").as_deref(), Some("fromquery"));
        assert_eq!(p.get("spider").as_deref(), Some("s"));
        assert_eq!(p.all("project"), vec!["fromquery", "frombody"]);
        let args = p.args(&["project", "spider"]);
        assert_eq!(args.len(), 2);
        assert_eq!(args["arg1"], "q");
        assert_eq!(args["arg2"], "x");
    }

    #[tokio::test]
    async fn other_bodies_are_ignored() {
        let p = parse(Some("a=1"), Some("application/json"), b"{\"b\":2}").await;
        assert_eq!(p.get("a").as_deref(), Some("1"));
        assert_eq!(p.get("b"), None);
        let p = parse(None, None, b"b=2").await;
        assert_eq!(p.get("b"), None);
    }

    fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
        let boundary = "XyZzY-boundary";
        let mut body = Vec::new();
        for (name, filename, data) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match filename {
                Some(f) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    #[tokio::test]
    async fn multipart_with_file_part() {
        let egg = b"PK\x03\x04\x00\xff\r\n--binary";
        let (ct, body) = multipart(&[
            ("project", None, b"proj"),
            ("version", None, b"1700000000"),
            ("egg", Some("proj.egg"), egg),
        ]);
        let p = parse(None, Some(&ct), &body).await;
        assert_eq!(p.get("project").as_deref(), Some("proj"));
        assert_eq!(p.get("version").as_deref(), Some("1700000000"));
        assert_eq!(p.required_bytes("egg").unwrap().as_ref(), egg);
    }

    #[tokio::test]
    async fn multipart_with_egg_as_text_field() {
        let (ct, body) = multipart(&[
            ("project", None, b"proj"),
            ("egg", None, b"{\"spiders\":[]}"),
        ]);
        let p = parse(Some("version=v1"), Some(&ct), &body).await;
        assert_eq!(p.get("version").as_deref(), Some("v1"));
        assert_eq!(p.get("egg").as_deref(), Some("{\"spiders\":[]}"));
    }

    #[tokio::test]
    async fn malformed_multipart_is_an_error() {
        let err = Params::parse(None, Some("multipart/form-data"), Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("request body is invalid: "),
            "{err}"
        );
    }

    #[tokio::test]
    async fn repeated_settings() {
        let p = parse(
            None,
            Some(FORM),
            b"setting=DOWNLOAD_DELAY=2&setting=USER_AGENT=a%3Db%3Dc&setting=EMPTY=",
        )
        .await;
        let s = p.settings().unwrap();
        assert_eq!(s["DOWNLOAD_DELAY"], "2");
        assert_eq!(s["USER_AGENT"], "a=b=c");
        assert_eq!(s["EMPTY"], "");
        let bad = Params::from_pairs([("setting", "NOEQUALS")]);
        assert_eq!(
            bad.settings().unwrap_err().to_string(),
            "setting is invalid: expected NAME=VALUE, got 'NOEQUALS'"
        );
        let bad = Params::from_pairs([("setting", "=v")]);
        assert!(bad.settings().is_err());
    }

    #[test]
    fn priority() {
        assert_eq!(Params::default().priority().unwrap(), 0.0);
        assert_eq!(
            Params::from_pairs([("priority", "1.5")])
                .priority()
                .unwrap(),
            1.5
        );
        assert_eq!(
            Params::from_pairs([("priority", "-3")]).priority().unwrap(),
            -3.0
        );
        for bad in ["abc", "nan", "inf", "1,5"] {
            let e = Params::from_pairs([("priority", bad)])
                .priority()
                .unwrap_err();
            assert!(e.to_string().starts_with("priority is invalid: "), "{e}");
        }
    }
}
