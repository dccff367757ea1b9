//! HTTP-layer tests through `tower::ServiceExt::oneshot`: envelope, auth, CORS,
//! OPTIONS, 404/405, parameter errors (raised before the control plane reaches the
//! empty stores). The end-to-end tests over real HTTP live in `tests/api_http.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use base64::Engine;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::{router, ApiOptions};
use trawl_core::control::{Control, ControlConfig};
use trawl_embedded::testkit;

fn control() -> Arc<Control> {
    // Real, empty stores: these tests stop at the HTTP layer or at validation.
    let dir = tempfile::tempdir().unwrap().keep();
    let cfg = ControlConfig {
        node_name: "node-t".into(),
        ..Default::default()
    };
    testkit::control(&dir, cfg).0
}

fn app() -> Router {
    router(control(), ApiOptions::default())
}

fn app_with_auth() -> Router {
    router(
        control(),
        ApiOptions {
            username: Some("user".into()),
            password: Some("pa:ss".into()),
            ..Default::default()
        },
    )
}

fn basic(user_pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post_form(app: &Router, uri: &str, body: &str) -> Answer {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, req).await
}

fn assert_error(a: &Answer, message: &str) {
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.header("content-type"), "application/json");
    let v = a.json();
    assert_eq!(v["status"], "error");
    assert_eq!(v["node_name"], "node-t");
    assert_eq!(v["message"], message);
}

fn assert_cors(a: &Answer, methods: &str) {
    assert_eq!(a.header("access-control-allow-origin"), "*");
    assert_eq!(a.header("access-control-allow-methods"), methods);
    assert_eq!(a.header("access-control-allow-headers"), "X-Requested-With");
}

#[tokio::test]
async fn daemonstatus_envelope_and_cors() {
    let a = get(&app(), "/daemonstatus.json").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), "application/json");
    assert_cors(&a, "OPTIONS, HEAD, GET");
    assert_eq!(
        a.json(),
        serde_json::json!({"node_name": "node-t", "status": "ok", "pending": 0, "running": 0, "finished": 0})
    );
    let a = send(
        &app(),
        Request::head("/daemonstatus.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn options_answers_204_with_allow() {
    let app = app();
    for (uri, allow) in [
        ("/daemonstatus.json", "OPTIONS, HEAD, GET"),
        ("/listjobs.json", "OPTIONS, HEAD, GET"),
        ("/schedule.json", "OPTIONS, HEAD, POST"),
        ("/addversion.json", "OPTIONS, HEAD, POST"),
        ("/addschedule.json", "OPTIONS, HEAD, POST"),
        ("/listschedules.json", "OPTIONS, HEAD, GET"),
        ("/jobs", "OPTIONS, HEAD, GET"),
        ("/logs/p/s/j.log", "OPTIONS, HEAD, GET"),
    ] {
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let a = send(&app, req).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{uri}");
        assert_eq!(a.header("allow"), allow, "{uri}");
        assert_cors(&a, allow);
        assert!(a.body.is_empty());
    }
}

#[tokio::test]
async fn wrong_method_answers_as_scrapyd() {
    // Scrapyd's web services answer HTTP 200 with Twisted's UnsupportedMethod message.
    let app = app();
    let a = get(&app, "/schedule.json").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_cors(&a, "OPTIONS, HEAD, POST");
    assert_eq!(
        a.json(),
        serde_json::json!({"node_name": "node-t", "status": "error",
            "message": "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'POST']"})
    );
    assert!(a.body.ends_with(b"\n"));

    let a = post_form(&app, "/daemonstatus.json", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json()["message"],
        "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'GET']"
    );

    let req = Request::delete("/cancel.json").body(Body::empty()).unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "error");

    // Pages keep HTTP's 405, with Allow.
    let a = post_form(&app, "/jobs", "").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), "OPTIONS, HEAD, GET");
}

