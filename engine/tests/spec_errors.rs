//! Every kind of spec error is rejected by `Spec::parse` (which makes no request) with
//! a `SpecError` whose `path` names the field at fault and whose message says what is
//! wrong.

use trawl_engine::spec::{Spec, SpecError, SpecFormat};

/// A valid spec; each test breaks one thing in it.
const BASE: &str = r#"
name = "t"
start_urls = ["http://127.0.0.1:1/index.html"]

[[rules]]
allow = ['/p/\d+']
callback = "product"

[callbacks.product.fields]
title = { css = "h1::text" }
"#;

fn toml_err(text: &str) -> SpecError {
    toml_err_with(text, &[])
}

fn toml_err_with(text: &str, args: &[&str]) -> SpecError {
    match Spec::parse(text, SpecFormat::Toml, args) {
        Ok(spec) => panic!("spec should be invalid, compiled to {spec:?}\n{text}"),
        Err(e) => e,
    }
}

/// Asserts the error's path and that its message mentions every one of `words`.
#[track_caller]
fn assert_err(e: &SpecError, path: &str, words: &[&str]) {
    assert_eq!(e.path, path, "wrong path in {e}");
    for w in words {
        assert!(
            e.message.to_lowercase().contains(&w.to_lowercase()),
            "message of {e} should mention {w:?}"
        );
    }
    assert_eq!(e.to_string(), format!("{}: {}", e.path, e.message));
}

