use super::*;

/// A Scrapy-style job log as Trawl writes it, with a retry, an error record with a
/// traceback-like continuation, a scraped item and the final stats dump.
const LOG: &str = "\
2026-01-02 03:04:05 [trawl_core] INFO: Job started
2026-01-02 03:04:05 [trawl_engine] INFO: Spider opened
2026-01-02 03:04:06 [trawl_engine] DEBUG: Crawled (200) <GET http://127.0.0.1:1/index.html> (referer: None)
2026-01-02 03:04:06 [trawl_engine] DEBUG: Scraped from <200 http://127.0.0.1:1/p/1.html>
{'title': 'Widget', 'price': 9.5}
2026-01-02 03:04:06 [trawl_engine] DEBUG: Retrying <GET http://127.0.0.1:1/x> (failed 1 times): 503
2026-01-02 03:04:07 [trawl_engine] ERROR: writing an item failed: disk full
  caused by: no space left
2026-01-02 03:05:05 [trawl_engine] INFO: Crawled 2 pages (at 2 pages/min), scraped 1 items (at 1 items/min)
2026-01-02 03:06:05 [trawl_engine] INFO: Crawled 3 pages (at 1 pages/min), scraped 1 items (at 0 items/min)
2026-01-02 03:06:06 [trawl_engine] INFO: Dumping Scrapy stats:
{'downloader/response_status_count/200': 3,
 'downloader/response_status_count/301': 2,
 'elapsed_time_seconds': 121.5,
 'finish_reason': 'finished',
 'item_scraped_count': 1,
 'log_count/ERROR': 1,
 'response_received_count': 3,
 'start_time': datetime.datetime(2026, 1, 2, 3, 4, 5, 12, tzinfo=datetime.timezone.utc)}
2026-01-02 03:06:06 [trawl_engine] INFO: Spider closed (finished)
";

#[test]
fn parses_what_logparser_parses() {
    let d = parse(LOG);
    assert_eq!(d["first_log_time"], "2026-01-02 03:04:05");
    assert_eq!(d["latest_log_time"], "2026-01-02 03:06:06");
    assert_eq!(d["runtime"], "0:02:01");
    assert_eq!(
        d["datas"],
        json!([
            ["2026-01-02 03:05:05", 2, 2, 1, 1],
            ["2026-01-02 03:06:05", 3, 1, 1, 0]
        ])
    );
    assert_eq!(d["pages"], 3);
    assert_eq!(d["items"], 1);
    assert_eq!(d["finish_reason"], "finished");
    assert_eq!(d["shutdown_reason"], NA);
    let m = &d["latest_matches"];
    assert!(m["latest_crawl"]
        .as_str()
        .unwrap()
        .ends_with("(referer: None)"));
    assert_eq!(
        m["latest_scrape"],
        "2026-01-02 03:04:06 [trawl_engine] DEBUG: Scraped from <200 http://127.0.0.1:1/p/1.html>"
    );
    assert_eq!(m["latest_item"], "{'title': 'Widget', 'price': 9.5}");
    assert!(m["latest_stat"]
        .as_str()
        .unwrap()
        .contains("Crawled 3 pages"));
    assert_eq!(m["scrapy_version"], "");
    let c = &d["log_categories"];
    assert_eq!(c["error_logs"]["count"], 1);
    assert_eq!(
        c["error_logs"]["details"][0],
        "2026-01-02 03:04:07 [trawl_engine] ERROR: writing an item failed: disk full\n  caused by: no space left"
    );
    assert_eq!(c["retry_logs"]["count"], 1);
    assert_eq!(c["redirect_logs"]["count"], 2, "from the 3xx stats");
    assert_eq!(c["warning_logs"]["count"], 0);
    let s = &d["crawler_stats"];
    assert_eq!(s["source"], "log");
    assert_eq!(s["last_update_time"], "2026-01-02 03:06:06");
    assert_eq!(s["elapsed_time_seconds"], 121.5);
    assert_eq!(
        s["start_time"],
        "datetime.datetime(2026, 1, 2, 3, 4, 5, 12, tzinfo=datetime.timezone.utc)"
    );
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..3],
        ["source", "last_update_time", "last_update_timestamp"]
    );
    assert_eq!(d["logparser_version"], LOGPARSER_VERSION);
}

#[test]
fn an_empty_or_unfinished_log_has_no_stats() {
    let d = parse("");
    assert_eq!(d["first_log_time"], NA);
    assert_eq!(d["pages"], Value::Null);
    assert_eq!(d["crawler_stats"], json!({}));
    let d = parse("2026-01-02 03:04:05 [x] INFO: Received SIGTERM, shutting down gracefully. Send again to force\n");
    assert_eq!(d["shutdown_reason"], "Received SIGTERM");
    assert_eq!(d["finish_reason"], NA);
    assert_eq!(d["runtime"], "0:00:00");
}

#[test]
fn runtimes_print_like_python_timedeltas() {
    assert_eq!(
        runtime("2026-01-01 00:00:00", "2026-01-02 01:02:03"),
        "1 day, 1:02:03"
    );
    assert_eq!(
        runtime("2026-01-01 00:00:00", "2026-01-03 00:00:00"),
        "2 days, 0:00:00"
    );
    assert_eq!(runtime("x", "2026-01-03 00:00:00"), NA);
}

#[test]
fn control_plane_stats_fill_a_log_without_a_dump() {
    let mut d = parse("2026-01-02 03:04:05 [x] INFO: Spider opened\n");
    let stats = json!({"finish_reason": "cancelled", "response_received_count": 4,
        "item_scraped_count": 2, "finish_time": "2026-01-02T03:04:09.5Z"});
    apply_stats(&mut d, stats.as_object().unwrap(), None);
    assert_eq!((&d["pages"], &d["items"]), (&json!(4), &json!(2)));
    assert_eq!(d["finish_reason"], "cancelled");
    assert_eq!(
        d["crawler_stats"]["finish_time"],
        "datetime.datetime(2026, 1, 2, 3, 4, 9, 500000, tzinfo=datetime.timezone.utc)"
    );
}
