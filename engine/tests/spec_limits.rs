//! Hostile specs are rejected with a field path, never crash the process: selector,
//! regex and document nesting and the size of every list are bounded. Each spec is
//! compiled on a thread with a 2 MiB stack, the size of a tokio worker's, as `trawl
//! serve` does when a spec is uploaded.

use trawl_engine::select::{
    Query, SelectError, MAX_SELECTOR_LEN, MAX_SELECTOR_NESTING, MAX_XPATH_PREDICATE_NESTING,
};
use trawl_engine::spec::limits::{
    MAX_CALLBACKS, MAX_FIELDS_PER_CALLBACK, MAX_PATTERN_LEN, MAX_RULES, MAX_SPEC_BYTES,
    MAX_SPEC_NESTING, MAX_START_URLS,
};
use trawl_engine::spec::{Spec, SpecError, SpecFormat};

const WORKER_STACK: usize = 2 << 20;

/// Runs `f` on a thread with a tokio worker's stack.
fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// A valid JSON spec whose product callback has one field `price` given by `field`.
fn json_with_field(field: &str) -> String {
    format!(
        r#"{{"name": "t", "start_urls": ["http://127.0.0.1:1/"], "start_callback": "product",
            "callbacks": {{"product": {{"fields": {{"price": {field}}}}}}}}}"#
    )
}

fn parse_json(text: String) -> Result<Spec, SpecError> {
    on_worker_stack(move || Spec::parse(&text, SpecFormat::Json, &[]))
}

fn parse_toml(text: String) -> Result<Spec, SpecError> {
    on_worker_stack(move || Spec::parse(&text, SpecFormat::Toml, &[]))
}

#[track_caller]
fn assert_err(r: Result<Spec, SpecError>, path: &str, words: &[&str]) {
    let e = r.expect_err("the spec should be rejected");
    assert_eq!(e.path, path, "wrong path in {e}");
    for w in words {
        assert!(e.message.contains(w), "{e} should mention {w:?}");
    }
}

