//! `/logs/stats.json` and `/logs/{project}/{spider}/{job}.json` over real HTTP on
//! loopback, with real SQLite and file stores: a running job's progress comes from its
//! log, a finished job's from its stats dump, and a job whose log has no dump from the
//! control plane's record.

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trawl_core::model::Outcome;
use trawl_core::ControlConfig;
use trawl_embedded::testkit as common;
use trawl_http::{router, ApiOptions};

const RUNNING_LOG: &str = "\
2026-03-01 12:00:00 [trawl_engine] INFO: Spider opened
2026-03-01 12:01:00 [trawl_engine] INFO: Crawled 40 pages (at 40 pages/min), scraped 30 items (at 30 items/min)
2026-03-01 12:01:30 [trawl_engine] WARNING: slow response
";

const FINISHED_LOG: &str = "\
2026-03-01 12:00:00 [trawl_engine] INFO: Spider opened
2026-03-01 12:00:09 [trawl_engine] INFO: Closing spider (finished)
2026-03-01 12:00:09 [trawl_engine] INFO: Crawled 12 pages (at 80 pages/min), scraped 10 items (at 67 items/min)
2026-03-01 12:00:09 [trawl_engine] INFO: Dumping Scrapy stats:
{'finish_reason': 'finished',
 'finish_time': datetime.datetime(2026, 3, 1, 12, 0, 9, 5, tzinfo=datetime.timezone.utc),
 'item_scraped_count': 10,
 'log_count/INFO': 3,
 'response_received_count': 12}
2026-03-01 12:00:09 [trawl_engine] INFO: Spider closed (finished)
";

async fn json(res: reqwest::Response) -> Value {
    serde_json::from_slice(&res.bytes().await.unwrap()).expect("a JSON body")
}

#[tokio::test]
async fn stats_json_in_logparser_schema() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        node_name: "node-stats".into(),
        ..Default::default()
    };
    let (control, _clock, _dispatched) = common::control(dir.path(), cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = router(control.clone(), ApiOptions::default());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();

    let form = Form::new().text("project", "p").text("version", "1").part(
        "egg",
        Part::bytes(common::SPEC.as_bytes().to_vec()).file_name("p.egg"),
    );
    let v = http
        .post(format!("{url}/addversion.json"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let v = json(v).await;
    assert_eq!(v["status"], "ok", "{v}");
    for job in ["run1", "fin1", "fin2"] {
        let v = http
            .post(format!("{url}/schedule.json"))
            .form(&[("project", "p"), ("spider", "shop"), ("jobid", job)])
            .send()
            .await
            .unwrap();
        let v = json(v).await;
        assert_eq!(v["status"], "ok", "{v}");
        control.poll_once("runner-1").await.unwrap();
    }
    let stores = control.stores();
    for (job, log) in [("run1", RUNNING_LOG), ("fin1", FINISHED_LOG)] {
        stores
            .blobs
            .put(
                &format!("logs/p/shop/{job}.log"),
                Bytes::from_static(log.as_bytes()),
            )
            .await
            .unwrap();
    }
    let end = Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap();
    for (job, outcome) in [
        ("fin1", Outcome::reason("finished", None)),
        ("fin2", {
            let mut o = Outcome::reason("cancelled", None);
            o.stats.insert("response_received_count".into(), json!(5));
            o.stats.insert("item_scraped_count".into(), json!(4));
            o.stats
                .insert("start_time".into(), json!("2026-03-01T12:00:00.250000Z"));
            o
        }),
    ] {
        let attempt = stores.jobs.get_job(job).await.unwrap().unwrap().attempt;
        assert!(stores
            .jobs
            .finish_job(job, attempt, &outcome, end)
            .await
            .unwrap());
    }

    let res = http
        .get(format!("{url}/logs/stats.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let v = json(res).await;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["logparser_version"], "0.8.4");
    assert!(v["last_update_timestamp"].as_i64().unwrap() > 0);
    let jobs = &v["datas"]["p"]["shop"];
    assert_eq!(jobs.as_object().unwrap().len(), 3, "{v}");

    let run = &jobs["run1"];
    assert_eq!((&run["pages"], &run["items"]), (&json!(40), &json!(30)));
    assert_eq!(run["finish_reason"], "N/A");
    assert_eq!(run["first_log_time"], "2026-03-01 12:00:00");
    assert_eq!(run["latest_log_time"], "2026-03-01 12:01:30");
    assert_eq!(run["runtime"], "0:01:30");
    assert_eq!(
        run["datas"],
        json!([["2026-03-01 12:01:00", 40, 40, 30, 30]])
    );
    assert_eq!(run["log_categories"]["warning_logs"]["count"], 1);
    assert_eq!(run["crawler_stats"], json!({}));
    assert_eq!(run["json_url"], "/logs/p/shop/run1.json");
    assert!(run.get("head").is_none() && run.get("tail").is_none());

    let fin = &jobs["fin1"];
    assert_eq!((&fin["pages"], &fin["items"]), (&json!(12), &json!(10)));
    assert_eq!(fin["finish_reason"], "finished");
    let stats = &fin["crawler_stats"];
    assert_eq!(stats["source"], "log");
    assert_eq!(stats["last_update_time"], "2026-03-01 12:00:09");
    assert_eq!(
        stats["finish_time"],
        "datetime.datetime(2026, 3, 1, 12, 0, 9, 5, tzinfo=datetime.timezone.utc)"
    );
    assert_eq!(stats["log_count/INFO"], 3);
    assert!(fin["latest_matches"]["latest_stat"]
        .as_str()
        .unwrap()
        .contains("Crawled 12 pages"));

    // No log at all: the control plane's record.
    let fin2 = &jobs["fin2"];
    assert_eq!((&fin2["pages"], &fin2["items"]), (&json!(5), &json!(4)));
    assert_eq!(fin2["finish_reason"], "cancelled");
    assert_eq!(fin2["first_log_time"], "N/A");
    assert_eq!(
        fin2["crawler_stats"]["start_time"],
        "datetime.datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=datetime.timezone.utc)"
    );

    // Asked again: the same entries (finished jobs' from the cache), and a running
    // job's log that grew is analysed again.
    let res = http
        .get(format!("{url}/logs/stats.json"))
        .send()
        .await
        .unwrap();
    let again = json(res).await;
    assert_eq!(again["datas"]["p"]["shop"]["fin1"], jobs["fin1"]);
    let grown = format!(
        "{RUNNING_LOG}2026-03-01 12:02:00 [trawl_engine] INFO: Crawled 50 pages (at 10 pages/min), scraped 35 items (at 5 items/min)\n"
    );
    stores
        .blobs
        .put("logs/p/shop/run1.log", Bytes::from(grown))
        .await
        .unwrap();
    let res = http
        .get(format!("{url}/logs/stats.json"))
        .send()
        .await
        .unwrap();
    let grown = json(res).await;
    assert_eq!(grown["datas"]["p"]["shop"]["run1"]["pages"], 50);
    assert_eq!(grown["datas"]["p"]["shop"]["run1"]["items"], 35);

    // The job's own .json: the same analysis, with the log's head and tail.
    let res = http
        .get(format!("{url}/logs/p/shop/fin1.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let one = json(res).await;
    assert_eq!(one["pages"], 12);
    assert_eq!(one["finish_reason"], "finished");
    assert!(one["tail"]
        .as_str()
        .unwrap()
        .ends_with("Spider closed (finished)"));
    for missing in [
        "/logs/p/shop/nope.json",
        "/logs/p/other/fin1.json",
        "/logs/q/shop/fin1.json",
    ] {
        let res = http.get(format!("{url}{missing}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}
