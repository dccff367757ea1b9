//! The console through the router: auth, CSRF, cross-site refusals, prefixes, assets
//! and the cron preview. The browser tests are in `tests/console/`.

use axum::body::Body;
use axum::Router;
use base64::Engine;
use http::{header, Request, StatusCode};
use tower::ServiceExt;

use crate::{router, ApiOptions};
use trawl_core::control::ControlConfig;

fn app(base_path: &str) -> Router {
    let dir = tempfile::tempdir().unwrap().keep();
    let control = trawl_embedded::testkit::control(&dir, ControlConfig::default()).0;
    let opts = ApiOptions {
        username: Some("u".into()),
        password: Some("p".into()),
        base_path: base_path.into(),
        ..Default::default()
    };
    router(control, opts)
}

fn auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:p")
    )
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(app: &Router, uri: &str, prefix: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(uri).header(header::AUTHORIZATION, auth());
    if let Some(p) = prefix {
        req = req.header("x-forwarded-prefix", p);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, uri: &str, body: &str, extra: &[(&str, &str)]) -> (StatusCode, String) {
    let mut req = Request::post(uri)
        .header(header::AUTHORIZATION, auth())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send(app, req.body(Body::from(body.to_string())).unwrap()).await
}

fn token(page: &str) -> String {
    let at = page.find("name=\"trawl-csrf\" content=\"").unwrap() + 27;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn every_console_route_needs_credentials() {
    let app = app("");
    for uri in [
        "/console",
        "/console/",
        "/console/jobs",
        "/console/static/console.js",
        "/console/frag/cron",
    ] {
        let req = Request::get(uri).body(Body::empty()).unwrap();
        assert_eq!(send(&app, req).await.0, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let req = Request::post("/console/do/schedule")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn actions_need_the_token_and_the_same_origin() {
    let app = app("");
    let (status, page) = get(&app, "/console/", None).await;
    assert_eq!(status, StatusCode::OK);
    let t = token(&page);
    let form = "project=nope&spider=s";
    let (status, body) = post(&app, "/console/do/schedule", form, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("CSRF"));
    let bad = format!("{}0", &t[..t.len() - 1]);
    let (status, _) = post(
        &app,
        "/console/do/schedule",
        form,
        &[("x-trawl-csrf", &bad)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cross = [
        ("x-trawl-csrf", t.as_str()),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(
        post(&app, "/console/do/schedule", form, &cross).await.0,
        StatusCode::FORBIDDEN
    );
    // With the token: the Scrapyd endpoint's own answer.
    let ok = [
        ("x-trawl-csrf", t.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, body) = post(&app, "/console/do/schedule", form, &ok).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("project 'nope' not found"), "{body}");
    // ... also as a form field, for a form posted without the script.
    let (status, body) = post(
        &app,
        "/console/do/cancel",
        &format!("project=nope&job=j&csrf={t}"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = post(&app, "/console/do/evil", &format!("csrf={t}"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_api_refuses_cross_site_browser_posts_only() {
    let app = app("");
    let form = "project=nope&spider=s";
    let (status, body) = post(
        &app,
        "/schedule.json",
        form,
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("cross-site"));
    // API clients send no Sec-Fetch-Site; same-origin pages (Scrapyd's /jobs form) pass.
    for extra in [&[][..], &[("sec-fetch-site", "same-origin")][..]] {
        let (status, body) = post(&app, "/schedule.json", form, extra).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("project 'nope' not found"));
    }
}

#[tokio::test]
async fn links_follow_the_prefix_and_base_path() {
    let (status, page) = get(&app(""), "/console/jobs", Some("/prod")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/prod/console/schedules\""));
    assert!(page.contains("src=\"/prod/console/static/console.js\""));
    assert!(page.contains("data-live=\"/prod/console/frag/jobs?\""));
    assert!(page.contains("content=\"/prod\""));
    let app = app("/stage");
    let (status, page) = get(&app, "/stage/console/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/stage/console/projects\""));
    let (status, js) = get(&app, "/stage/console/static/console.js", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("X-Trawl-CSRF"));
}

#[tokio::test]
async fn cron_preview_lists_five_runs_or_the_escaped_error() {
    let app = app("");
    let (_, h) = get(
        &app,
        "/console/frag/cron?cron=0+9+*+*+1-5&timezone=Europe/Paris",
        None,
    )
    .await;
    assert_eq!(h.matches("<li>").count(), 5, "{h}");
    assert!(h.contains("09:00 CE") && h.contains("Monday-Friday"));
    let (_, h) = get(
        &app,
        "/console/frag/cron?cron=%3Cscript%3E&timezone=UTC",
        None,
    )
    .await;
    assert!(
        h.contains("class=\"error\"") && !h.contains("<script>"),
        "{h}"
    );
    let (_, h) = get(
        &app,
        "/console/frag/cron?cron=*+*+*+*+*&timezone=%3Cb%3E",
        None,
    )
    .await;
    assert!(!h.contains("<b>"), "{h}");
}
