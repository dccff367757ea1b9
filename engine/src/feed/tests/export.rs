use super::items;
use crate::feed::{new_exporter, ExportOptions, FeedFormat};
use crate::Item;

fn export(format: FeedFormat, options: ExportOptions, items: &[Item]) -> String {
    let mut out = Vec::new();
    let mut e = new_exporter(format, options);
    e.start(&mut out).unwrap();
    for i in items {
        e.export_item(i, &mut out).unwrap();
    }
    e.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn opts(indent: Option<usize>) -> ExportOptions {
    ExportOptions {
        indent,
        ..Default::default()
    }
}

const L1: &str =
    r#"{"title": "Café ☕", "price": 12.5, "tags": ["a", "b"], "meta": {"k": 1, "n": null}}"#;
const L2: &str = r#"{"title": "A \"quoted\", <tag> & co\nline2", "price": 3, "in_stock": true}"#;

#[test]
fn jsonlines_exact() {
    let out = export(FeedFormat::JsonLines, opts(Some(0)), &items());
    assert_eq!(out, format!("{L1}\n{L2}\n"));
    assert_eq!(export(FeedFormat::JsonLines, opts(Some(0)), &[]), "");
}

#[test]
fn json_exact_for_each_indent() {
    assert_eq!(
        export(FeedFormat::Json, opts(Some(0)), &items()),
        format!("[\n{L1},\n{L2}\n]")
    );
    assert_eq!(
        export(FeedFormat::Json, opts(None), &items()),
        format!("[{L1},{L2}]")
    );
    let pretty = export(FeedFormat::Json, opts(Some(2)), &items()[..1]);
    let expected = "[\n{\n  \"title\": \"Café ☕\",\n  \"price\": 12.5,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"meta\": {\n    \"k\": 1,\n    \"n\": null\n  }\n}\n]";
    assert_eq!(pretty, expected);
    for indent in [None, Some(0), Some(4)] {
        assert_eq!(export(FeedFormat::Json, opts(indent), &[]), "[]");
        let out = export(FeedFormat::Json, opts(indent), &items());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["title"], "Café ☕");
    }
}

#[test]
fn json_ensure_ascii_and_fields() {
    let o = ExportOptions {
        fields: Some(vec![
            ("price".into(), "price".into()),
            ("title".into(), "name".into()),
            ("nope".into(), "nope".into()),
        ]),
        indent: None,
        ensure_ascii: true,
    };
    let out = export(FeedFormat::JsonLines, o, &items()[..1]);
    assert_eq!(out, "{\"price\": 12.5, \"name\": \"Caf\\u00e9 \\u2615\"}\n");
    let emoji = super::item(serde_json::json!({"e": "😀"}));
    let o = ExportOptions {
        ensure_ascii: true,
        ..Default::default()
    };
    assert_eq!(
        export(FeedFormat::JsonLines, o, &[emoji]),
        "{\"e\": \"\\ud83d\\ude00\"}\n"
    );
}

#[test]
fn csv_exact() {
    let out = export(FeedFormat::Csv, opts(Some(0)), &items());
    let expected = "title,price,tags,meta\r\nCafé ☕,12.5,\"a,b\",\"{\"\"k\"\": 1, \"\"n\"\": null}\"\r\n\"A \"\"quoted\"\", <tag> & co\nline2\",3,,\r\n";
    assert_eq!(out, expected);
    assert_eq!(export(FeedFormat::Csv, opts(Some(0)), &[]), "");
}

#[test]
fn csv_fields_and_header_once() {
    let o = ExportOptions {
        fields: Some(vec![
            ("in_stock".into(), "stock".into()),
            ("title".into(), "title".into()),
        ]),
        ..Default::default()
    };
    let many: Vec<Item> = (0..500).map(|i| items()[i % 2].clone()).collect();
    let out = export(FeedFormat::Csv, o, &many);
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(lines[0], "stock,title");
    assert_eq!(out.matches("stock,title").count(), 1);
    assert_eq!(lines[1], ",Café ☕");
    assert!(lines[2].starts_with("True,\"A "));
    let one = super::item(serde_json::json!({"a": ""}));
    assert_eq!(export(FeedFormat::Csv, opts(None), &[one]), "a\r\n\"\"\r\n");
}

#[test]
fn xml_exact() {
    let out = export(FeedFormat::Xml, opts(Some(0)), &items());
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<items>\n\
<item><title>Café ☕</title><price>12.5</price><tags><value>a</value><value>b</value></tags><meta><k>1</k><n></n></meta></item>\n\
<item><title>A \"quoted\", &lt;tag&gt; &amp; co\nline2</title><price>3</price><in_stock>True</in_stock></item>\n</items>";
    assert_eq!(out, expected);
    assert_eq!(
        export(FeedFormat::Xml, opts(None), &[]),
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<items></items>"
    );
}

#[test]
fn xml_indented_and_sanitised() {
    let it = super::item(serde_json::json!({"1st name": "x\u{1}y", "a:b": ["p"], "ok-name.2": 1}));
    let out = export(FeedFormat::Xml, opts(Some(2)), &[it]);
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<items>\n  <item>\n    <_1st_name>xy</_1st_name>\n    <a_b>\n      <value>p</value>\n    </a_b>\n    <ok-name.2>1</ok-name.2>\n  </item>\n</items>";
    assert_eq!(out, expected);
    // Well-formed for a real parser.
    let mut reader = quick_xml::Reader::from_str(&out);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            _ => continue,
        }
    }
}
