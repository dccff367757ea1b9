//! The HTTP API over real HTTP: schedules, auth, path traversal, OPTIONS/CORS.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trawl_http::ApiOptions;

use trawl_embedded::testkit as common;

use common::SPEC;
mod support;

use support::*;

#[tokio::test]
async fn schedules() {
    let s = Server::start(ApiOptions::default()).await;
    ok(&s.deploy("shopping", "1").await);
    let v = s
        .post(
            "/addschedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("cron", "0 * * * *"),
                ("priority", "1"),
                ("setting", "DOWNLOAD_DELAY=1"),
                ("site", "http://127.0.0.1:1"),
            ],
        )
        .await;
    ok(&v);
    let id = v["id"].as_str().unwrap().to_string();
    let sch = &v["schedule"];
    assert_eq!(sch["id"], id.as_str());
    assert_eq!(sch["cron"], "0 * * * *");
    assert_eq!(sch["timezone"], "UTC");
    assert_eq!(sch["enabled"], true);
    assert_eq!(sch["overlap"], "skip");
    assert_eq!(sch["priority"], 1.0);
    assert_eq!(sch["args"], json!({"site": "http://127.0.0.1:1"}));
    assert_eq!(sch["settings"], json!({"DOWNLOAD_DELAY": "1"}));
    assert_eq!(sch["next_run"], "2026-03-01 13:00:00.000000");
    assert_eq!(sch["last_run"], Value::Null);
    assert_eq!(sch["last_job"], Value::Null);

    let v = s
        .post(
            "/addschedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("cron", "@daily"),
                ("timezone", "Europe/Paris"),
                ("enabled", "false"),
                ("overlap", "allow"),
                ("id", "nightly"),
            ],
        )
        .await;
    ok(&v);
    assert_eq!(v["id"], "nightly");
    assert_eq!(v["schedule"]["enabled"], false);
    assert_eq!(v["schedule"]["overlap"], "allow");

    err_starts(
        &s.post(
            "/addschedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("cron", "nope"),
            ],
        )
        .await,
        "cron is invalid: ",
    );
    err(
        &s.post(
            "/addschedule.json",
            &[("project", "shopping"), ("spider", "x"), ("cron", "@daily")],
        )
        .await,
        "spider 'x' not found",
    );
    err_starts(
        &s.post(
            "/addschedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("cron", "@daily"),
                ("overlap", "queue"),
            ],
        )
        .await,
        "overlap is invalid: ",
    );

    let v = s.get("/listschedules.json").await;
    ok(&v);
    assert_eq!(v["schedules"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.get("/listschedules.json?project=shopping").await["schedules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.get("/listschedules.json?project=other").await["schedules"],
        json!([])
    );

    let v = s.post("/enableschedule.json", &[("id", "nightly")]).await;
    ok(&v);
    assert_eq!(v["schedule"]["enabled"], true);
    let v = s.post("/disableschedule.json", &[("id", "nightly")]).await;
    assert_eq!(v["schedule"]["enabled"], false);
    err(
        &s.post("/enableschedule.json", &[("id", "ghost")]).await,
        "schedule 'ghost' not found",
    );
    ok(&s.post("/delschedule.json", &[("id", "nightly")]).await);
    err(
        &s.post("/delschedule.json", &[("id", "nightly")]).await,
        "schedule 'nightly' not found",
    );
    assert_eq!(
        s.get("/listschedules.json").await["schedules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn auth_on_and_off() {
    let s = Server::start(ApiOptions {
        username: Some("admin".into()),
        password: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    for path in [
        "/daemonstatus.json",
        "/listjobs.json",
        "/jobs",
        "/",
        "/logs/p/s/j.log",
        "/items/p/s/j.jl",
    ] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"Trawl\"");
        assert_eq!(res.text().await.unwrap(), "Unauthorized");
        let res = s
            .http
            .get(s.url(path))
            .basic_auth("admin", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let form = Form::new().text("project", "p").text("version", "1").part(
        "egg",
        Part::bytes(SPEC.as_bytes().to_vec()).file_name("project.egg"),
    );
    let res = s
        .http
        .post(s.url("/addversion.json"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let res = s
        .http
        .get(s.url("/daemonstatus.json"))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .unwrap();
    ok(&json_of(res).await);
    let res = s
        .http
        .get(s.url("/jobs"))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Auth off: the same call passes without credentials.
    let open = Server::start(ApiOptions::default()).await;
    ok(&open.get("/daemonstatus.json").await);
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let s = Server::start(ApiOptions::default()).await;
    // A file that traversal would reach.
    std::fs::write(s.dir.path().join("trawl.log"), "secret").unwrap();
    std::fs::create_dir_all(s.dir.path().join("blobs/logs/p/s")).unwrap();
    for path in [
        "/logs/..%2F..%2F/s/trawl.log",
        "/logs/p/s/..%2F..%2F..%2F..%2Ftrawl.log",
        "/logs/%2E%2E/%2E%2E/trawl.log",
        "/logs/p/..%2F..%2F..%2F/trawl.log",
        "/items/..%2F..%2F/s/x.jl",
        "/logs/p/s/%2Fetc%2Fpasswd.log",
        "/logs/..%2F..%2F/",
        "/logs/p/..%2F..%2F/",
        "/items/..%2F/",
    ] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert_ne!(res.text().await.unwrap(), "secret", "{path}");
    }
    // As Scrapyd: endpoints that look a project up do not find it; those that would
    // build a storage path from it refuse it.
    err(
        &s.get("/listspiders.json?project=..%2F..%2Fetc").await,
        "project '../../etc' not found",
    );
    err(
        &s.get("/listversions.json?project=..%2F..%2Fetc").await,
        "DirectoryTraversalError: ../../etc",
    );
}

#[tokio::test]
async fn options_cors_and_methods() {
    let s = Server::start(ApiOptions::default()).await;
    for (path, allow) in [
        ("/schedule.json", "OPTIONS, HEAD, POST"),
        ("/addversion.json", "OPTIONS, HEAD, POST"),
        ("/cancel.json", "OPTIONS, HEAD, POST"),
        ("/listjobs.json", "OPTIONS, HEAD, GET"),
        ("/daemonstatus.json", "OPTIONS, HEAD, GET"),
        ("/jobs", "OPTIONS, HEAD, GET"),
    ] {
        let res = s
            .http
            .request(reqwest::Method::OPTIONS, s.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(res.headers()["allow"], allow);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert_eq!(res.headers()["access-control-allow-methods"], allow);
        assert_eq!(
            res.headers()["access-control-allow-headers"],
            "X-Requested-With"
        );
    }
    // A wrong method: HTTP 200 and Twisted's message, as Scrapyd answers.
    let res = s.http.get(s.url("/schedule.json")).send().await.unwrap();
    err(
        &json_of(res).await,
        "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'POST']",
    );
    let res = s.http.post(s.url("/listjobs.json")).send().await.unwrap();
    err(
        &json_of(res).await,
        "UnsupportedMethod: Expected one of [b'HEAD', b'OPTIONS', b'GET']",
    );
    let res = s.http.post(s.url("/jobs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = s.http.get(s.url("/nope.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = s
        .http
        .get(s.url("/listprojects.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-methods"],
        "OPTIONS, HEAD, GET"
    );
}
