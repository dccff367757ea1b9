//! The script API a callback sees, and every sandbox limit.

use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::json;

use super::*;

const BASE: &str = "https://shop.example/stores/list.html?page=2";

fn response(content_type: &str, body: &str) -> Response {
    let url = Url::parse(BASE).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Content-Type", content_type.parse().unwrap());
    headers.insert("X-Shop", "acme".parse().unwrap());
    let request = Request::get(url.clone())
        .callback("listing")
        .cb_kwarg("city", "Lyon")
        .cb_kwarg("ids", json!([1, 2]));
    Response::new(request, url, 200, headers, Bytes::from(body.to_string()))
}

fn function(source: &str, name: &str, arity: usize) -> ScriptFn {
    let script = Arc::new(Script::compile(source).unwrap_or_else(|e| panic!("{e}")));
    ScriptFn::new(&script, name, arity).unwrap()
}

/// Runs `fn cb(response)` (with `body` in the function) on an HTML page.
fn run(body: &str) -> (Vec<ScriptOutput>, Option<String>) {
    let f = function(&format!("fn cb(response) {{ {body} }}"), "cb", 1);
    let page = "<html><head><base href='/base/'></head><body>\
                <a class=s href='a.html'>A</a><a class=s href='/b'>B</a></body></html>";
    let r = response("text/html; charset=utf-8", page);
    f.callback(&r, &|cb| matches!(cb, "listing" | "detail"), "listing")
}

fn items(out: &[ScriptOutput]) -> Vec<Value> {
    out.iter()
        .filter_map(|o| match o {
            ScriptOutput::Item(m) => Some(Value::Object(m.clone())),
            _ => None,
        })
        .collect()
}