#[test]
fn xpath_nested_60_parentheses_is_an_error_not_a_crash() {
    let x = format!("{}//a{}", "(".repeat(60), ")".repeat(60));
    let r = parse_json(json_with_field(&format!(r#"{{"xpath": "{x}"}}"#)));
    assert_err(
        r,
        "callbacks.product.fields.price.xpath",
        &["nested 60 levels deep", "limit 32"],
    );
}

#[test]
fn xpath_with_500_predicates_or_200_parentheses_is_an_error() {
    let preds = format!("//a{}{}", "[b".repeat(500), "]".repeat(500));
    let parens = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    for x in [preds, parens] {
        let toml = format!(
            "name = 't'\nstart_urls = ['http://127.0.0.1:1/']\nstart_callback = 'p'\n\
             [callbacks.p.fields]\nv = {{ xpath = \"{x}\" }}\n"
        );
        assert_err(
            parse_toml(toml),
            "callbacks.p.fields.v.xpath",
            &["limit 32"],
        );
    }
}

#[test]
fn xpath_2_constructs_are_syntax_errors_as_in_xpath_1() {
    let x = format!("{}1", "if (1) then 1 else ".repeat(40));
    let e = on_worker_stack(move || Query::xpath(&x)).unwrap_err();
    assert!(matches!(e, SelectError::XPathSyntax { .. }), "{e}");
}

#[test]
fn the_deepest_xpath_accepted_compiles_and_runs_on_a_worker_stack() {
    let n = MAX_SELECTOR_NESTING;
    let parens = format!("{}//h1{}", "(".repeat(n), ")".repeat(n));
    let p = MAX_XPATH_PREDICATE_NESTING;
    let preds = format!("//h1{}{}", "[not(b".repeat(p), ")]".repeat(p));
    for x in [parens, preds] {
        let n = on_worker_stack(move || {
            let q = Query::xpath(&x).expect("the deepest accepted expression compiles");
            let page = trawl_engine::select::Page::parse("<h1>x</h1>");
            page.select(&q).len()
        });
        assert_eq!(n, 1);
    }
}

#[test]
fn css_nesting_and_length_are_bounded() {
    let deep = format!("{}a{}", ":not(".repeat(40), ")".repeat(40));
    let r = parse_json(json_with_field(&format!(r#"{{"css": "{deep}"}}"#)));
    assert_err(
        r,
        "callbacks.product.fields.price.css",
        &["nested 40 levels deep"],
    );
    let long = "a ".repeat(MAX_SELECTOR_LEN);
    let r = parse_json(json_with_field(&format!(r#"{{"css": "{long}"}}"#)));
    assert_err(
        r,
        "callbacks.product.fields.price.css",
        &["too long", "limit 4096"],
    );
    let ok = format!(
        "{}a{}",
        ":is(".repeat(MAX_SELECTOR_NESTING),
        ")".repeat(MAX_SELECTOR_NESTING)
    );
    let page = trawl_engine::select::Page::parse("<a>x</a>");
    let q = Query::css(&ok).expect("the deepest accepted CSS compiles");
    assert_eq!(page.select(&q).len(), 1);
}

#[test]
fn regexes_are_bounded_by_length_and_by_the_regex_crate_nest_limit() {
    let deep = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
    let r = parse_json(json_with_field(&format!(
        r#"{{"css": "p::text", "re": "{deep}"}}"#
    )));
    assert_err(
        r,
        "callbacks.product.fields.price.re",
        &["invalid regex", "nest"],
    );
    let long = "a".repeat(MAX_PATTERN_LEN + 1);
    let r = parse_json(json_with_field(&format!(
        r#"{{"css": "p::text", "re": "{long}"}}"#
    )));
    assert_err(r, "callbacks.product.fields.price.re", &["regex too long"]);
}

#[test]
fn templates_are_bounded_by_length() {
    let long = format!("{{url}}{}", "x".repeat(MAX_PATTERN_LEN));
    let r = parse_json(json_with_field(&format!(r#"{{"value": "{long}"}}"#)));
    assert_err(
        r,
        "callbacks.product.fields.price.value",
        &["template too long"],
    );
}

#[test]
fn document_nesting_is_bounded_with_a_path() {
    let n = MAX_SPEC_NESTING + 8;
    let v = format!("{}1{}", "[".repeat(n), "]".repeat(n));
    let r = parse_json(json_with_field(&format!(r#"{{"value": {v}}}"#)));
    let e = r.unwrap_err();
    assert!(
        e.path
            .starts_with("callbacks.product.fields.price.value[0][0]"),
        "{e}"
    );
    assert!(e.message.contains("nested deeper than 32"), "{e}");
    // Far deeper documents stop in the parsers' own recursion limits.
    for n in [1000, 100_000] {
        let v = format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert_err(
            parse_json(json_with_field(&format!(r#"{{"value": {v}}}"#))),
            "spec",
            &["invalid JSON"],
        );
        let toml = format!(
            "name = 't'\n[args]\nz = {}1{}\n",
            "[".repeat(n),
            "]".repeat(n)
        );
        assert_err(parse_toml(toml), "spec", &["invalid TOML"]);
        let toml = format!(
            "name = 't'\n[args]\nz = {}1{}\n",
            "{a=".repeat(n),
            "}".repeat(n)
        );
        assert_err(parse_toml(toml), "spec", &["invalid TOML"]);
    }
}

#[test]
fn spec_text_size_is_bounded() {
    let text = format!("name = 't'\n# {}\n", "x".repeat(MAX_SPEC_BYTES));
    assert_err(parse_toml(text), "spec", &["spec too large"]);
}

#[test]
fn list_sizes_are_bounded() {
    let urls: Vec<String> = (0..=MAX_START_URLS)
        .map(|i| format!("\"http://127.0.0.1:1/{i}\""))
        .collect();
    let text = format!(
        r#"{{"name": "t", "start_urls": [{}], "start_callback": "c",
            "callbacks": {{"c": {{"fields": {{"a": {{"value": 1}}}}}}}}}}"#,
        urls.join(",")
    );
    assert_err(
        parse_json(text),
        "start_urls",
        &["too many start URLs", "limit 10000"],
    );

    let rules = vec![r#"{"allow": "/x"}"#; MAX_RULES + 1].join(",");
    let text =
        format!(r#"{{"name": "t", "start_urls": ["http://127.0.0.1:1/"], "rules": [{rules}]}}"#);
    assert_err(parse_json(text), "rules", &["too many rules"]);

    let cbs: Vec<String> = (0..=MAX_CALLBACKS)
        .map(|i| format!(r#""c{i}": {{"fields": {{"a": {{"value": 1}}}}}}"#))
        .collect();
    let text = format!(
        r#"{{"name": "t", "start_urls": ["http://127.0.0.1:1/"], "start_callback": "c0",
            "callbacks": {{{}}}}}"#,
        cbs.join(",")
    );
    assert_err(parse_json(text), "callbacks", &["too many callbacks"]);

    let fields: Vec<String> = (0..=MAX_FIELDS_PER_CALLBACK)
        .map(|i| format!(r#""f{i}": {{"value": 1}}"#))
        .collect();
    let text = format!(
        r#"{{"name": "t", "start_urls": ["http://127.0.0.1:1/"], "start_callback": "c",
            "callbacks": {{"c": {{"fields": {{{}}}}}}}}}"#,
        fields.join(",")
    );
    assert_err(parse_json(text), "callbacks.c.fields", &["too many fields"]);
}

#[test]
fn restrict_xpaths_in_rules_are_bounded_too() {
    let x = format!("{}//a{}", "(".repeat(100), ")".repeat(100));
    let text = format!(
        r#"{{"name": "t", "start_urls": ["http://127.0.0.1:1/"], "rules": [{{"restrict_xpaths": ["{x}"]}}]}}"#
    );
    let e = parse_json(text).unwrap_err();
    assert!(e.path.starts_with("rules[0].restrict_xpaths"), "{e}");
    assert!(e.message.contains("limit 32"), "{e}");
}
