//! The Scrapyd-compatible HTTP API (plus Trawl's schedules, logs, items and the `/jobs`
//! page, and the web [`console`]) as an axum [`Router`] over a [`Control`].
//!
//! Handlers stay thin: parse the parameters ([`params`]), call [`Control`], shape the
//! JSON ([`envelope`]). Every answer carries CORS headers ([`cors`]); when credentials
//! are configured every route requires HTTP Basic auth ([`auth`]).
//!
//! All times in answers (`start_time`, `end_time`, `next_run`, ...) are UTC, formatted
//! like Scrapyd's: `YYYY-MM-DD HH:MM:SS.ffffff`.

/// Builds [`envelope::Fields`] from `key => value` pairs.
macro_rules! fields {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::envelope::Fields::new();
        $( m.insert(($k).to_string(), serde_json::json!($v)); )*
        m
    }};
}

pub mod access_log;
pub mod auth;
pub mod console;
pub mod cors;
mod endpoints;
pub mod envelope;
mod files;
mod listcache;
mod listing;
pub mod logstats;
mod pages;
pub mod params;
mod schedules;
mod server;
mod stats_json;
mod webhooks;

use std::sync::Arc;

use axum::handler::Handler;
use axum::routing::MethodRouter;
use axum::Router;

pub use cors::{Allowed, Kind};
pub use params::Params;
pub use server::{serve, ServerLimits};
use trawl_core::control::Control;

/// How the API is served.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// HTTP Basic user name. Auth is on when the user name or the password is non-empty.
    pub username: Option<String>,
    /// HTTP Basic password.
    pub password: Option<String>,
    /// A prefix every route lives under (e.g. `/prod` behind a gateway stage); `""` or
    /// `"/"` for none. Links in answers (`log_url`, the `/jobs` page) include it.
    pub base_path: String,
    /// The largest request body accepted (a bundle upload), in bytes.
    pub max_body_bytes: usize,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            username: None,
            password: None,
            base_path: String::new(),
            max_body_bytes: 64 << 20,
        }
    }
}

/// Shared state of the handlers.
pub(crate) struct App {
    pub(crate) control: Arc<Control>,
    pub(crate) opts: ApiOptions,
    /// `opts.base_path` normalized: `""` or `/prefix` without a trailing slash.
    pub(crate) base: String,
    pub(crate) auth: Option<auth::Credentials>,
    /// `listjobs.json` answers while the job store is unchanged.
    pub(crate) lists: listcache::ListCache,
    /// The console's CSRF tokens.
    pub(crate) csrf: console::Csrf,
}

impl App {
    /// `node_name` of every answer.
    pub(crate) fn node_name(&self) -> &str {
        &self.control.config().node_name
    }
}