fn requests(out: &[ScriptOutput]) -> Vec<&Request> {
    out.iter()
        .filter_map(|o| match o {
            ScriptOutput::Request(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

/// The error of a callback whose body must fail, and how long it ran.
fn failure(body: &str) -> (String, std::time::Duration) {
    let t = Instant::now();
    let (_, e) = run(body);
    (e.expect("the script should fail"), t.elapsed())
}

#[test]
fn the_response_object() {
    let (out, e) = run(r#"
        #{ url: response.url, status: response.status, shop: response.headers["x-shop"],
           type: response.headers["content-type"],
           names: response.css("a.s::text"), hrefs: response.xpath("//a/@href"),
           joined: response.urljoin("../x?y=1"), city: response.kwargs.city,
           ids: response.kwargs.ids, has_text: response.text.contains("<a class=s"),
           nothing: () }
    "#);
    assert_eq!(e, None);
    assert_eq!(
        items(&out),
        vec![json!({
            "url": BASE, "status": 200, "shop": "acme", "type": "text/html; charset=utf-8",
            "names": ["A", "B"], "hrefs": ["a.html", "/b"],
            "joined": "https://shop.example/x?y=1", "city": "Lyon", "ids": [1, 2],
            "has_text": true, "nothing": null
        })]
    );
}

#[test]
fn json_bodies_and_json_in_strings() {
    let f = function(
        r#"fn cb(r) {
            let data = r.json();
            data.stores.map(|s| #{ id: s.id, hours: parse_json(s.hours).mon, x: s.geo[0] })
        }"#,
        "cb",
        1,
    );
    let body = json!({"stores": [
        {"id": 1, "hours": "{\"mon\": \"9-5\"}", "geo": [1.5, 2]},
        {"id": 2, "hours": "{\"mon\": null}", "geo": [-3, 0]},
    ]});
    let (out, e) = f.callback(
        &response("application/json", &body.to_string()),
        &|_| true,
        "x",
    );
    assert_eq!(e, None);
    assert_eq!(
        items(&out),
        vec![
            json!({"id": 1, "hours": "9-5", "x": 1.5}),
            json!({"id": 2, "hours": null, "x": -3})
        ]
    );
    let (_, e) = f.callback(&response("text/html", "<p>not json"), &|_| true, "x");
    assert!(e.unwrap().contains("invalid JSON"));
}

#[test]
fn requests_resolve_and_check_their_callback() {
    let (out, e) = run(r#"[
        request("../detail/1?x"),
        request(#{ url: "/api", method: "put", json: #{ a: [1, "b"] }, callback: "detail",
                   kwargs: #{ name: "n", n: 3 }, priority: 5, headers: #{ "X-A": "1" } }),
        request(#{ url: "https://other.example/f", form: #{ q: "a b", n: 2 } }),
        item(#{ k: 1 }),
    ]"#);
    assert_eq!(e, None);
    let reqs = requests(&out);
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].url.as_str(), "https://shop.example/detail/1?x");
    assert_eq!(reqs[0].callback.as_deref(), Some("listing"));
    assert_eq!(reqs[0].method, http::Method::GET);
    assert_eq!(reqs[0].depth, 1);
    assert_eq!(reqs[1].method.as_str(), "PUT");
    assert_eq!(reqs[1].callback.as_deref(), Some("detail"));
    assert_eq!(reqs[1].priority, 5);
    assert_eq!(reqs[1].headers["x-a"], "1");
    assert_eq!(reqs[1].headers["content-type"], "application/json");
    assert_eq!(&reqs[1].body[..], br#"{"a":[1,"b"]}"#);
    assert_eq!(
        reqs[1].cb_kwargs,
        *json!({"name": "n", "n": 3}).as_object().unwrap()
    );
    assert_eq!(reqs[2].method, http::Method::POST);
    assert_eq!(&reqs[2].body[..], b"n=2&q=a+b");
    assert_eq!(items(&out), vec![json!({"k": 1})]);

    for (body, want) in [
        (
            r#"[#{a: 1}, request(#{ url: "/x", callback: "nope" })]"#,
            "not a callback of the spec",
        ),
        (r#"request("ftp://x.example/")"#, "is not http or https"),
        (
            r#"request(#{ url: "/x", bogus: 1 })"#,
            "unknown request key \"bogus\"",
        ),
        (
            r#"request(#{ url: "/x", body: "a", json: 1 })"#,
            "give one of body, json and form",
        ),
        (r#"[1]"#, "neither an item"),
        (r#"#{ r: response }"#, "cannot be stored in an item"),
    ] {
        let (out, e) = run(body);
        let e = e.unwrap_or_else(|| panic!("{body} should fail"));
        assert!(e.contains(want), "{body}: {e}");
        // What came before the bad value is kept.
        assert_eq!(out.len(), usize::from(body.starts_with("[#{a")), "{body}");
    }
}

#[test]
fn processors_map_and_drop_values() {
    let f = function(
        r#"fn clean(v) { if v == "skip" { () } else { v.trim(); v.to_upper() } }
           fn num(v) { v.len() }"#,
        "clean",
        1,
    );
    assert_eq!(f.process(" ab ".into()).unwrap().as_deref(), Some("AB"));
    assert_eq!(f.process("skip".into()).unwrap(), None);
    let n = function("fn num(v) { v.len() }", "num", 1);
    assert_eq!(n.process("abc".into()).unwrap().as_deref(), Some("3"));
    let bad = function("fn bad(v) { v.nope() }", "bad", 1);
    assert!(bad.process("x".into()).unwrap_err().contains("nope"));
}

#[test]
fn compile_errors_name_line_and_column() {
    let e = Script::compile("fn a(x) {\n  let y = ;\n}").unwrap_err();
    assert_eq!(e.path, "script");
    assert!(e.message.contains("syntax error at 2:11"), "{}", e.message);
    let e = Script::compile(&"// x\n".repeat(60_000)).unwrap_err();
    assert!(e.message.contains("script too long"), "{}", e.message);
    let s = Script::compile("fn one(a) { a } fn two(a, b) { a }").unwrap();
    assert!(s.check_fn("one", 1).is_ok());
    assert!(s
        .check_fn("two", 1)
        .unwrap_err()
        .contains("must take 1 parameter"));
    assert!(s
        .check_fn("three", 1)
        .unwrap_err()
        .contains("no function \"three\""));
}

#[test]
fn no_imports_no_eval_no_io() {
    let e = Script::compile(r#"import "x" as y; fn f(r) { 1 }"#).unwrap_err();
    assert!(e.message.contains("syntax error"), "{}", e.message);
    let e = Script::compile(r#"fn f(r) { eval("1 + 1") }"#).unwrap_err();
    assert!(e.message.contains("'eval' is disabled"), "{}", e.message);
    for f in [
        r#"open_file("/etc/passwd")"#,
        "timestamp()",
        r#"http_get("x")"#,
    ] {
        let (e, _) = failure(f);
        assert!(e.contains("Function not found"), "{f}: {e}");
    }
}

#[test]
fn an_endless_loop_stops() {
    let (e, took) = failure("loop {}");
    assert!(
        e.contains("Too many operations") || e.contains("deadline"),
        "{e}"
    );
    assert!(took < CALL_DEADLINE * 5, "{took:?}");
}

#[test]
fn a_slow_loop_stops_at_the_deadline() {
    // Few operations, each slow: the clock stops it, not the operation count.
    let (e, took) = failure(r#"loop { let s = "y"; s.pad(3000000, "y"); s.index_of("z"); }"#);
    assert!(e.contains("deadline"), "{e}");
    assert!(took < CALL_DEADLINE * 5, "{took:?}");
}

#[test]
fn data_sizes_are_capped() {
    let (e, _) = failure(r#"let s = "x"; loop { s += s; }"#);
    assert!(e.contains("Length of string"), "{e}");
    let (e, _) = failure("let a = []; a.pad(200000, 1);");
    assert!(e.contains("Size of array"), "{e}");
    let (e, _) = failure("let a = [1]; loop { a += a; }");
    assert!(e.contains("Size of array"), "{e}");
    // Entries of nested maps count together, and so do strings inside an array.
    let (e, _) = failure("let a = []; a.pad(20000, #{ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });");
    assert!(e.contains("Size of object map"), "{e}");
    let (e, _) = failure(r#"let s = "y"; s.pad(1000000, "y"); let a = []; a.pad(5, s);"#);
    assert!(e.contains("Length of string"), "{e}");
}

#[test]
fn recursion_and_deep_values_are_bounded() {
    let f = function("fn f(r) { f(r) }", "f", 1);
    let (_, e) = f.callback(&response("text/html", ""), &|_| true, "x");
    assert!(e.unwrap().contains("Stack overflow"));
    // Values nested as deep as the size limits allow neither crash the interpreter
    // (its own thread has a large stack) nor the item conversion.
    // (Each step re-measures the whole value: the clock stops it first in a debug
    // build.)
    let (e, _) = failure("let a = []; loop { a = [#{ x: a }]; }");
    assert!(e.contains("Size of") || e.contains("deadline"), "{e}");
    let deep = "let a = []; for i in 0..500 { a = [#{ x: a }]; }";
    for then in [
        "print(a); #{}",
        "debug(a); #{}",
        "let b = a; #{ same: a == b }",
    ] {
        let (_, e) = run(&format!("{deep} {then}"));
        assert_eq!(e, None, "{then}");
    }
    let (e, _) = failure(&format!("{deep} a"));
    assert!(e.contains("nested deeper than 64"), "{e}");
    let src = format!("fn f(r) {{ {}1{} }}", "[".repeat(100), "]".repeat(100));
    let e = Script::compile(&src).unwrap_err();
    assert!(e.message.contains("maximum complexity"), "{}", e.message);
}

#[test]
fn output_is_capped() {
    let (out, e) = run("let a = []; a.pad(20000, #{ i: 1 }); a");
    assert_eq!(out.len(), MAX_OUTPUTS);
    assert!(e.unwrap().contains("output capped at 10000 items"));
    let (out, e) = run(r#"let s = "y"; s.pad(3000000, "y"); [#{ s: s }, #{ s: s }]"#);
    // 3 MB strings in one array are over the string limit already.
    assert!(out.is_empty());
    assert!(e.unwrap().contains("Length of string"));
    let (out, e) = run(r#"let s = "y"; s.pad(3000000, "y");
           let a = []; for i in 0..8 { a.push(request(#{ url: "/x", body: s })); } a"#);
    assert_eq!(out.len(), 5);
    assert!(e.unwrap().contains("output capped at 16777216 bytes"));
}

#[test]
fn print_and_debug_go_to_the_log_and_the_call_goes_on() {
    let (out, e) = run(r#"print("hello"); debug(#{ a: 1 }); #{ ok: true }"#);
    assert_eq!(e, None);
    assert_eq!(items(&out), vec![json!({"ok": true})]);
}
