//! HTTP Basic auth on every route (Scrapyd's `username`/`password`).
//!
//! `OPTIONS` is exempt: browsers send CORS preflights without credentials, and a
//! preflight answer carries no data.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::{ApiOptions, App};

/// The configured user name and password.
#[derive(Clone)]
pub struct Credentials {
    username: Vec<u8>,
    password: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials from the options; `None` (auth off) when both are empty.
    pub fn from_options(opts: &ApiOptions) -> Option<Self> {
        let username = opts.username.clone().unwrap_or_default();
        let password = opts.password.clone().unwrap_or_default();
        if username.is_empty() && password.is_empty() {
            return None;
        }
        Some(Credentials {
            username: username.into_bytes(),
            password: password.into_bytes(),
        })
    }

    /// Whether the `Authorization` header carries these credentials (compared in
    /// constant time).
    pub fn check(&self, headers: &HeaderMap) -> bool {
        let Some((user, pass)) = basic_credentials(headers) else {
            return false;
        };
        let user_ok = ct_eq(&user, &self.username);
        let pass_ok = ct_eq(&pass, &self.password);
        user_ok & pass_ok
    }
}

/// The user name and password of a `Basic` `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = headers.get(AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// The 401 answer: body `Unauthorized`, `WWW-Authenticate: Basic realm="Trawl"`.
pub fn unauthorized() -> Response {
    let mut res = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    let h = res.headers_mut();
    h.insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Trawl\""),
    );
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Whether a request may pass (auth off, `OPTIONS`, or good credentials).
pub(crate) fn allowed(app: &App, method: &Method, headers: &HeaderMap) -> bool {
    match &app.auth {
        None => true,
        Some(_) if method == Method::OPTIONS => true,
        Some(c) => c.check(headers),
    }
}

/// Middleware: 401 unless [`allowed`]; with auth on, 403 for a `POST` a browser marks
/// as cross-site (it carries the browser's cached credentials, not its page's intent;
/// see [`crate::console`]).
pub(crate) async fn require(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let cross = app.auth.is_some()
        && req.method() == Method::POST
        && crate::console::cross_site(req.headers());
    if cross {
        let msg = "refused: a cross-site request from a browser";
        crate::envelope::error(app.node_name(), StatusCode::FORBIDDEN, msg)
    } else if allowed(&app, req.method(), req.headers()) {
        next.run(req).await
    } else {
        unauthorized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Option<Credentials> {
        Credentials::from_options(&ApiOptions {
            username: Some(u.into()),
            password: Some(p.into()),
            ..Default::default()
        })
    }

    fn basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn off_when_empty() {
        assert!(creds("", "").is_none());
        assert!(Credentials::from_options(&ApiOptions::default()).is_none());
        assert!(creds("u", "").is_some());
    }

    #[test]
    fn checks_basic_credentials() {
        let c = creds("alice", "s3:cret").unwrap();
        assert!(c.check(&basic("alice:s3:cret")));
        assert!(!c.check(&basic("alice:s3:cre")));
        assert!(!c.check(&basic("alice:s3:crett")));
        assert!(!c.check(&basic("bob:s3:cret")));
        assert!(!c.check(&basic("alices3:cret")));
        assert!(!c.check(&HeaderMap::new()));
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert!(!c.check(&h));
        h.insert(AUTHORIZATION, "Basic !!!notbase64".parse().unwrap());
        assert!(!c.check(&h));
        // The scheme is case-insensitive.
        let mut h = HeaderMap::new();
        let v = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3:cret")
        );
        h.insert(AUTHORIZATION, v.parse().unwrap());
        assert!(c.check(&h));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abc\0"));
        assert!(!ct_eq(b"", b"\0"));
    }

    #[test]
    fn unauthorized_answer() {
        let r = unauthorized();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Basic realm=\"Trawl\"");
    }
}
