//! The web console under `{base}/console`: overview, jobs (live), a job (live log,
//! stats, chart, items, spec), schedules (with a cron preview) and projects (deploy).
//!
//! Pages are rendered on the server, every value escaped ([`escape`]); one small
//! script (`console.js`) refreshes the `data-live` fragments, follows a job's log
//! through `/logs` with `Range`, and sends the forms. Both assets are embedded
//! (`include_str!`): the console needs no network but its own server. Actions go to
//! `POST {base}/console/do/{action}`, which checks a CSRF token ([`csrf`]) and then
//! answers exactly as the Scrapyd endpoint of the same name.

mod csrf;
mod html;
mod job;
mod jobs;
mod projects;
mod schedules;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

pub use csrf::cross_site;
pub(crate) use csrf::Csrf;

use crate::cors::Allowed;
use crate::pages::{escape, link_base};
use crate::{endpoints as e, schedules as s, App, Params};

/// The console's routes (inside the base path).
pub(crate) fn routes(app: &Arc<App>, r: Router<Arc<App>>) -> Router<Arc<App>> {
    use crate::page;
    r.route("/console", page(app, jobs::overview))
        .route("/console/", page(app, jobs::overview))
        .route("/console/frag/overview", page(app, jobs::overview_frag))
        .route("/console/jobs", page(app, jobs::jobs_page))
        .route("/console/frag/jobs", page(app, jobs::jobs_frag))
        .route("/console/job/{project}/{job}", page(app, job::job_page))
        .route(
            "/console/frag/job/{project}/{job}",
            page(app, job::job_frag),
        )
        .route(
            "/console/frag/items/{project}/{job}",
            page(app, job::items_frag),
        )
        .route(
            "/console/export/{project}/{job}/{format}",
            page(app, job::export),
        )
        .route("/console/schedules", page(app, schedules::page))
        .route("/console/frag/schedules", page(app, schedules::frag))
        .route("/console/frag/cron", page(app, schedules::cron_preview))
        .route("/console/projects", page(app, projects::page))
        .route("/console/static/{file}", page(app, asset))
        .route(
            "/console/do/{action}",
            crate::endpoint(app, Allowed::Post, crate::Kind::Json, action),
        )
}

/// What every console page needs: the links' prefix and a CSRF token.
pub(crate) struct Ctx {
    /// The prefix of links (`X-Forwarded-Prefix` + base path), not escaped.
    pub base: String,
    token: String,
}

impl Ctx {
    fn new(app: &App, headers: &HeaderMap) -> Self {
        Ctx {
            base: link_base(app, headers),
            token: app.csrf.token(app.control.now().timestamp()),
        }
    }

    /// An escaped link to `path` (which starts with `/`).
    pub fn href(&self, path: &str) -> String {
        escape(&format!("{}{path}", self.base))
    }
}

const NAV: &[(&str, &str)] = &[
    ("/console/", "Overview"),
    ("/console/jobs", "Jobs"),
    ("/console/schedules", "Schedules"),
    ("/console/projects", "Projects"),
];

/// A whole page: head (assets, token), navigation, then `body` (already HTML).
pub(crate) fn shell(app: &App, ctx: &Ctx, title: &str, body: &str) -> Response {
    let mut nav = String::new();
    for (path, name) in NAV {
        let cur = if *name == title {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!("<a href=\"{}\"{cur}>{name}</a>", ctx.href(path)));
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · Trawl</title>\
         <meta name=\"trawl-base\" content=\"{base}\"><meta name=\"trawl-csrf\" content=\"{token}\">\
         <link rel=\"stylesheet\" href=\"{css}\"><script defer src=\"{js}\"></script></head>\
         <body><header><b>Trawl</b> <span class=\"node\">{node}</span><nav>{nav}\
         <a href=\"{classic}\">Scrapyd pages</a></nav></header><main><h1>{title}</h1>{body}</main>\
         </body></html>",
        title = escape(title),
        base = escape(&ctx.base),
        token = escape(&ctx.token),
        css = ctx.href("/console/static/console.css"),
        js = ctx.href("/console/static/console.js"),
        node = escape(app.node_name()),
        classic = ctx.href("/jobs"),
    );
    no_store(Html(page).into_response())
}

/// An HTML fragment for a `data-live` region.
pub(crate) fn fragment(html: String) -> Response {
    no_store(Html(html).into_response())
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A path segment, percent-encoded.
pub(crate) fn seg(s: &str) -> String {
    crate::endpoints::encode_segment(s)
}

/// A short error page body (`message` is escaped).
pub(crate) fn error_body(message: &str) -> String {
    format!("<p class=\"error\">{}</p>", escape(message))
}

const JS: &str = include_str!("console.js");
const CSS: &str = include_str!("console.css");

/// `GET {base}/console/static/{file}`: the embedded script and style sheet.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, ct) = match file.as_str() {
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        "console.css" => (CSS, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "Not Found").into_response(),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    res
}

/// `POST {base}/console/do/{action}`: a console action, after the CSRF checks; the
/// answer is the Scrapyd endpoint's envelope (403 and an error envelope when refused).
async fn action(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let token = headers
        .get(csrf::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| p.opt("csrf"))
        .unwrap_or_default();
    let now = app.control.now().timestamp();
    if csrf::cross_site(&headers) || !app.csrf.check(&token, now) {
        let msg = "refused: a console action needs the page's CSRF token and the same origin";
        return crate::envelope::error(app.node_name(), StatusCode::FORBIDDEN, msg);
    }
    let st = State(app.clone());
    match name.as_str() {
        "schedule" => e::schedule(st, p).await,
        "cancel" => e::cancel(st, p).await,
        "addversion" => e::add_version(st, p).await,
        "delversion" => e::delete_version(st, p).await,
        "delproject" => e::delete_project(st, p).await,
        "addschedule" => s::add_schedule(st, p).await,
        "delschedule" => s::delete_schedule(st, p).await,
        "enableschedule" => s::enable_schedule(st, p).await,
        "disableschedule" => s::disable_schedule(st, p).await,
        _ => crate::envelope::error(app.node_name(), StatusCode::NOT_FOUND, "no such action"),
    }
}

#[cfg(test)]
mod tests;
