//! Scripted callbacks and processors (`script` in a spec, Rhai), crawled against a real
//! store-locator server on loopback: a JSON API whose records each fan out into two
//! items, with JSON nested in JSON strings; detail pages reached by scripted requests
//! carrying kwargs; a scripted callback that still follows links; script processors;
//! and a hostile script that does not stop the rest of the crawl. Plus the spec errors
//! scripts can have, all reported at once.

mod common;

use axum::extract::Path;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use trawl_engine::spec::{Spec, SpecFormat};

use common::{crawl_spec, serve_router, stat};

/// The store API: each record has its geo data as a JSON string (as some APIs do).
fn api() -> Value {
    let stores: Vec<Value> = [
        (1, "Acme Lyon", 45.76, 4.83),
        (2, "Acme Oslo", 59.91, 10.75),
    ]
    .iter()
    .map(|(id, name, lat, lng)| {
        json!({
            "id": id,
            "name": name,
            "geo": json!({"lat": lat, "lng": lng}).to_string(),
            "href": format!("/stores/{id}"),
        })
    })
    .collect();
    json!({ "data": { "stores": stores } })
}

fn detail(id: u32) -> String {
    format!(
        "<html><body><h1>Store {id}</h1><p class=addr> {id} Main St </p>\
         <a class=reviews href='/stores/{id}/reviews'>reviews</a></body></html>"
    )
}

fn reviews(id: u32) -> String {
    format!("<html><body><h2> great store {id} </h2><b class=stars>0</b></body></html>")
}

