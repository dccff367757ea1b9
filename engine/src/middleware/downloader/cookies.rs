//! Cookies (700): cookie jars fed by `Set-Cookie` and sent back on matching requests.

use std::collections::HashMap;

use cookie_store::CookieStore;
use futures::future::BoxFuture;
use http::{header, HeaderValue};
use parking_lot::Mutex;
use serde_json::Value;

use crate::middleware::{DownloaderMiddleware, MiddlewareContext, RequestAction, ResponseAction};
use crate::request::Request;
use crate::response::Response;
use crate::settings::SettingError;

/// Scrapy's `CookiesMiddleware`: one jar per `meta["cookiejar"]` value (one shared jar
/// when absent). `Set-Cookie` headers of every response (redirects included: this
/// middleware sees responses before the redirect middleware) go into the jar, and the
/// jar's cookies for a request's URL are sent in its `Cookie` header, merged with any
/// cookies the request already carries (the jar wins on a name clash).
///
/// Settings: COOKIES_ENABLED, COOKIES_DEBUG (logs sent and received cookies). Meta
/// `dont_merge_cookies` bypasses it in both directions.
pub struct CookiesMiddleware {
    jars: Mutex<HashMap<String, CookieStore>>,
    debug: bool,
}

impl CookiesMiddleware {
    /// `None` when COOKIES_ENABLED is false.
    pub fn from_context(ctx: &MiddlewareContext) -> Result<Option<Self>, SettingError> {
        if !ctx.settings.get_bool("COOKIES_ENABLED")? {
            return Ok(None);
        }
        Ok(Some(CookiesMiddleware {
            jars: Mutex::new(HashMap::new()),
            debug: ctx.settings.get_bool("COOKIES_DEBUG")?,
        }))
    }
}

fn jar_key(request: &Request) -> String {
    match request.meta.get("cookiejar") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl DownloaderMiddleware for CookiesMiddleware {
    fn name(&self) -> &str {
        "CookiesMiddleware"
    }

    /// Every jar, session cookies included (a resumed crawl is the same session).
    fn checkpoint_state(&self) -> Option<Value> {
        let jars = self.jars.lock();
        let mut out = serde_json::Map::new();
        for (key, jar) in jars.iter() {
            let mut buf = Vec::new();
            match cookie_store::serde::json::save_incl_expired_and_nonpersistent(jar, &mut buf) {
                Ok(()) => {
                    out.insert(
                        key.clone(),
                        String::from_utf8_lossy(&buf).into_owned().into(),
                    );
                }
                Err(e) => tracing::warn!(jar = %key, "cannot save a cookie jar: {e}"),
            }
        }
        Some(Value::Object(out))
    }

    fn restore_state(&self, state: &Value) {
        let Some(saved) = state.as_object() else {
            return;
        };
        let mut jars = self.jars.lock();
        for (key, text) in saved {
            let Some(text) = text.as_str() else { continue };
            match cookie_store::serde::json::load_all(text.as_bytes()) {
                Ok(jar) => {
                    jars.insert(key.clone(), jar);
                }
                Err(e) => tracing::warn!(jar = %key, "cannot restore a cookie jar: {e}"),
            }
        }
    }

    fn process_request<'a>(&'a self, request: &'a mut Request) -> BoxFuture<'a, RequestAction> {
        if !request.meta_flag("dont_merge_cookies") {
            let from_jar: Vec<(String, String)> = {
                let jars = self.jars.lock();
                jars.get(&jar_key(request))
                    .map(|jar| {
                        jar.get_request_values(&request.url)
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            if !from_jar.is_empty() {
                let mut pairs: Vec<String> = request
                    .headers
                    .get_all(header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .filter(|p| {
                        let name = p.split('=').next().unwrap_or("").trim();
                        !from_jar.iter().any(|(n, _)| n == name)
                    })
                    .map(String::from)
                    .collect();
                pairs.extend(from_jar.iter().map(|(n, v)| format!("{n}={v}")));
                let value = pairs.join("; ");
                if self.debug {
                    tracing::debug!(url = %request.url, cookie = %value, "sending cookies");
                }
                match HeaderValue::from_str(&value) {
                    Ok(v) => {
                        request.headers.insert(header::COOKIE, v);
                    }
                    Err(_) => tracing::warn!(url = %request.url, "cookie value not sendable"),
                }
            }
        }
        Box::pin(std::future::ready(RequestAction::Continue))
    }

    fn process_response<'a>(&'a self, response: Response) -> BoxFuture<'a, ResponseAction> {
        if !response.request.meta_flag("dont_merge_cookies") {
            let set: Vec<String> = response
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if !set.is_empty() {
                if self.debug {
                    tracing::debug!(url = %response.url, cookies = ?set, "received cookies");
                }
                let mut jars = self.jars.lock();
                let jar = jars.entry(jar_key(&response.request)).or_default();
                for c in &set {
                    if let Err(e) = jar.parse(c, &response.url) {
                        tracing::debug!(url = %response.url, cookie = %c, error = %e, "cookie rejected");
                    }
                }
            }
        }
        Box::pin(std::future::ready(ResponseAction::Continue(Box::new(
            response,
        ))))
    }
}
