//! CORS headers on every answer, `OPTIONS` (204 with `Allow`), the answer to other
//! methods and the 404 fallback, all as Scrapyd answers them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW,
};
use http::{HeaderValue, StatusCode};

use super::{auth, envelope, App};

/// The methods an endpoint answers (besides `OPTIONS`, and `HEAD` with `GET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// A read endpoint.
    Get,
    /// A write endpoint.
    Post,
    /// Both.
    GetPost,
}

impl Allowed {
    /// The `Allow` header value, as Scrapyd's `render_OPTIONS` builds it.
    pub fn allow_header(self) -> &'static str {
        match self {
            Allowed::Get => "OPTIONS, HEAD, GET",
            Allowed::Post => "OPTIONS, HEAD, POST",
            Allowed::GetPost => "OPTIONS, HEAD, GET, POST",
        }
    }

    /// Scrapyd's message for a JSON endpoint called with another method: Twisted's
    /// `UnsupportedMethod`, listing the resource's `render_*` methods (its bases' first).
    pub fn unsupported_message(self) -> &'static str {
        match self {
            Allowed::Get => "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'GET']",
            Allowed::Post => "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'POST']",
            Allowed::GetPost => {
                "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'GET', b'POST']"
            }
        }
    }
}

/// What an endpoint answers: Scrapyd's JSON envelope, or a page or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `*.json` web service.
    Json,
    /// An HTML page, a listing or a file.
    Page,
}

/// Methods listed on answers that match no endpoint.
const ANY_METHODS: &str = "OPTIONS, HEAD, GET, POST";

fn set_cors(res: &mut Response, methods: &'static str) {
    let h = res.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With"),
    );
}

/// Adds the CORS headers for an endpoint answering `allowed`.
pub async fn add_headers(mut res: Response, allowed: Allowed) -> Response {
    set_cors(&mut res, allowed.allow_header());
    res
}

/// The `OPTIONS` handler: 204 with `Allow`.
pub fn options(allowed: Allowed) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || {
        let mut res = StatusCode::NO_CONTENT.into_response();
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allowed.allow_header()));
        std::future::ready(res)
    }
}

/// The handler for any other method. A JSON web service answers as Scrapyd's do:
/// HTTP 200 with the error envelope and Twisted's `UnsupportedMethod` message; a page
/// answers 405 with `Allow` (and the envelope).
pub(crate) fn method_not_allowed(
    allowed: Allowed,
    kind: Kind,
) -> impl Fn(State<Arc<App>>, http::Method) -> std::future::Ready<Response> + Clone {
    move |State(app): State<Arc<App>>, method: http::Method| {
        let res = match kind {
            Kind::Json => envelope::error(
                app.node_name(),
                StatusCode::OK,
                allowed.unsupported_message(),
            ),
            Kind::Page => {
                let msg = format!(
                    "method {method} not allowed; allowed: {}",
                    allowed.allow_header()
                );
                let mut res =
                    envelope::error(app.node_name(), StatusCode::METHOD_NOT_ALLOWED, &msg);
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allowed.allow_header()));
                res
            }
        };
        std::future::ready(res)
    }
}

/// The fallback: 404 with an error envelope (401 first when auth fails).
pub(crate) async fn not_found(State(app): State<Arc<App>>, req: Request) -> Response {
    let mut res = if !auth::allowed(&app, req.method(), req.headers()) {
        auth::unauthorized()
    } else {
        let msg = format!("no such resource: {}", req.uri().path());
        envelope::error(app.node_name(), StatusCode::NOT_FOUND, &msg)
    };
    set_cors(&mut res, ANY_METHODS);
    res
}
