use serde_json::json;

use crate::feed::{parse_feeds, FeedConfig, FeedDefaults, FeedError, FeedFormat};
use crate::settings::{Priority, Settings};

fn feeds(v: serde_json::Value) -> Result<Vec<FeedConfig>, FeedError> {
    parse_feeds(v.as_object().unwrap(), &FeedDefaults::default())
}

#[test]
fn feeds_setting_parses_every_option() {
    let c = feeds(json!({
        "out/%(name)s-%(batch_id)03d.csv": {
            "format": "csv", "fields": {"title": "Title", "price": "Price"}, "overwrite": true,
            "indent": 4, "encoding": "UTF-8", "batch_item_count": 100, "store_empty": false,
            "item_export_kwargs": {"x": 1}
        },
        "items.jl": {},
        "x.json": {"fields": ["a", "b"], "indent": null, "encoding": null}
    }))
    .unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].format, FeedFormat::Csv);
    assert_eq!(
        c[0].fields,
        Some(vec![
            ("title".into(), "Title".into()),
            ("price".into(), "Price".into())
        ])
    );
    assert!(c[0].overwrite && !c[0].store_empty);
    assert_eq!((c[0].indent, c[0].batch_item_count), (Some(4), 100));
    assert_eq!(c[1], FeedConfig::new("items.jl", FeedFormat::JsonLines));
    assert_eq!(
        c[2].fields,
        Some(vec![("a".into(), "a".into()), ("b".into(), "b".into())])
    );
    assert_eq!(c[2].indent, None);
    assert!(c[2].export_options().ensure_ascii);
}

#[test]
fn feeds_errors_are_clear() {
    let err = |v| feeds(v).unwrap_err().to_string();
    let e = err(json!({"a.out": {"format": "yaml"}}));
    assert!(
        e.contains("\"yaml\"") && e.contains("jsonlines, jsonl, jl, json, csv, xml"),
        "{e}"
    );
    let e = err(json!({"a.out": {}}));
    assert!(e.contains("a.out") && e.contains("cannot infer"), "{e}");
    let e = err(json!({"a.json": {"formt": "json"}}));
    assert!(
        e.contains("\"formt\"") && e.contains("unknown feed option"),
        "{e}"
    );
    let e = err(json!({"a.json": {"overwrite": "maybe"}}));
    assert!(e.contains("overwrite") && e.contains("boolean"), "{e}");
    let e = err(json!({"a.json": {"batch_item_count": -1}}));
    assert!(e.contains("batch_item_count"), "{e}");
    let e = err(json!({"a.json": {"batch_item_count": 10}}));
    assert!(e.contains("%(batch_id)d"), "{e}");
    let e = err(json!({"a.json": {"encoding": "latin-1"}}));
    assert!(e.contains("latin-1") && e.contains("utf-8"), "{e}");
    let e = err(json!({"a.json": {"fields": 3}}));
    assert!(e.contains("fields"), "{e}");
    let e = err(json!({"a.json": {"indent": "wide"}}));
    assert!(e.contains("indent"), "{e}");
    let e = err(json!({"a.json": 5}));
    assert!(e.contains("a.json") && e.contains("object"), "{e}");
}

#[test]
fn from_settings_applies_defaults() {
    let mut s = Settings::new();
    s.set(
        "FEEDS",
        json!({"a.json": {"format": "json"}, "b.csv": {"fields": ["z"]}}),
        Priority::Cmdline,
    );
    s.set_pair("FEED_EXPORT_FIELDS=x, y", Priority::Cmdline)
        .unwrap();
    s.set_pair("FEED_EXPORT_INDENT=2", Priority::Cmdline)
        .unwrap();
    let c = FeedConfig::from_settings(&s).unwrap();
    assert_eq!(
        c[0].fields,
        Some(vec![("x".into(), "x".into()), ("y".into(), "y".into())])
    );
    assert_eq!(c[0].indent, Some(2));
    assert_eq!(c[1].fields, Some(vec![("z".into(), "z".into())]));
    assert!(c[0].store_empty && !c[0].export_options().ensure_ascii);
    assert!(FeedConfig::from_settings(&Settings::new())
        .unwrap()
        .is_empty());
}

#[test]
fn cli_outputs() {
    let d = FeedDefaults::default();
    let cli = |a: &str, o| FeedConfig::from_cli(a, o, &d);
    let c = cli("items.jsonl", false).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format, c.overwrite),
        ("items.jsonl", FeedFormat::JsonLines, false)
    );
    let c = cli("items.out:csv", true).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format, c.overwrite),
        ("items.out", FeedFormat::Csv, true)
    );
    let c = cli("-:json", false).unwrap();
    assert_eq!((c.uri.as_str(), c.format), ("stdout:", FeedFormat::Json));
    let c = cli(r"C:\out\items.xml", false).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format),
        (r"C:\out\items.xml", FeedFormat::Xml)
    );
    let c = cli("s3://bucket/%(name)s/items.jl", false).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format),
        ("s3://bucket/%(name)s/items.jl", FeedFormat::JsonLines)
    );
    let c = cli("s3://bucket/items:json", false).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format),
        ("s3://bucket/items", FeedFormat::Json)
    );
    let c = cli("file:///tmp/x.csv", false).unwrap();
    assert_eq!(
        (c.uri.as_str(), c.format),
        ("file:///tmp/x.csv", FeedFormat::Csv)
    );
    let e = cli("items.json:yaml", false).unwrap_err().to_string();
    assert!(e.contains("\"yaml\""), "{e}");
    let e = cli("stdout:", false).unwrap_err().to_string();
    assert!(e.contains("cannot infer"), "{e}");
    let e = cli("items", false).unwrap_err().to_string();
    assert!(e.contains("\"items\""), "{e}");
}
