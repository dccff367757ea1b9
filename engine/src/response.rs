//! Responses: what the downloader returns and callbacks receive.

use std::sync::OnceLock;

use bytes::Bytes;
use http::HeaderMap;
use url::Url;

use crate::request::Request;

/// Extensions of files that are binary whatever a server calls them (archives, images,
/// audio and video, fonts, office documents, executables).
const BINARY_EXTENSIONS: &[&str] = &[
    "gz", "tgz", "zip", "tar", "bz2", "xz", "7z", "rar", "zst", "pdf", "png", "jpg", "jpeg", "gif",
    "webp", "ico", "bmp", "tif", "tiff", "avif", "mp3", "mp4", "m4a", "avi", "mov", "mkv", "wav",
    "ogg", "webm", "flac", "exe", "bin", "dmg", "iso", "msi", "woff", "woff2", "ttf", "otf", "eot",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "apk", "jar", "deb", "rpm", "whl",
    "egg",
];

/// An HTTP response, as Scrapy's `Response`, with its request attached.
#[derive(Debug)]
pub struct Response {
    /// Final URL (after the downloader; redirects are followed by middleware).
    pub url: Url,
    /// HTTP status code (200 for `file:` URLs).
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body (already decompressed).
    pub body: Bytes,
    /// The request that produced this response.
    pub request: Request,
    /// Flags such as `cached` or `redirected`.
    pub flags: Vec<String>,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: &'static str,
    /// Time from sending the request to the end of the body (AutoThrottle reads it).
    pub download_latency: std::time::Duration,
    text: OnceLock<(String, &'static str)>,
}

impl Clone for Response {
    fn clone(&self) -> Self {
        Response {
            url: self.url.clone(),
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            request: self.request.clone(),
            flags: self.flags.clone(),
            protocol: self.protocol,
            download_latency: self.download_latency,
            text: OnceLock::new(),
        }
    }
}

impl Response {
    /// Builds a response for `request`.
    pub fn new(request: Request, url: Url, status: u16, headers: HeaderMap, body: Bytes) -> Self {
        Response {
            url,
            status,
            headers,
            body,
            request,
            flags: Vec::new(),
            protocol: "HTTP/1.1",
            download_latency: std::time::Duration::ZERO,
            text: OnceLock::new(),
        }
    }

    /// A header value as a string, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether Scrapy would make this an `HtmlResponse` (its `responsetypes`): by the
    /// `Content-Type` (`text/html`, XHTML); when that says nothing (absent, or a generic
    /// binary type), by the URL's extension; then by the body (no binary control bytes
    /// in its first 5,000, and `<html>` in them). CrawlSpider rules follow links only
    /// from HTML responses.
    pub fn is_html(&self) -> bool {
        let mime = self.mime();
        match mime.as_str() {
            "text/html" | "application/xhtml+xml" | "application/vnd.wap.xhtml+xml" => return true,
            "" | "application/octet-stream" | "binary/octet-stream" | "application/unknown" => {}
            _ => return false,
        }
        let path = self.url.path().to_ascii_lowercase();
        if path.ends_with(".html") || path.ends_with(".htm") || path.ends_with(".xhtml") {
            return true;
        }
        let chunk = &self.body[..self.body.len().min(5000)];
        let binary = chunk
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c));
        !binary && chunk.windows(6).any(|w| w.eq_ignore_ascii_case(b"<html>"))
    }

    /// Whether Scrapy would make this a `TextResponse` (HTML, XML, JSON, plain text...)
    /// rather than a binary `Response`, which has no text and no selectors: by the
    /// `Content-Type`; when that says nothing (absent, or a generic binary type), by
    /// the URL's extension; then by the body (no binary control bytes in its first
    /// 5,000).
    pub fn is_text(&self) -> bool {
        let mime = self.mime();
        match mime.as_str() {
            "" | "application/octet-stream" | "binary/octet-stream" | "application/unknown" => {}
            m if m.starts_with("text/")
                || m.ends_with("+xml")
                || m.ends_with("+json")
                || matches!(
                    m,
                    "application/json"
                        | "application/x-json"
                        | "application/xml"
                        | "application/javascript"
                        | "application/x-javascript"
                        | "application/ecmascript"
                ) =>
            {
                return true
            }
            _ => return false,
        }
        let path = self.url.path().to_ascii_lowercase();
        if let Some((_, ext)) = path.rsplit_once('.') {
            if BINARY_EXTENSIONS.contains(&ext) {
                return false;
            }
        }
        let chunk = &self.body[..self.body.len().min(5000)];
        !chunk
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
    }

    /// The media type of the `Content-Type` header, lowercased ("" when absent).
    pub fn mime(&self) -> String {
        self.header("content-type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    }

    /// The body decoded to text: charset from the `Content-Type` header, then a BOM or a
    /// `<meta charset>`, then UTF-8.
    pub fn text(&self) -> &str {
        &self.decoded().0
    }

    /// The name of the encoding [`Response::text`] used.
    pub fn encoding(&self) -> &'static str {
        self.decoded().1
    }

    fn decoded(&self) -> &(String, &'static str) {
        self.text.get_or_init(|| {
            let (text, enc) = crate::encoding::decode_html(&self.body, self.header("content-type"));
            (text.into_owned(), enc.name())
        })
    }

    /// Resolves `href` against the response URL (a `<base href>` is honoured by the
    /// selector helpers that see the document).
    pub fn urljoin(&self, href: &str) -> Option<Url> {
        self.url.join(href.trim()).ok()
    }

    /// A request for `href` resolved against this response, one level deeper.
    pub fn follow(&self, href: &str) -> Option<Request> {
        let url = self.urljoin(href)?;
        if !matches!(url.scheme(), "http" | "https" | "file") {
            return None;
        }
        let mut req = Request::get(url);
        req.depth = self.request.depth + 1;
        Some(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(url: &str, content_type: Option<&str>, body: &'static [u8]) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert("content-type", ct.parse().unwrap());
        }
        let url = Url::parse(url).unwrap();
        Response::new(
            Request::get(url.clone()),
            url,
            200,
            headers,
            Bytes::from_static(body),
        )
    }

    #[test]
    fn html_as_scrapy_tells_it() {
        let page = b"<!DOCTYPE html><html><body><a href='/x'>x</a></body></html>";
        for (url, ct, body, html) in [
            (
                "http://h/a",
                Some("text/html; charset=utf-8"),
                &b"anything"[..],
                true,
            ),
            ("http://h/a", Some("application/xhtml+xml"), b"", true),
            ("http://h/a.html", Some("text/plain"), page, false),
            ("http://h/a", Some("application/json"), page, false),
            ("http://h/a", Some("text/xml"), page, false),
            ("http://h/a.html", None, b"plain", true),
            (
                "http://h/a.html",
                Some("application/octet-stream"),
                b"",
                true,
            ),
            ("http://h/a", None, page, true),
            (
                "http://h/a",
                None,
                b"just text, <b>no</b> html element",
                false,
            ),
            ("http://h/a.gz", None, b"\x1f\x8b\x08\x00<html>", false),
        ] {
            assert_eq!(response(url, ct, body).is_html(), html, "{url} {ct:?}");
        }
    }
}