/// BASE with the product callback's `title` field replaced by `field`.
fn with_field(field: &str) -> String {
    BASE.replace(r#"title = { css = "h1::text" }"#, field)
}

#[test]
fn the_base_spec_is_valid() {
    let spec = Spec::parse(BASE, SpecFormat::Toml, &[]).unwrap();
    assert_eq!(spec.name, "t");
    assert_eq!(spec.rules.len(), 1);
    assert_eq!(spec.callbacks["product"].fields.len(), 1);
}

#[test]
fn toml_syntax_error() {
    let e = toml_err("name = \"t\"\nstart_urls = [\n");
    assert_err(&e, "spec", &["invalid TOML"]);
}

#[test]
fn json_syntax_error() {
    let e = Spec::parse(r#"{"name": "t", "start_urls": ["#, SpecFormat::Json, &[]).unwrap_err();
    assert_err(&e, "spec", &["invalid JSON"]);
}

#[test]
fn unknown_top_level_key() {
    let e = toml_err(&format!("start_url = [\"http://x/\"]\n{BASE}"));
    assert_err(&e, "start_url", &["unknown field", "start_url"]);
}

#[test]
fn unknown_field_key() {
    let e = toml_err(&with_field(r#"title = { csss = "h1::text" }"#));
    assert_err(
        &e,
        "callbacks.product.fields.title.csss",
        &["unknown field", "csss"],
    );
}

#[test]
fn wrong_types() {
    let e = toml_err(&BASE.replace(
        r#"start_urls = ["http://127.0.0.1:1/index.html"]"#,
        r#"start_urls = "x""#,
    ));
    assert_err(&e, "start_urls", &["invalid type", "string", "sequence"]);

    let e = toml_err(&BASE.replace(
        r#"callback = "product""#,
        "callback = \"product\"\npriority = \"high\"",
    ));
    assert_err(&e, "rules[0].priority", &["invalid type", "high"]);

    let e = toml_err(&format!(
        "{BASE}\n[[callbacks.product.follow]]\ncss = \"a\"\npriority = \"high\"\n"
    ));
    assert_err(
        &e,
        "callbacks.product.follow[0].priority",
        &["invalid type"],
    );
}

#[test]
fn bad_field_type_value() {
    let e = toml_err(&with_field(
        r#"title = { css = "h1::text", type = "integer" }"#,
    ));
    assert_err(
        &e,
        "callbacks.product.fields.title.type",
        &["unknown variant", "integer", "int"],
    );
}

#[test]
fn bad_regex_in_re() {
    let e = toml_err(&with_field(r#"title = { css = "h1::text", re = '(\d+' }"#));
    assert_err(
        &e,
        "callbacks.product.fields.title.re",
        &["invalid regex", r"(\d+"],
    );
}

#[test]
fn bad_css_selector() {
    let e = toml_err(&with_field(r#"title = { css = "h1[[" }"#));
    assert_err(&e, "callbacks.product.fields.title.css", &["h1[["]);
}

#[test]
fn bad_xpath() {
    let e = toml_err(&with_field(r#"title = { xpath = "//h1[" }"#));
    assert_err(&e, "callbacks.product.fields.title.xpath", &["//h1["]);
}

#[test]
fn css_and_xpath_together() {
    let e = toml_err(&with_field(r#"title = { css = "h1", xpath = "//h1" }"#));
    assert_err(
        &e,
        "callbacks.product.fields.title",
        &["css", "xpath", "not both"],
    );
}

#[test]
fn css_and_value_together() {
    let e = toml_err(&with_field(r#"title = { css = "h1", value = "x" }"#));
    assert_err(&e, "callbacks.product.fields.title", &["value", "not both"]);
}

#[test]
fn field_without_source() {
    let e = toml_err(&with_field(r#"title = { type = "int" }"#));
    assert_err(
        &e,
        "callbacks.product.fields.title",
        &["needs one of css, xpath, jmespath, value or values"],
    );
}

#[test]
fn unknown_callbacks() {
    let e = toml_err(&BASE.replace(r#"callback = "product""#, r#"callback = "prodcut""#));
    assert_err(
        &e,
        "rules[0].callback",
        &["unknown callback", "prodcut", "product"],
    );

    let e = toml_err(&format!("start_callback = \"home\"\n{BASE}"));
    assert_err(&e, "start_callback", &["unknown callback", "home"]);

    let e = toml_err(&format!(
        "{BASE}\n[[callbacks.product.follow]]\ncss = \"a.next\"\ncallback = \"listing\"\n"
    ));
    assert_err(
        &e,
        "callbacks.product.follow[0].callback",
        &["unknown callback", "listing"],
    );

    let e = toml_err(&format!(
        "sitemap_urls = [\"http://127.0.0.1:1/sitemap.xml\"]\n\
         sitemap_rules = [{{ pattern = '/p/', callback = \"nope\" }}]\n{BASE}"
    ));
    assert_err(
        &e,
        "sitemap_rules[0].callback",
        &["unknown callback", "nope"],
    );
}

#[test]
fn unknown_placeholder_in_start_urls() {
    let text = BASE.replace("http://127.0.0.1:1/index.html", "{site}/index.html");
    let e = toml_err(&text);
    assert_err(&e, "start_urls[0]", &["unknown placeholder", "{site}"]);
    let spec = Spec::parse(&text, SpecFormat::Toml, &["site"]).expect("valid with -a site");
    assert_eq!(spec.start_urls.len(), 1);
    // Declaring it under [args] works too.
    let declared = format!("{text}\n[args]\nsite = \"http://127.0.0.1:1\"\n");
    Spec::parse(&declared, SpecFormat::Toml, &[]).expect("valid with [args] site");
}

#[test]
fn unknown_placeholder_in_field_value() {
    let text = with_field(r#"category = { value = "{category}" }"#);
    let e = toml_err(&text);
    assert_err(
        &e,
        "callbacks.product.fields.category.value",
        &["unknown placeholder", "{category}"],
    );
    Spec::parse(&text, SpecFormat::Toml, &["category"]).expect("valid with -a category");
    // Built-ins need no argument.
    Spec::parse(
        &with_field(r#"u = { value = "{url} {status} {depth} {spider}" }"#),
        SpecFormat::Toml,
        &[],
    )
    .expect("built-in placeholders");
}

#[test]
fn invalid_spider_names() {
    for name in ["../x", "a/b", "..", "", "x y"] {
        let e = toml_err(&BASE.replace(r#"name = "t""#, &format!("name = {name:?}")));
        assert_err(&e, "name", &["invalid spider name"]);
    }
}

#[test]
fn no_start_urls_nor_sitemap_urls() {
    let e = toml_err(&BASE.replace(r#"start_urls = ["http://127.0.0.1:1/index.html"]"#, ""));
    assert_err(
        &e,
        "start_urls",
        &["start_urls, start_requests or sitemap_urls"],
    );
}

#[test]
fn bad_start_url_and_unsupported_scheme() {
    let e = toml_err(&BASE.replace("http://127.0.0.1:1/index.html", "not a url"));
    assert_err(&e, "start_urls[0]", &["invalid URL", "not a url"]);
    let e = toml_err(&BASE.replace("http://127.0.0.1:1/index.html", "ftp://127.0.0.1/x"));
    assert_err(&e, "start_urls[0]", &["unsupported URL scheme", "ftp"]);
}

#[test]
fn bad_link_extractor_key_in_rule() {
    let e = toml_err(&BASE.replace(r"allow = ['/p/\d+']", r"alow = ['/p/\d+']"));
    assert_err(&e, "rules[0].alow", &["unknown field", "alow", "allow"]);
}

#[test]
fn bad_regex_in_rule_allow() {
    let e = toml_err(&BASE.replace(r"allow = ['/p/\d+']", r"allow = ['/p/(\d+']"));
    assert_err(&e, "rules[0].allow", &["invalid regex", r"/p/(\d+"]);
}

#[test]
fn sitemap_urls_without_sitemap_rules() {
    let e = toml_err(&format!(
        "sitemap_urls = [\"http://127.0.0.1:1/sitemap.xml\"]\n{BASE}"
    ));
    assert_err(&e, "sitemap_rules", &["sitemap rule"]);
}

#[test]
fn join_with_all_and_first_with_all() {
    let e = toml_err(&with_field(
        r#"title = { css = "h1::text", join = " ", all = true }"#,
    ));
    assert_err(&e, "callbacks.product.fields.title", &["join", "all"]);
    let e = toml_err(&with_field(
        r#"title = { css = "h1::text", first = true, all = true }"#,
    ));
    assert_err(&e, "callbacks.product.fields.title", &["first and all"]);
}

#[test]
fn default_of_the_wrong_type() {
    let e = toml_err(&with_field(
        r#"title = { css = "h1::text", type = "int", default = "none" }"#,
    ));
    assert_err(
        &e,
        "callbacks.product.fields.title.default",
        &["does not match type", "Int"],
    );
    let e = toml_err(&with_field(
        r#"title = { css = "h1::text", type = "bool", default = 1 }"#,
    ));
    assert_err(
        &e,
        "callbacks.product.fields.title.default",
        &["does not match type"],
    );
    Spec::parse(
        &with_field(r#"title = { css = "h1::text", type = "float", default = 0 }"#),
        SpecFormat::Toml,
        &[],
    )
    .expect("an int default is a valid float");
}

#[test]
fn json_errors_name_the_field_too() {
    let json = r#"{"name": "t", "start_urls": ["http://127.0.0.1:1/"],
        "rules": [{"allow": "/p/", "callback": "product"}],
        "callbacks": {"product": {"fields": {"price": {"css": ".price::text", "re": "[0-9"}}}}}"#;
    let e = Spec::parse(json, SpecFormat::Json, &[]).unwrap_err();
    assert_err(&e, "callbacks.product.fields.price.re", &["invalid regex"]);
}

const SHOP_TOML: &str = include_str!("../../examples/shop.toml");

#[test]
fn toml_and_json_forms_compile_to_the_same_spec() {
    let json = r#"{
      "name": "shop",
      "start_urls": ["{site}/index.html"],
      "allowed_domains": ["127.0.0.1", "localhost"],
      "args": {"site": "http://127.0.0.1:8080"},
      "rules": [
        {"allow": ["/category/\\d+"], "follow": true},
        {"allow": ["/p/\\d+\\.html$", "/item/\\d+$"], "callback": "product", "follow": true}
      ],
      "callbacks": {"product": {"fields": {
        "id": {"css": "div.product::attr(data-id)", "type": "int", "required": true},
        "title": {"css": "h1::text", "required": true},
        "price": {"css": ".price::text", "re": "[\\d.]+", "type": "float"},
        "description": {"css": ".description ::text", "join": "\n"},
        "url": {"value": "{url}"}
      }}},
      "settings": {"CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32}
    }"#;
    let t = Spec::parse(SHOP_TOML, SpecFormat::Toml, &[]).unwrap();
    let j = Spec::parse(json, SpecFormat::Json, &[]).unwrap();
    assert_eq!(t.name, j.name);
    assert_eq!(t.start_urls, j.start_urls);
    assert_eq!(t.allowed_domains, j.allowed_domains);
    assert_eq!(t.rules.len(), j.rules.len());
    for (a, b) in t.rules.iter().zip(&j.rules) {
        assert_eq!(a.callback, b.callback);
        assert_eq!(a.follow, b.follow);
        assert_eq!(a.priority, b.priority);
    }
    assert_eq!(
        t.callbacks.keys().collect::<Vec<_>>(),
        j.callbacks.keys().collect::<Vec<_>>()
    );
    for (name, cb) in &t.callbacks {
        let other = &j.callbacks[name];
        let fields = |c: &trawl_engine::spec::Callback| {
            c.fields
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.kind,
                        f.required,
                        f.join.clone(),
                        f.re.as_ref().map(|r| r.as_str().to_string()),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(cb), fields(other));
        assert_eq!(cb.follow.len(), other.follow.len());
    }
    assert_eq!(t.settings, j.settings);
    assert_eq!(t.args, j.args);
}

#[test]
fn every_error_of_a_spec_is_reported_at_once() {
    let text = r#"
name = "bad name!"
start_urls = ["ftp://example.com/", "http://127.0.0.1:1/ok"]
allowed_domains = ["https://example.com"]

[[rules]]
allow = ['(unclosed']
callback = "missing"

[callbacks.product]
items = { css = "div[" }

[callbacks.product.fields]
title = { xpath = "//h1/text(" }
price = { css = "span::price" , re = "(" }
count = { xpath = "frobnicate(//a)" }
"#;
    let e = toml_err(text);
    let all: Vec<(&str, &str)> = e.all().collect();
    let paths: Vec<&str> = all.iter().map(|(p, _)| *p).collect();
    for want in [
        "name",
        "start_urls[0]",
        "allowed_domains[0]",
        "callbacks.product.items.css",
        "callbacks.product.fields.title.xpath",
        "callbacks.product.fields.price.css",
        "callbacks.product.fields.price.re",
        "callbacks.product.fields.count.xpath",
        "rules[0].allow",
    ] {
        assert!(paths.contains(&want), "no error for {want} in {paths:?}");
    }
    assert_eq!(e.count(), all.len());
    // Each error starts a line of the message.
    let shown = e.to_string();
    for (path, _) in &all {
        assert!(
            shown.lines().any(|l| l.starts_with(&format!("{path}: "))),
            "{path} not shown in {shown}"
        );
    }
    let count = all
        .iter()
        .find(|(p, _)| *p == "callbacks.product.fields.count.xpath")
        .unwrap();
    assert!(count.1.contains("frobnicate"), "{}", count.1);
}

#[test]
fn errors_in_processors_values_forms_and_extends_name_their_field() {
    let text = r#"
name = "t"
start_urls = ["http://127.0.0.1:1/"]
start_callback = "login"

[callbacks.login]
form = { css = "form[", formdata = { user = "{nobody}" }, callback = "nowhere" }

[callbacks.page.fields]
a = { css = "h1::text", process = ["lower", { split = "" }, { map = {} }, { keep = "(" }] }
b = { values = ["{a}", "{later}"] }
c = { values = ["{a}"], css = "h1" }
later = { value = "x" }
"#;
    let e = toml_err(text);
    let paths: Vec<&str> = e.all().map(|(p, _)| p).collect();
    for want in [
        "callbacks.login.form.css",
        "callbacks.login.form.formdata.user",
        "callbacks.page.fields.a.process[1]",
        "callbacks.page.fields.a.process[2]",
        "callbacks.page.fields.a.process[3]",
        "callbacks.page.fields.b.values[1]",
        "callbacks.page.fields.c",
    ] {
        assert!(paths.contains(&want), "no error for {want} in {paths:?}");
    }
    let e = toml_err("name = \"t\"\nextends = \"no_such_template\"\n");
    assert_err(&e, "extends", &["no spec or template", "wp_store_locator"]);
    let e = toml_err("extends = \"wp_store_locator\"\n");
    assert_err(&e, "spec", &["missing field `name`"]);
    let e = toml_err("name = \"t\"\nextends = \"wp_store_locator\"\nscript_file = \"x.rhai\"\n");
    assert_err(&e, "script_file", &["no file"]);
}

#[test]
fn a_form_callback_must_exist() {
    let text = BASE.replace(
        "[callbacks.product.fields]",
        "[callbacks.product]\nform = { callback = \"nowhere\" }\n[callbacks.product.fields]",
    );
    let e = toml_err(&text);
    assert_err(&e, "callbacks.product.form.callback", &["unknown callback"]);
}
