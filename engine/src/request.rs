//! Requests: what spiders yield and the scheduler queues.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// The callback a request's response goes to when none is named.
pub const DEFAULT_CALLBACK: &str = "parse";

/// An HTTP request, as Scrapy's `Request`.
///
/// `meta` carries per-request flags that middlewares read (`dont_redirect`,
/// `dont_retry`, `handle_httpstatus_list`, `proxy`, `download_timeout`, ...) and keeps
/// them serialisable so a scheduler's state can be persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Absolute URL.
    pub url: Url,
    /// HTTP method.
    #[serde(with = "method_serde")]
    pub method: Method,
    /// Request headers.
    #[serde(with = "headers_serde", default)]
    pub headers: HeaderMap,
    /// Request body.
    #[serde(default, with = "body_serde")]
    pub body: Bytes,
    /// Free-form metadata shared with middlewares.
    #[serde(default)]
    pub meta: Map<String, Value>,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Skip the duplicate filter.
    #[serde(default)]
    pub dont_filter: bool,
    /// Name of the spider callback that receives the response (`parse` when `None`).
    #[serde(default)]
    pub callback: Option<String>,
    /// Name of the spider callback that receives download errors.
    #[serde(default)]
    pub errback: Option<String>,
    /// Keyword arguments passed to the callback.
    #[serde(default)]
    pub cb_kwargs: Map<String, Value>,
    /// Link depth from the start requests (Scrapy keeps it in `meta["depth"]`).
    #[serde(default)]
    pub depth: u32,
}

impl Request {
    /// A GET request for `url`.
    pub fn get(url: Url) -> Self {
        Request {
            url,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            meta: Map::new(),
            priority: 0,
            dont_filter: false,
            callback: None,
            errback: None,
            cb_kwargs: Map::new(),
            depth: 0,
        }
    }

    /// Parses `url` and builds a GET request; errors name the bad URL.
    pub fn parse(url: &str) -> Result<Self, url::ParseError> {
        Ok(Self::get(Url::parse(url)?))
    }

    /// Sets the callback name.
    pub fn callback(mut self, name: impl Into<String>) -> Self {
        self.callback = Some(name.into());
        self
    }

    /// Sets the errback name.
    pub fn errback(mut self, name: impl Into<String>) -> Self {
        self.errback = Some(name.into());
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Sets `dont_filter`.
    pub fn dont_filter(mut self, yes: bool) -> Self {
        self.dont_filter = yes;
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a header; invalid names or values are ignored with a warning.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => tracing::warn!(name, "ignoring invalid header"),
        }
        self
    }

    /// Sets a meta key.
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.meta.insert(key.to_string(), value.into());
        self
    }

    /// Sets a callback keyword argument.
    pub fn cb_kwarg(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.cb_kwargs.insert(key.to_string(), value.into());
        self
    }

    /// The callback name, `parse` when none is set.
    pub fn callback_name(&self) -> &str {
        self.callback.as_deref().unwrap_or(DEFAULT_CALLBACK)
    }

    /// A boolean meta flag (`false` when absent).
    pub fn meta_flag(&self, key: &str) -> bool {
        self.meta.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// An integer meta value.
    pub fn meta_u64(&self, key: &str) -> Option<u64> {
        self.meta.get(key).and_then(Value::as_u64)
    }

    /// A string meta value.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(Value::as_str)
    }

    /// The host part used for per-domain slots (`""` for `file:` URLs).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
}

mod method_serde {
    use http::Method;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Method, D::Error> {
        let s = String::deserialize(d)?;
        Method::from_bytes(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// Serde for [`HeaderMap`] as a list of `[name, value]` pairs (values as lossy UTF-8).
pub mod headers_serde {
    use http::{HeaderMap, HeaderName, HeaderValue};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises headers as `[[name, value], ...]`.
    pub fn serialize<S: Serializer>(h: &HeaderMap, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            h.iter()
                .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v.as_bytes()))),
        )
    }

    /// Reads headers written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HeaderMap, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(d)?;
        let mut h = HeaderMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(serde::de::Error::custom)?;
            let value = HeaderValue::from_str(&v).map_err(serde::de::Error::custom)?;
            h.append(name, value);
        }
        Ok(h)
    }
}

mod body_serde {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(Bytes::from(Vec::<u8>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_through_json() {
        let r = Request::parse("http://example.com/a?b=1")
            .unwrap()
            .callback("item")
            .header("X-Test", "yes")
            .meta("k", 3)
            .body("payload")
            .method(Method::POST)
            .priority(5);
        let json = serde_json::to_string(&r).unwrap();
        let back: Request = serde_json::from_str(&json).unwrap();
        assert_eq!(back.url, r.url);
        assert_eq!(back.method, Method::POST);
        assert_eq!(back.headers["x-test"], "yes");
        assert_eq!(back.body, Bytes::from_static(b"payload"));
        assert_eq!(back.callback_name(), "item");
        assert_eq!(back.priority, 5);
        assert_eq!(back.meta_u64("k"), Some(3));
    }
}
