//! DefaultHeaders (400) and UserAgent (500): headers set when a request lacks them.

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction};
use crate::request::Request;
use crate::settings::SettingError;

/// Scrapy's `DefaultHeadersMiddleware`: sets each `DEFAULT_REQUEST_HEADERS` entry the
/// request does not already have.
pub struct DefaultHeadersMiddleware {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl DefaultHeadersMiddleware {
    /// `None` when DEFAULT_REQUEST_HEADERS is empty; bad names or values are an error.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        const NAME: &str = "DEFAULT_REQUEST_HEADERS";
        let map = ctx.settings.get_map(NAME)?;
        let mut headers = Vec::with_capacity(map.len());
        for (k, v) in map {
            let values: Vec<String> = match v {
                Value::Null => continue,
                Value::String(s) => vec![s],
                Value::Array(a) => a
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
                other => vec![other.to_string()],
            };
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| SettingError {
                name: NAME.into(),
                message: format!("invalid header name {k:?}: {e}"),
            })?;
            for v in values {
                let value = HeaderValue::from_str(&v).map_err(|e| SettingError {
                    name: NAME.into(),
                    message: format!("invalid value for header {k}: {e}"),
                })?;
                headers.push((name.clone(), value));
            }
        }
        Ok((!headers.is_empty()).then_some(DefaultHeadersMiddleware { headers }))
    }
}

impl DownloaderMiddleware for DefaultHeadersMiddleware {
    fn name(&self) -> &str {
        "DefaultHeadersMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        let mut i = 0;
        while i < self.headers.len() {
            let name = &self.headers[i].0;
            let end = i + self.headers[i..]
                .iter()
                .take_while(|(n, _)| n == name)
                .count();
            if !request.headers.contains_key(name) {
                for (n, v) in &self.headers[i..end] {
                    request.headers.append(n.clone(), v.clone());
                }
            }
            i = end;
        }
        Box::pin(std::future::ready(RequestAction::Continue))
    }
}

/// Scrapy's `UserAgentMiddleware`: `User-Agent: USER_AGENT` unless the request has one.
pub struct UserAgentMiddleware {
    ua: HeaderValue,
}

impl UserAgentMiddleware {
    /// `None` when USER_AGENT is empty or not a valid header value.
    pub fn from_context(ctx: &MiddlewareContext) -> Option<Self> {
        let ua = ctx.settings.get_str("USER_AGENT");
        if ua.trim().is_empty() {
            return None;
        }
        match HeaderValue::from_str(ua.trim()) {
            Ok(ua) => Some(UserAgentMiddleware { ua }),
            Err(_) => {
                tracing::warn!(%ua, "USER_AGENT is not a valid header value; not sending it");
                None
            }
        }
    }
}

impl DownloaderMiddleware for UserAgentMiddleware {
    fn name(&self) -> &str {
        "UserAgentMiddleware"
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        if !request.headers.contains_key(http::header::USER_AGENT) {
            request
                .headers
                .insert(http::header::USER_AGENT, self.ua.clone());
        }
        Box::pin(std::future::ready(RequestAction::Continue))
    }
}
