//! The HTTP API end to end: the router served by axum on 127.0.0.1, real SQLite and
//! file stores, and reqwest sending what real clients send (scrapyd-client,
//! python-scrapyd-api, ScrapydWeb). Crawls are not run: a recording dispatcher stands
//! in for the runner, and the tests move jobs through their states with the stores.

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trawl_core::model::Outcome;
use trawl_http::ApiOptions;

use trawl_embedded::testkit as common;

use common::SPEC;
mod support;

use support::*;

#[tokio::test]
async fn deploy_and_list() {
    let s = Server::start(ApiOptions::default()).await;
    let v = s.get("/daemonstatus.json").await;
    ok(&v);
    assert_eq!(
        (
            v["pending"].clone(),
            v["running"].clone(),
            v["finished"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );

    // scrapyd-deploy / scrapyd-client: multipart with a file part.
    let v = s.deploy("shopping", "1700000000").await;
    ok(&v);
    assert_eq!(v["project"], "shopping");
    assert_eq!(v["version"], "1700000000");
    assert_eq!(v["spiders"], 1);
    // python-scrapyd-api: the same fields, version in the query this time.
    let form = Form::new().text("project", "shopping").part(
        "egg",
        Part::bytes(SPEC.as_bytes().to_vec()).file_name("egg"),
    );
    let res = s
        .http
        .post(s.url("/addversion.json?version=1700000100"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    ok(&json_of(res).await);
    // ScrapydWeb: egg as a urlencoded field.
    let v = s
        .post(
            "/addversion.json",
            &[("project", "web"), ("version", "r10"), ("egg", SPEC)],
        )
        .await;
    ok(&v);
    assert_eq!(v["spiders"], 1);
    // Egg as a plain multipart text field.
    let form = Form::new()
        .text("project", "web")
        .text("version", "r9")
        .text("egg", SPEC);
    let res = s
        .http
        .post(s.url("/addversion.json"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    ok(&json_of(res).await);

    // Errors of addversion.
    err(
        &s.post("/addversion.json", &[("project", "p")]).await,
        "'version' parameter is required",
    );
    err(
        &s.post("/addversion.json", &[("project", "p"), ("version", "1")])
            .await,
        "'egg' parameter is required",
    );
    err_starts(
        &s.post(
            "/addversion.json",
            &[
                ("project", "p"),
                ("version", "1"),
                ("egg", "PK\u{3}\u{4}junk"),
            ],
        )
        .await,
        "egg is invalid: ",
    );
    err_starts(
        &s.post(
            "/addversion.json",
            &[("project", "my project"), ("version", "1"), ("egg", SPEC)],
        )
        .await,
        "project is invalid: ",
    );
    err(
        &s.post(
            "/addversion.json",
            &[("project", "../etc"), ("version", "1"), ("egg", SPEC)],
        )
        .await,
        "DirectoryTraversalError: ../etc",
    );

    let v = s.get("/listprojects.json").await;
    ok(&v);
    let mut projects: Vec<String> = serde_json::from_value(v["projects"].clone()).unwrap();
    projects.sort();
    assert_eq!(projects, ["shopping", "web"]);

    let v = s.get("/listversions.json?project=shopping").await;
    assert_eq!(v["versions"], json!(["1700000000", "1700000100"]));
    let v = s.get("/listversions.json?project=web").await;
    assert_eq!(v["versions"], json!(["r9", "r10"]));
    let v = s.get("/listversions.json?project=nope").await;
    ok(&v);
    assert_eq!(v["versions"], json!([]));
    err(
        &s.get("/listversions.json").await,
        "'project' parameter is required",
    );

    let v = s.get("/listspiders.json?project=shopping").await;
    ok(&v);
    assert_eq!(v["spiders"], json!(["shop"]));
    let v = s
        .get("/listspiders.json?project=shopping&_version=1700000000")
        .await;
    assert_eq!(v["spiders"], json!(["shop"]));
    err(
        &s.get("/listspiders.json?project=nope").await,
        "project 'nope' not found",
    );
    err(
        &s.get("/listspiders.json?project=shopping&_version=42")
            .await,
        "version '42' not found",
    );

    // delversion, then deleting the last version deletes the project.
    ok(&s
        .post(
            "/delversion.json",
            &[("project", "shopping"), ("version", "1700000000")],
        )
        .await);
    let v = s.get("/listversions.json?project=shopping").await;
    assert_eq!(v["versions"], json!(["1700000100"]));
    err(
        &s.post(
            "/delversion.json",
            &[("project", "shopping"), ("version", "1")],
        )
        .await,
        "version '1' not found",
    );
    ok(&s
        .post(
            "/delversion.json",
            &[("project", "shopping"), ("version", "1700000100")],
        )
        .await);
    assert_eq!(
        s.get("/listprojects.json").await["projects"],
        json!(["web"])
    );
    ok(&s.post("/delproject.json", &[("project", "web")]).await);
    err(
        &s.post("/delproject.json", &[("project", "web")]).await,
        "project 'web' not found",
    );
    assert_eq!(s.get("/listprojects.json").await["projects"], json!([]));
}

#[tokio::test]
async fn job_lifecycle() {
    let s = Server::start(ApiOptions::default()).await;
    ok(&s.deploy("shopping", "1").await);

    // What python-scrapyd-api's schedule() sends: settings as repeated `setting`,
    // spider arguments as extra fields.
    let v = s
        .post(
            "/schedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("jobid", "job1"),
                ("priority", "2.5"),
                ("setting", "DOWNLOAD_DELAY=0.5"),
                ("setting", "USER_AGENT=a=b"),
                ("site", "http://127.0.0.1:1"),
                ("_version", "1"),
            ],
        )
        .await;
    ok(&v);
    assert_eq!(v["jobid"], "job1");
    // A generated job id: 32 hex digits.
    let v = s
        .post(
            "/schedule.json",
            &[("project", "shopping"), ("spider", "shop")],
        )
        .await;
    let generated = v["jobid"].as_str().unwrap().to_string();
    assert_eq!(generated.len(), 32);
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));

    err(
        &s.post(
            "/schedule.json",
            &[("project", "shopping"), ("spider", "nope")],
        )
        .await,
        "spider 'nope' not found",
    );
    err(
        &s.post("/schedule.json", &[("project", "nope"), ("spider", "shop")])
            .await,
        "project 'nope' not found",
    );
    err(
        &s.post(
            "/schedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("setting", "X"),
            ],
        )
        .await,
        "setting is invalid: expected NAME=VALUE, got 'X'",
    );
    err_starts(
        &s.post(
            "/schedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("priority", "x"),
            ],
        )
        .await,
        "priority is invalid: ",
    );
    err_starts(
        &s.post(
            "/schedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("jobid", "../x"),
            ],
        )
        .await,
        "jobid is invalid: ",
    );

    let v = s.get("/status.json?job=job1").await;
    ok(&v);
    assert_eq!(v["currstate"], "pending");
    assert_eq!(
        s.get("/status.json?job=job1&project=shopping").await["currstate"],
        "pending"
    );
    assert_eq!(
        s.get("/status.json?job=unknown").await["currstate"],
        Value::Null
    );
    err(&s.get("/status.json").await, "'job' parameter is required");

    let v = s.get("/listjobs.json?project=shopping").await;
    ok(&v);
    assert_eq!(v["pending"].as_array().unwrap().len(), 2);
    // Highest priority first.
    assert_eq!(
        v["pending"][0],
        json!({"id": "job1", "project": "shopping", "spider": "shop", "version": "1",
               "settings": {"DOWNLOAD_DELAY": "0.5", "USER_AGENT": "a=b"},
               "args": {"site": "http://127.0.0.1:1"}})
    );
    assert_eq!(v["running"], json!([]));
    assert_eq!(v["finished"], json!([]));
    err(
        &s.get("/listjobs.json?project=other").await,
        "project 'other' not found",
    );

    // Cancel a pending job.
    let v = s
        .post(
            "/cancel.json",
            &[("project", "shopping"), ("job", &generated)],
        )
        .await;
    ok(&v);
    assert_eq!(v["prevstate"], "pending");
    assert_eq!(
        s.get(&format!("/status.json?job={generated}")).await["currstate"],
        Value::Null
    );

    // Start job1.
    s.control.poll_once("runner-9").await.unwrap();
    let v = s.get("/listjobs.json").await;
    let running = &v["running"][0];
    assert_eq!(running["id"], "job1");
    let pid = running["pid"].as_u64().expect("an integer pid");
    assert!(pid > 0 && pid <= i32::MAX as u64, "{pid}");
    assert_eq!(
        s.get("/listjobs.json").await["running"][0]["pid"],
        pid,
        "the same pid for the job's life"
    );
    assert_eq!(running["start_time"], "2026-03-01 12:00:00.000000");
    assert_eq!(running["log_url"], "/logs/shopping/shop/job1.log");
    assert_eq!(running["items_url"], "/items/shopping/shop/job1.jl");
    assert_eq!(s.get("/daemonstatus.json").await["running"], 1);

    // Logs and items.
    let blobs = &s.control.stores().blobs;
    blobs
        .put(
            "logs/shopping/shop/job1.log",
            Bytes::from_static(b"line one\nline two\n"),
        )
        .await
        .unwrap();
    let res = s
        .http
        .get(s.url("/logs/shopping/shop/job1.log"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), "line one\nline two\n");
    let res = s
        .http
        .get(s.url("/logs/shopping/shop/job1.log"))
        .header("Range", "bytes=9-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.headers()["content-range"], "bytes 9-17/18");
    assert_eq!(res.text().await.unwrap(), "line two\n");
    let res = s
        .http
        .get(s.url("/logs/shopping/shop/job1.log"))
        .header("Range", "bytes=18-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let res = s
        .http
        .get(s.url("/items/shopping/shop/job1.jl"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    blobs
        .put(
            "items/shopping/shop/job1.jl",
            Bytes::from_static(b"{\"id\":1}\n"),
        )
        .await
        .unwrap();
    let res = s
        .http
        .get(s.url("/items/shopping/shop/job1.jl"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    assert_eq!(res.text().await.unwrap(), "{\"id\":1}\n");
    let res = s
        .http
        .get(s.url("/logs/shopping/shop/other.log"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // ScrapydWeb's force stop: cancel twice (here the second with KILL).
    let v = s
        .post("/cancel.json", &[("project", "shopping"), ("job", "job1")])
        .await;
    assert_eq!(v["prevstate"], "running");
    let job = s.control.stores().jobs.get_job("job1").await.unwrap();
    assert_eq!(job.unwrap().cancel_requests, 1, "graceful: one request");
    let v = s
        .post(
            "/cancel.json",
            &[("project", "shopping"), ("job", "job1"), ("signal", "KILL")],
        )
        .await;
    ok(&v);
    assert_eq!(v["prevstate"], "running");
    let job = s
        .control
        .stores()
        .jobs
        .get_job("job1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job.cancel_requests, 3,
        "KILL counts as two requests: forced"
    );

    // The crawler ends it.
    let mut outcome = Outcome::reason("cancelled", None);
    outcome.stats.insert("item_scraped_count".into(), json!(7));
    let end = Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap();
    assert!(s
        .control
        .stores()
        .jobs
        .finish_job("job1", job.attempt, &outcome, end)
        .await
        .unwrap());
    let v = s.get("/listjobs.json").await;
    assert_eq!(
        v["finished"][0],
        json!({"id": "job1", "project": "shopping", "spider": "shop",
               "start_time": "2026-03-01 12:00:00.000000", "end_time": "2026-03-01 12:05:00.000000",
               "log_url": "/logs/shopping/shop/job1.log", "items_url": "/items/shopping/shop/job1.jl",
               "finish_reason": "cancelled", "items_scraped": 7})
    );
    assert_eq!(
        s.get("/status.json?job=job1").await["currstate"],
        "finished"
    );
    let v = s
        .post("/cancel.json", &[("project", "shopping"), ("job", "job1")])
        .await;
    ok(&v);
    assert_eq!(v["prevstate"], Value::Null);
    let v = s
        .post("/cancel.json", &[("project", "shopping"), ("job", "ghost")])
        .await;
    assert_eq!(v["prevstate"], Value::Null);
    err(
        &s.post("/cancel.json", &[("project", "shopping")]).await,
        "'job' parameter is required",
    );

    // The /jobs page, as ScrapydWeb reads it.
    ok(&s
        .post(
            "/schedule.json",
            &[
                ("project", "shopping"),
                ("spider", "shop"),
                ("jobid", "next"),
            ],
        )
        .await);
    let res = s.http.get(s.url("/jobs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Jobs</h1>"));
    assert!(html.contains("<th>Project</th><th>Spider</th><th>Job</th><th>PID</th><th>Start</th><th>Runtime</th><th>Finish</th><th>Log</th><th>Items</th><th>Cancel</th>"));
    assert!(html.contains(
        "<tr><td>shopping</td><td>shop</td><td>next</td><td></td><td></td><td></td><td></td>"
    ));
    assert!(html.contains("<tr><td>shopping</td><td>shop</td><td>job1</td><td></td><td>2026-03-01 12:00:00</td><td>0:05:00</td><td>2026-03-01 12:05:00</td><td><a href=\"/logs/shopping/shop/job1.log\">Log</a></td>"));
    assert!(html.find(">next<").unwrap() < html.find(">job1<").unwrap());
}

/// listjobs.json answers are shared while nothing changes, and every change shows at
/// once: concurrent callers all see the same listing, and a job scheduled between two
/// calls is in the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listjobs_answers_follow_every_change() {
    let s = std::sync::Arc::new(Server::start(ApiOptions::default()).await);
    ok(&s.deploy("shopping", "1").await);
    for i in 0..3 {
        let id = format!("j{i}");
        ok(&s
            .post(
                "/schedule.json",
                &[
                    ("project", "shopping"),
                    ("spider", "shop"),
                    ("jobid", &id),
                    ("site", "http://127.0.0.1:1"),
                ],
            )
            .await);
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.get("/listjobs.json?project=shopping").await })
            })
            .collect();
        for c in calls {
            let v = c.await.unwrap();
            ok(&v);
            assert_eq!(v["pending"].as_array().unwrap().len(), i + 1, "{v}");
        }
        ok(&s
            .post("/cancel.json", &[("project", "shopping"), ("job", "nope")])
            .await);
    }
    ok(&s
        .post("/cancel.json", &[("project", "shopping"), ("job", "j0")])
        .await);
    let v = s.get("/listjobs.json").await;
    assert_eq!(v["pending"].as_array().unwrap().len(), 2, "{v}");
    err(
        &s.get("/listjobs.json?project=nope").await,
        "project 'nope' not found",
    );
}