#[tokio::test]
async fn unknown_endpoint_is_404() {
    let a = get(&app(), "/nope.json").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json()["status"], "error");
    assert_eq!(a.header("access-control-allow-origin"), "*");
    let a = post_form(&app(), "/schedule.json/extra", "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_and_invalid_parameters() {
    let app = app();
    let cases: &[(&str, &str, &str)] = &[
        ("/schedule.json", "", "'project' parameter is required"),
        (
            "/schedule.json",
            "project=p",
            "'spider' parameter is required",
        ),
        (
            "/schedule.json",
            "project=p&spider=",
            "'spider' parameter is required",
        ),
        (
            "/schedule.json",
            "project=p&spider=s&priority=high",
            "priority is invalid: could not convert string to float: 'high'",
        ),
        (
            "/schedule.json",
            "project=p&spider=s&setting=NOPE",
            "setting is invalid: expected NAME=VALUE, got 'NOPE'",
        ),
        ("/addversion.json", "", "'project' parameter is required"),
        (
            "/addversion.json",
            "project=p",
            "'version' parameter is required",
        ),
        (
            "/addversion.json",
            "project=p&version=1",
            "'egg' parameter is required",
        ),
        ("/cancel.json", "project=p", "'job' parameter is required"),
        ("/cancel.json", "job=j", "'project' parameter is required"),
        (
            "/delversion.json",
            "project=p",
            "'version' parameter is required",
        ),
        ("/delproject.json", "", "'project' parameter is required"),
        (
            "/addschedule.json",
            "project=p&spider=s",
            "'cron' parameter is required",
        ),
        ("/delschedule.json", "", "'id' parameter is required"),
        ("/enableschedule.json", "", "'id' parameter is required"),
        ("/disableschedule.json", "", "'id' parameter is required"),
    ];
    for (uri, body, message) in cases {
        let a = post_form(&app, uri, body).await;
        assert_error(&a, message);
        assert_cors(&a, "OPTIONS, HEAD, POST");
    }
    for (uri, message) in [
        ("/status.json", "'job' parameter is required"),
        ("/listversions.json", "'project' parameter is required"),
        ("/listspiders.json", "'project' parameter is required"),
    ] {
        assert_error(&get(&app, uri).await, message);
    }
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let req = Request::post("/schedule.json")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=zz")
        .body(Body::from("garbage"))
        .unwrap();
    let a = send(&app(), req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("request body is invalid: "));

    let small = router(
        control(),
        ApiOptions {
            max_body_bytes: 10,
            ..Default::default()
        },
    );
    let a = post_form(
        &small,
        "/addversion.json",
        "project=p&version=1&egg=0123456789",
    )
    .await;
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("request body is invalid: "));
}

#[tokio::test]
async fn traversal_in_file_paths_is_404() {
    let app = app();
    for uri in [
        "/logs/..%2F..%2Fetc/s/j.log",
        "/logs/../s/j.log",
        "/logs/p/s/..%2F..%2Fpasswd.log",
        "/logs/p/%2E%2E/j.log",
        "/logs/p/s/.log",
        "/logs/p/s/j.txt",
        "/items/p/s/j.log",
        "/items/..%2Fx/s/j.jl",
        "/items/p/s%00/j.jl",
    ] {
        let a = get(&app, uri).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(a.header("access-control-allow-origin"), "*");
    }
}

#[tokio::test]
async fn auth_guards_every_route() {
    let app = app_with_auth();
    for uri in [
        "/",
        "/jobs",
        "/daemonstatus.json",
        "/listjobs.json",
        "/logs/p/s/j.log",
        "/items/p/s/j.jl",
        "/nope",
    ] {
        let a = get(&app, uri).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(&a.body[..], b"Unauthorized");
        assert_eq!(a.header("www-authenticate"), "Basic realm=\"Trawl\"");
        assert_eq!(a.header("access-control-allow-origin"), "*");
    }
    let a = post_form(&app, "/schedule.json", "project=p&spider=s").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_cors(&a, "OPTIONS, HEAD, POST");

    for wrong in ["user:pa", "user:pa:ss:", "User:pa:ss", "user", ":"] {
        let req = Request::get("/daemonstatus.json")
            .header(header::AUTHORIZATION, basic(wrong))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&app, req).await.status,
            StatusCode::UNAUTHORIZED,
            "{wrong}"
        );
    }

    let req = Request::get("/daemonstatus.json")
        .header(header::AUTHORIZATION, basic("user:pa:ss"))
        .body(Body::empty())
        .unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");

    // Preflights carry no credentials.
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/schedule.json")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn base_path_prefixes_every_route() {
    let app = router(
        control(),
        ApiOptions {
            base_path: "/stage/".into(),
            ..Default::default()
        },
    );
    let a = get(&app, "/stage/daemonstatus.json").await;
    assert_eq!(a.json()["status"], "ok");
    assert_eq!(
        get(&app, "/daemonstatus.json").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&app, "/stage/nope").await.status, StatusCode::NOT_FOUND);
    let a = get(&app, "/stage/").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(std::str::from_utf8(&a.body)
        .unwrap()
        .contains("href=\"/stage/jobs\""));
}

#[tokio::test]
async fn home_page() {
    let a = get(&app(), "/").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("text/html"));
    let html = std::str::from_utf8(&a.body).unwrap();
    assert!(html.contains("href=\"/jobs\""));
    assert!(html.contains("node-t"));
}