const SCRIPT: &str = r#"
// One store record gives a store item and a location item, and a request for its
// detail page carrying what the page lacks.
fn parse_stores(response) {
    let out = [];
    for s in response.json().data.stores {
        let geo = parse_json(s.geo);
        out.push(#{ kind: "store", id: s.id, name: s.name });
        out.push(item(#{ kind: "location", id: s.id, lat: geo.lat, lng: geo.lng }));
        out.push(request(#{ url: s.href, callback: "detail",
                            kwargs: #{ id: s.id, name: s.name } }));
    }
    out.push(request(#{ url: "/trap", callback: "hostile" }));
    out
}

fn parse_detail(response) {
    let address = response.css("p.addr::text")[0];
    address.trim();
    #{ kind: "detail", id: response.kwargs.id, name: response.kwargs.name,
       address: address, status: response.status,
       title: response.xpath("//h1/text()") }
}

fn spin(response) { let n = 0; loop { n += 1; } }

fn shout(v) { v.to_upper() }
fn nonzero(v) { if v == "0" { () } else { v } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_store_locator() {
    let base = serve_router(
        Router::new()
            .route(
                "/api/stores",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        api().to_string(),
                    )
                }),
            )
            .route(
                "/stores/{id}",
                get(|Path(id): Path<u32>| async move { Html(detail(id)) }),
            )
            .route(
                "/stores/{id}/reviews",
                get(|Path(id): Path<u32>| async move { Html(reviews(id)) }),
            )
            .route("/trap", get(|| async { Html("<p>trap</p>") })),
    )
    .await;
    let spec = format!(
        r#"
name = "scripted"
start_urls = ["{base}/api/stores"]
start_callback = "stores"
script = '''{SCRIPT}'''

[callbacks.stores]
script = "parse_stores"

[callbacks.detail]
script = "parse_detail"
follow = [{{ css = "a.reviews", callback = "reviews" }}]

[callbacks.hostile]
script = "spin"

[callbacks.reviews.fields]
title = {{ css = "h2::text", process = [{{ script = "shout" }}] }}
stars = {{ css = ".stars::text", process = [{{ script = "nonzero" }}], default = "none" }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    // The API, two details, two review pages and the trap: the hostile script on the
    // trap stopped at its limit and the crawl went on.
    assert_eq!(stat(&outcome, "response_received_count"), 6);
    let want = [
        json!({"kind": "store", "id": 1, "name": "Acme Lyon"}),
        json!({"kind": "location", "id": 1, "lat": 45.76, "lng": 4.83}),
        json!({"kind": "store", "id": 2, "name": "Acme Oslo"}),
        json!({"kind": "location", "id": 2, "lat": 59.91, "lng": 10.75}),
        json!({"kind": "detail", "id": 1, "name": "Acme Lyon", "address": "1 Main St",
               "status": 200, "title": ["Store 1"]}),
        json!({"kind": "detail", "id": 2, "name": "Acme Oslo", "address": "2 Main St",
               "status": 200, "title": ["Store 2"]}),
        json!({"title": "GREAT STORE 1", "stars": "none"}),
        json!({"title": "GREAT STORE 2", "stars": "none"}),
    ];
    let got: Vec<Value> = items.into_iter().map(Value::Object).collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for w in &want {
        assert!(got.contains(w), "{w} missing from {got:#?}");
    }
}

fn errors(text: &str) -> Vec<(String, String)> {
    let e = Spec::parse(text, SpecFormat::Toml, &[]).unwrap_err();
    e.all()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect()
}

#[track_caller]
fn has(all: &[(String, String)], path: &str, words: &str) {
    assert!(
        all.iter().any(|(p, m)| p == path && m.contains(words)),
        "no error at {path} mentioning {words:?} in {all:?}"
    );
}

#[test]
fn script_errors_are_all_reported_with_their_paths() {
    let spec = r#"
name = "s"
start_urls = ["http://127.0.0.1:1/"]
start_callback = "a"
script = '''
fn one(r) { [] }
fn two(a, b) { a }
'''

[callbacks.a]
script = "missing"

[callbacks.b]
script = "two"

[callbacks.c]
script = "one"
items = { css = "li" }
paginate = { param = "page" }
follow = [{ css = "a" }]

[callbacks.c.fields]
x = { css = "b::text" }

[callbacks.d.fields]
x = { css = "b::text", process = ["lower", { script = "nope" }, { script = 3 }] }
y = { css = "b::text", process = [{ script = "two" }] }
z = { css = "b::text", process = [{ script = "one" }] }
"#;
    let all = errors(spec);
    has(&all, "callbacks.a.script", "no function \"missing\"");
    has(&all, "callbacks.b.script", "must take 1 parameter");
    has(&all, "callbacks.c.items", "scripted callback");
    has(&all, "callbacks.c.fields", "scripted callback");
    has(&all, "callbacks.c.paginate", "scripted callback");
    has(
        &all,
        "callbacks.d.fields.x.process[1]",
        "no function \"nope\"",
    );
    has(
        &all,
        "callbacks.d.fields.x.process[2]",
        "script takes a function name",
    );
    has(
        &all,
        "callbacks.d.fields.y.process[0]",
        "must take 1 parameter",
    );
    assert!(
        !all.iter()
            .any(|(p, _)| p.starts_with("callbacks.d.fields.z")),
        "{all:?}"
    );

    // A syntax error names its line and column; other errors still come with it, and
    // functions of a broken script are not also reported as missing.
    let broken = spec
        .replace("fn two(a, b) { a }", "fn two(a, b) {\n  let = 1;\n}")
        .replace(
            "start_urls = [\"http://127.0.0.1:1/\"]",
            "start_urls = [\"ftp://x/\"]",
        );
    let all = errors(&broken);
    has(&all, "script", "syntax error at 3:7");
    has(&all, "start_urls[0]", "unsupported URL scheme");
    assert!(!all.iter().any(|(p, _)| p.ends_with(".script")), "{all:?}");

    // No script at all: every use says so.
    let none = spec.replace("script = '''", "x_script = '''");
    let none = none.replacen("x_script = '''", "description = '''", 1);
    let all = errors(&none);
    has(
        &all,
        "callbacks.a.script",
        "the spec has no top-level script",
    );
    has(
        &all,
        "callbacks.d.fields.z.process[0]",
        "the spec has no top-level script",
    );

    // Too long.
    let long = spec.replace(
        "fn one(r) { [] }",
        &format!("fn one(r) {{ [] }}\n{}", "//\n".repeat(90_000)),
    );
    let all = errors(&long);
    has(&all, "script", "script too long");
}

/// The spec reference's example of scripted callbacks is a valid spec.
#[test]
fn the_documented_example_compiles() {
    let readme = include_str!("../../docs/SPECS.md");
    let start = readme
        .find("script = '''\nfn parse_stores")
        .expect("the example");
    let end = start + readme[start..].find("```").expect("its end");
    let spec = format!(
        "name = \"readme\"\nstart_urls = [\"http://127.0.0.1:1/\"]\nstart_callback = \"stores\"\n{}",
        &readme[start..end]
    );
    let spec = Spec::parse(&spec, SpecFormat::Toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.callbacks["stores"].script.is_some());
    assert_eq!(spec.callbacks["store"].follow.len(), 1);
}
