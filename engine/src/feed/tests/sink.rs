use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::{item, items};
use crate::feed::{FeedConfig, FeedFormat, FeedSink, FeedStorages, UriParams};

fn params() -> UriParams {
    UriParams::new("shop").with("time", "T").with("job", "j9")
}

fn sink(configs: Vec<FeedConfig>) -> FeedSink {
    FeedSink::new(configs, &FeedStorages::builtin(), params()).unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn all_formats_end_to_end_with_stats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let configs = ["jl", "json", "csv", "xml"]
        .iter()
        .map(|ext| {
            FeedConfig::new(
                &format!("{d}/%(name)s/%(job)s.{ext}"),
                FeedFormat::parse(ext).unwrap(),
            )
        })
        .collect();
    let s = sink(configs);
    for i in items() {
        s.write_item(&i);
    }
    s.close().unwrap();
    s.close().unwrap();
    s.write_item(&items()[0]); // ignored after close
    let base = dir.path().join("shop");
    assert_eq!(read(&base.join("j9.jl")).lines().count(), 2);
    let v: serde_json::Value = serde_json::from_str(&read(&base.join("j9.json"))).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(read(&base.join("j9.csv")).starts_with("title,price,tags,meta\r\n"));
    assert!(read(&base.join("j9.xml")).ends_with("</items>"));
    let stats = s.stats();
    assert_eq!(stats["feedexport/success_count/FileFeedStorage"], 4);
    assert!(!stats.contains_key("feedexport/failed_count/FileFeedStorage"));
    assert_eq!(
        stats[&format!("feedexport/item_count/{d}/%(name)s/%(job)s.json")],
        2
    );
    assert_eq!(s.files().len(), 4);
}

#[test]
fn dropped_sink_leaves_valid_json_and_xml() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let xml = dir.path().join("out.xml");
    let empty = dir.path().join("empty.json");
    {
        let s = sink(vec![
            FeedConfig::new(json.to_str().unwrap(), FeedFormat::Json),
            FeedConfig::new(xml.to_str().unwrap(), FeedFormat::Xml),
        ]);
        let _e = sink(vec![FeedConfig::new(
            empty.to_str().unwrap(),
            FeedFormat::Json,
        )]);
        for i in 0..1000 {
            s.write_item(&item(json!({"n": i})));
        }
        // Interrupted: no close(), the sink is just dropped.
    }
    let v: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1000);
    assert!(read(&xml).ends_with("<item><n>999</n></item>\n</items>"));
    assert_eq!(read(&empty), "[]");
}

#[test]
fn panicking_thread_does_not_lose_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let s = Arc::new(sink(vec![FeedConfig::new(
        json.to_str().unwrap(),
        FeedFormat::Json,
    )]));
    let s2 = s.clone();
    let r = std::thread::spawn(move || {
        s2.write_item(&item(json!({"a": 1})));
        panic!("spider bug");
    })
    .join();
    assert!(r.is_err());
    s.write_item(&item(json!({"a": 2})));
    drop(s);
    let v: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(v, json!([{"a": 1}, {"a": 2}]));
}

#[test]
fn batches_split_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = FeedConfig::new(
        &format!("{}/b-%(batch_id)02d.json", dir.path().display()),
        FeedFormat::Json,
    );
    c.batch_item_count = 3;
    let s = sink(vec![c]);
    for n in 0..7 {
        s.write_item(&item(json!({"n": n})));
    }
    s.close().unwrap();
    let counts: Vec<usize> = (1..=3)
        .map(|b| {
            let v: serde_json::Value =
                serde_json::from_str(&read(&dir.path().join(format!("b-{b:02}.json")))).unwrap();
            v.as_array().unwrap().len()
        })
        .collect();
    assert_eq!(counts, vec![3, 3, 1]);
    assert!(!dir.path().join("b-04.json").exists());
    assert_eq!(s.stats()["feedexport/success_count/FileFeedStorage"], 3);
}

#[test]
fn append_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jl");
    for _ in 0..2 {
        let s = sink(vec![FeedConfig::new(
            p.to_str().unwrap(),
            FeedFormat::JsonLines,
        )]);
        s.write_item(&item(json!({"a": 1})));
    }
    assert_eq!(read(&p).lines().count(), 2);
    let mut c = FeedConfig::new(p.to_str().unwrap(), FeedFormat::JsonLines);
    c.overwrite = true;
    sink(vec![c]).write_item(&item(json!({"a": 1})));
    assert_eq!(read(&p).lines().count(), 1);
}

#[test]
fn construction_errors() {
    let storages = FeedStorages::builtin();
    let e = FeedSink::new(
        vec![FeedConfig::new("/tmp/%(spider)s.json", FeedFormat::Json)],
        &storages,
        params(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("%(spider)s"), "{e}");
    let e = FeedSink::new(
        vec![FeedConfig::new("ftp://h/x.json", FeedFormat::Json)],
        &storages,
        params(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("ftp://h/x.json") && e.contains("file, stdout"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("f");
    std::fs::write(&blocker, "").unwrap();
    let uri = format!("{}/sub/x.json", blocker.display());
    let e = FeedSink::new(
        vec![FeedConfig::new(&uri, FeedFormat::Json)],
        &storages,
        params(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains(&uri), "{e}");
}

#[test]
fn store_empty_false_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("none.json");
    let mut c = FeedConfig::new(p.to_str().unwrap(), FeedFormat::Json);
    c.store_empty = false;
    sink(vec![c]).close().unwrap();
    assert!(!p.exists());
}

#[test]
fn concurrent_writers_are_fast_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let jl = dir.path().join("x.jl");
    let csv = dir.path().join("x.csv");
    let s = Arc::new(sink(vec![
        FeedConfig::new(jl.to_str().unwrap(), FeedFormat::JsonLines),
        FeedConfig::new(csv.to_str().unwrap(), FeedFormat::Csv),
    ]));
    let start = std::time::Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for n in 0..5000 {
                    s.write_item(&item(json!({"t": t, "n": n, "title": "Product title ünïcode", "price": 12.34, "tags": ["x", "y"]})));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    s.close().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(read(&jl).lines().count(), 20_000);
    assert_eq!(read(&csv).lines().count(), 20_001);
    // 20,000 items well under the 4 s a 5,000 items/s budget allows, even unoptimised.
    assert!(elapsed.as_secs_f64() < 4.0, "{elapsed:?}");
}
