//! Responses: what the downloader returns and callbacks receive.

use std::sync::OnceLock;

use bytes::Bytes;
use http::HeaderMap;
use url::Url;

use crate::request::Request;

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