/// Normalizes a base path to `""` or `/prefix` (no trailing slash).
fn normalize_base(base: &str) -> String {
    let trimmed = base.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The API router: Scrapyd's endpoints, Trawl's schedule endpoints, `/logs`, `/items`,
/// `/jobs`, `/` and the web console (`/console`), under `opts.base_path`.
pub fn router(control: Arc<Control>, opts: ApiOptions) -> Router {
    let base = normalize_base(&opts.base_path);
    let auth = auth::Credentials::from_options(&opts);
    let csrf = console::Csrf::new(opts.username.as_deref(), opts.password.as_deref());
    let app = Arc::new(App {
        control,
        opts,
        base: base.clone(),
        auth,
        lists: Default::default(),
        csrf,
    });
    use endpoints as e;
    use listing as l;
    use schedules as s;
    use Allowed::{Get, Post};
    let inner = Router::new()
        .route("/", page(&app, pages::home))
        .route("/jobs", page(&app, pages::jobs))
        .route("/logs/stats.json", route(&app, Get, stats_json::stats_json))
        .route("/logs", page(&app, l::add_slash))
        .route("/logs/", page(&app, l::logs))
        .route("/logs/{project}", page(&app, l::add_slash))
        .route("/logs/{project}/", page(&app, l::logs_project))
        .route("/logs/{project}/{spider}", page(&app, l::add_slash))
        .route("/logs/{project}/{spider}/", page(&app, l::logs_spider))
        .route("/logs/{project}/{spider}/{file}", page(&app, files::log))
        .route("/items", page(&app, l::add_slash))
        .route("/items/", page(&app, l::items))
        .route("/items/{project}", page(&app, l::add_slash))
        .route("/items/{project}/", page(&app, l::items_project))
        .route("/items/{project}/{spider}", page(&app, l::add_slash))
        .route("/items/{project}/{spider}/", page(&app, l::items_spider))
        .route("/items/{project}/{spider}/{file}", page(&app, files::items))
        .route("/daemonstatus.json", route(&app, Get, e::daemon_status))
        .route("/addversion.json", route(&app, Post, e::add_version))
        .route("/schedule.json", route(&app, Post, e::schedule))
        .route("/cancel.json", route(&app, Post, e::cancel))
        .route("/status.json", route(&app, Get, e::status))
        .route("/listprojects.json", route(&app, Get, e::list_projects))
        .route("/listversions.json", route(&app, Get, e::list_versions))
        .route("/listspiders.json", route(&app, Get, e::list_spiders))
        .route("/listjobs.json", route(&app, Get, e::list_jobs))
        .route("/delversion.json", route(&app, Post, e::delete_version))
        .route("/delproject.json", route(&app, Post, e::delete_project))
        .route("/addschedule.json", route(&app, Post, s::add_schedule))
        .route("/listschedules.json", route(&app, Get, s::list_schedules))
        .route("/delschedule.json", route(&app, Post, s::delete_schedule))
        .route("/addwebhook.json", route(&app, Post, webhooks::add_webhook))
        .route(
            "/listwebhooks.json",
            route(&app, Get, webhooks::list_webhooks),
        )
        .route(
            "/delwebhook.json",
            route(&app, Post, webhooks::delete_webhook),
        )
        .route(
            "/enableschedule.json",
            route(&app, Post, s::enable_schedule),
        )
        .route(
            "/disableschedule.json",
            route(&app, Post, s::disable_schedule),
        )
        .fallback(cors::not_found);
    let inner = console::routes(&app, inner);
    if base.is_empty() {
        inner.with_state(app)
    } else {
        // `nest` maps the inner "/" to "{base}" only; "{base}/" is the home page too.
        Router::new()
            .route(&format!("{base}/"), page(&app, pages::home))
            .nest(&base, inner)
            .fallback(cors::not_found)
            .with_state(app)
    }
}

/// One JSON web service: its handler on its methods, `OPTIONS`, Scrapyd's answer to
/// other methods, auth and CORS around all of it.
fn route<H, T>(app: &Arc<App>, allowed: Allowed, handler: H) -> MethodRouter<Arc<App>>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    endpoint(app, allowed, Kind::Json, handler)
}

/// A page, listing or file (`GET`): as [`route`], with a 405 for other methods.
fn page<H, T>(app: &Arc<App>, handler: H) -> MethodRouter<Arc<App>>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    endpoint(app, Allowed::Get, Kind::Page, handler)
}

fn endpoint<H, T>(
    app: &Arc<App>,
    allowed: Allowed,
    kind: Kind,
    handler: H,
) -> MethodRouter<Arc<App>>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    let mr = match allowed {
        Allowed::Get => MethodRouter::new().get(handler),
        Allowed::Post => MethodRouter::new().post(handler),
        Allowed::GetPost => MethodRouter::new().get(handler.clone()).post(handler),
    };
    mr.options(cors::options(allowed))
        .fallback(cors::method_not_allowed(allowed, kind))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::require,
        ))
        .layer(axum::middleware::map_response(
            move |res: axum::response::Response| cors::add_headers(res, allowed),
        ))
}

#[cfg(test)]
mod tests;
