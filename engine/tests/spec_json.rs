//! Specs over JSON: a paginated JSON API (JMESPath items, fields and next links), a
//! store locator with JSON-LD, and JSON cut out of a `<script>` — against real servers
//! on loopback; plus field processors and templates over other fields.

mod common;

use axum::extract::Query as QueryParams;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use trawl_engine::spec::{Spec, SpecFormat};

use common::{crawl_spec, serve_router, stat};

const CITIES: [&str; 3] = ["Lyon", "Oslo", "Quito"];

/// Page `page` (1-3) of a store API: 4 stores, and the next page's URL (null at the end).
fn stores_page(page: u32) -> Value {
    let stores: Vec<Value> = (0..4)
        .map(|i| {
            let id = (page - 1) * 4 + i + 1;
            json!({
                "id": id,
                "name": format!("store {id}"),
                "address": { "city": CITIES[(id % 3) as usize], "zip": format!("{:05}", id * 7) },
                "open": id.is_multiple_of(2),
                "tags": ["a", null, "b"],
            })
        })
        .collect();
    let next = (page < 3).then(|| format!("/api/stores?page={}", page + 1));
    json!({ "stores": stores, "next": next })
}

#[derive(serde::Deserialize)]
struct PageParam {
    page: Option<u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paginated_json_api() {
    let base = serve_router(Router::new().route(
        "/api/stores",
        get(|QueryParams(p): QueryParams<PageParam>| async move {
            (
                [(header::CONTENT_TYPE, "application/json")],
                stores_page(p.page.unwrap_or(1).clamp(1, 3)).to_string(),
            )
        }),
    ))
    .await;
    let spec = format!(
        r#"
name = "stores"
start_urls = ["{base}/api/stores?page=1"]
start_callback = "stores"

[callbacks.stores]
items = {{ jmespath = "stores" }}
follow = [{{ jmespath = "next" }}]

[callbacks.stores.fields]
id = {{ jmespath = "id", type = "int" }}
name = {{ jmespath = "name", process = ["upper"] }}
city = {{ jmespath = "address.city" }}
zip = {{ jmespath = "address.zip", process = [{{ prefix = "Z-" }}] }}
open = {{ jmespath = "open", type = "bool" }}
tags = {{ jmespath = "tags", all = true }}
label = {{ value = "{{name}} in {{city}}" }}
page = {{ value = "{{url}}", process = [{{ replace = ['.*page=', ''] }}], type = "int" }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(stat(&outcome, "response_received_count"), 3);
    assert_eq!(items.len(), 12);
    let mut ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    let five = items.iter().find(|i| i["id"] == 5).unwrap();
    assert_eq!(five["name"], "STORE 5");
    assert_eq!(five["city"], "Quito");
    assert_eq!(five["zip"], "Z-00035");
    assert_eq!(five["open"], false);
    assert_eq!(five["tags"], json!(["a", "b"]));
    // A template over fields extracted before it (after their processors).
    assert_eq!(five["label"], "STORE 5 in Quito");
    assert_eq!(five["page"], 2);
}

const STORE_PAGE: &str = r#"<html><head>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "Organization", "name": "Acme"},
  {"@type": ["Store", "LocalBusiness"], "name": "Acme Lyon", "url": "/stores/lyon",
   "address": {"@type": "PostalAddress", "streetAddress": " 1 rue X ", "addressLocality": "Lyon"},
   "geo": {"latitude": "45.76", "longitude": 4.83}},
  {"@type": "schema:Store", "name": "Acme Oslo", "url": "/stores/oslo",
   "address": {"streetAddress": "2 gate Y", "addressLocality": "Oslo"},
   "geo": {"latitude": 59.91, "longitude": 10.75}}
]}
</script>
<script type="application/ld+json">{ not json </script>
<script type="application/ld+json">[{"@type": "Store", "name": "Acme Quito", "url": "https://acme.example/q"}]</script>
</head><body>
<script>window.__DATA__ = {"products": [{"sku": "p1", "price": 9.5}, {"sku": "p2", "price": 12}]};</script>
</body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_ld_stores_and_json_in_a_script() {
    let base = serve_router(
        Router::new()
            .route("/stores", get(|| async { Html(STORE_PAGE) }))
            .route("/products", get(|| async { Html(STORE_PAGE) })),
    )
    .await;
    let spec = format!(
        r#"
name = "locator"
start_urls = ["{base}/stores"]
start_callback = "stores"

[callbacks.stores]
items = {{ json_ld = "Store" }}
follow = [{{ css = "a.never::attr(href)" }}]

[callbacks.stores.fields]
name = {{ jmespath = "name" }}
url = {{ jmespath = "url", process = ["url"] }}
street = {{ jmespath = "address.streetAddress" }}
city = {{ jmespath = "address.addressLocality", process = ["lower", "slug"] }}
lat = {{ jmespath = "geo.latitude", type = "float" }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3, "{items:?}");
    for n in ["Acme Lyon", "Acme Oslo", "Acme Quito"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let lyon = items.iter().find(|i| i["name"] == "Acme Lyon").unwrap();
    assert_eq!(lyon["url"], format!("{base}/stores/lyon"));
    assert_eq!(lyon["street"], "1 rue X");
    assert_eq!(lyon["city"], "lyon");
    assert_eq!(lyon["lat"], 45.76);
    let quito = items.iter().find(|i| i["name"] == "Acme Quito").unwrap();
    assert_eq!(quito["url"], "https://acme.example/q");
    assert!(quito.get("lat").is_none());

    // JSON cut out of a script by a regex, one item per product.
    let spec = format!(
        r#"
name = "products"
start_urls = ["{base}/products"]
start_callback = "products"

[callbacks.products]
items = {{ xpath = "//script[not(@type)]/text()", re = 'window\.__DATA__ = (\{{.*\}});', jmespath = "products" }}

[callbacks.products.fields]
sku = {{ jmespath = "sku" }}
price = {{ jmespath = "price", type = "float" }}
page_title = {{ css = "title::text" }}
"#
    );
    let (_, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(
        items,
        vec![
            json!({"sku": "p1", "price": 9.5})
                .as_object()
                .unwrap()
                .clone(),
            json!({"sku": "p2", "price": 12.0})
                .as_object()
                .unwrap()
                .clone(),
        ]
    );
}

#[test]
fn json_spec_errors_name_their_field() {
    let text = r#"
name = "bad"
start_urls = ["http://127.0.0.1:1/"]
start_callback = "a"

[callbacks.a]
items = { json_ld = "Store", css = "div" }
follow = [{ jmespath = "next[", css = "a" }]

[callbacks.a.fields]
x = { jmespath = "foo[?" }
y = { css = "script::text", jmespath = "a", value = "v" }
z = { jmespath = "a", process = ["lower", "bogus", { replace = ["(", ""] }] }
w = { value = "{nope}" }
"#;
    let e = Spec::parse(text, SpecFormat::Toml, &[]).unwrap_err();
    let all: Vec<(&str, &str)> = e.all().collect();
    let paths: Vec<&str> = all.iter().map(|(p, _)| *p).collect();
    for want in [
        "callbacks.a.items",
        "callbacks.a.follow[0]",
        "callbacks.a.fields.x.jmespath",
        "callbacks.a.fields.y",
        "callbacks.a.fields.z.process[1]",
        "callbacks.a.fields.z.process[2]",
        "callbacks.a.fields.w.value",
    ] {
        assert!(paths.contains(&want), "no error for {want} in {all:?}");
    }
    // A template may name an earlier field, not a later one.
    let ok = r#"
name = "ok"
start_urls = ["http://127.0.0.1:1/"]
start_callback = "a"
[callbacks.a.fields]
first = { css = "h1::text" }
both = { value = "{first}!" }
"#;
    assert!(Spec::parse(ok, SpecFormat::Toml, &[]).is_ok());
    let later = ok.replace(
        "first = { css = \"h1::text\" }\nboth = { value = \"{first}!\" }",
        "both = { value = \"{first}!\" }\nfirst = { css = \"h1::text\" }",
    );
    let e = Spec::parse(&later, SpecFormat::Toml, &[]).unwrap_err();
    assert_eq!(e.path, "callbacks.a.fields.both.value", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_passes_each_item_to_its_detail_page() {
    let base = serve_router(
        Router::new()
            .route(
                "/list",
                get(|| async {
                    Html(
                        "<h1>Tools</h1><ul>\
                         <li class=product><a href='/d/1'>Hammer</a></li>\
                         <li class=product><a href='/d/2'>Saw</a></li>\
                         <li class=product>no link</li></ul>",
                    )
                }),
            )
            .route(
                "/d/{id}",
                get(
                    |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                        Html(format!("<span class=price>{}.50</span>", id * 10))
                    },
                ),
            ),
    )
    .await;
    let spec = format!(
        r#"
name = "listing"
start_urls = ["{base}/list"]
start_callback = "list"

[callbacks.list]
items = {{ css = "li.product" }}
then = {{ css = "a::attr(href)", callback = "detail" }}

[callbacks.list.fields]
name = {{ css = "a::text" }}
category = {{ xpath = "//h1/text()" }}

[callbacks.detail.fields]
price = {{ css = ".price::text", type = "float" }}
label = {{ value = "{{name}} ({{category}})" }}
url = {{ value = "{{url}}" }}
"#
    );
    let (outcome, mut items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    items.sort_by(|a, b| a["url"].as_str().cmp(&b["url"].as_str()));
    assert_eq!(
        items,
        vec![
            json!({"name": "Hammer", "category": "Tools", "price": 10.5,
                   "label": "Hammer (Tools)", "url": format!("{base}/d/1")}),
            json!({"name": "Saw", "category": "Tools", "price": 20.5,
                   "label": "Saw (Tools)", "url": format!("{base}/d/2")}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect::<Vec<_>>()
    );
    // The item without a link is dropped with a reason, not lost silently.
    assert_eq!(stat(&outcome, "item_dropped_count"), 1);
    // Without a callback, or with fields of a later page, the spec is refused.
    let e = Spec::parse(
        &spec.replace(", callback = \"detail\"", ""),
        SpecFormat::Toml,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.path, "callbacks.list.then", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_requests_post_json_and_forms_once_per_list_element() {
    use axum::routing::post;
    let base = serve_router(
        Router::new()
            .route(
                "/api/search",
                post(|body: String| async move {
                    // The API echoes the typed coordinates back as a store.
                    let q: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json!({ "stores": [{ "near": q }] }).to_string(),
                    )
                }),
            )
            .route(
                "/form",
                post(|body: String| async move { Html(format!("<p id=got>{body}</p>")) }),
            )
            .route(
                "/store/{id}",
                get(
                    |axum::extract::Path(id): axum::extract::Path<String>| async move {
                        Html(format!("<h1>store {id}</h1>"))
                    },
                ),
            ),
    )
    .await;
    let spec = format!(
        r##"
name = "grid"
start_urls = ["{base}/store/{{ids}}"]
start_callback = "store"

[args]
points = [{{ lat = 48.85, lon = 2.35 }}, {{ lat = 45.76, lon = 4.83 }}]
ids = ["a", "b"]
who = "trawl"

[[start_requests]]
url = "{base}/api/search"
json = {{ lat = "{{points.lat}}", lon = "{{points.lon}}", label = "near {{points.lat}}" }}
callback = "search"

[[start_requests]]
url = "{base}/form"
form = {{ user = "{{who}}", q = "a&b c" }}
callback = "form"

[callbacks.search]
items = {{ jmespath = "stores" }}
[callbacks.search.fields]
lat = {{ jmespath = "near.lat", type = "float" }}
label = {{ jmespath = "near.label" }}

[callbacks.form.fields]
got = {{ css = "#got::text" }}

[callbacks.store.fields]
h1 = {{ css = "h1::text" }}
"##
    );
    let (outcome, items) = crawl_spec(&spec, &[("ids", "x, y,z")], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let mut got: Vec<String> = items
        .iter()
        .map(|i| Value::Object(i.clone()).to_string())
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        vec![
            r#"{"got":"user=trawl&q=a%26b+c"}"#,
            r#"{"h1":"store x"}"#,
            r#"{"h1":"store y"}"#,
            r#"{"h1":"store z"}"#,
            r#"{"lat":45.76,"label":"near 45.76"}"#,
            r#"{"lat":48.85,"label":"near 48.85"}"#,
        ]
    );
    // A bad method is refused with its path.
    let bad = spec.replace(
        "callback = \"form\"",
        "callback = \"form\"\nmethod = \"BREW\"",
    );
    let e = Spec::parse(&bad, SpecFormat::Toml, &[]).unwrap_err();
    assert_eq!(e.path, "start_requests[1].method", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_by_a_counter_stops_at_an_empty_page_or_max() {
    let base = serve_router(Router::new().route(
        "/api/items",
        get(|QueryParams(p): QueryParams<PageParam>| async move {
            let page = p.page.unwrap_or(1);
            let items: Vec<Value> = if page <= 4 {
                (0..5).map(|i| json!({ "n": page * 10 + i })).collect()
            } else {
                Vec::new()
            };
            (
                [(header::CONTENT_TYPE, "application/json")],
                json!({ "items": items }).to_string(),
            )
        }),
    ))
    .await;
    let spec = |max: &str| {
        format!(
            r#"
name = "pages"
start_urls = ["{base}/api/items?kind=all"]
start_callback = "list"

[callbacks.list]
items = {{ jmespath = "items" }}
paginate = {{ param = "page"{max} }}
fields = {{ n = {{ jmespath = "n", type = "int" }}, url = {{ value = "{{url}}" }} }}
"#
        )
    };
    let (outcome, items) = crawl_spec(&spec(""), &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(items.len(), 20);
    // Pages 1-4 have items; page 5 is empty and ends the pagination.
    assert_eq!(stat(&outcome, "response_received_count"), 5);
    assert!(items
        .iter()
        .any(|i| i["url"] == format!("{base}/api/items?kind=all&page=4")));
    let (_, items) = crawl_spec(&spec(", max = 2"), &[], &[]).await;
    assert_eq!(items.len(), 10);
}

#[test]
fn hostile_jmespath_is_refused_when_the_spec_is_checked() {
    use trawl_engine::spec::json::JsonPath;
    let doubling = vec!["[@,@]"; 16].join("|");
    for (expr, why) in [
        (doubling.as_str(), "multi-selects can copy"),
        (&*format!("{}@", "!".repeat(100)), "`!`"),
        (&*format!("{}@", "!".repeat(3000)), "too long"),
        (&*format!("{}a", "a.".repeat(300)), "levels deep"),
        ("foo[?", "invalid JMESPath"),
    ] {
        let e = JsonPath::compile(expr).unwrap_err();
        assert!(e.contains(why), "{expr:.40}: {e}");
    }
    // What real spiders write passes.
    for ok in [
        "stores[?country=='FR'].{name: name, lat: geo.lat, lon: geo.lng, city: address.city}",
        "data.items[*].attributes | [0]",
        "length(results) > `0` && !(meta.last)",
    ] {
        JsonPath::compile(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_object_literals_in_scripts_are_read_and_hostile_ones_refused() {
    let deep = format!(
        "var deep = {}1{};",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let base = serve_router(Router::new().route(
        "/",
        get(move || {
            let deep = deep.clone();
            async move {
                Html(format!(
                    "<html><body><script>\n\
                     // stores, as the site's bundle assigns them\n\
                     var locations = [{{id: 1, name: 'Café \"Nord\"', lat: 0x10, tags: ['a',],}},\n\
                                      {{id: 2, name: \"Sud\", lat: 2.5, /* closed */ tags: [],}},];\n\
                     </script><script>{deep}</script></body></html>"
                ))
            }
        }),
    ))
    .await;
    let spec = format!(
        r#"
name = "literals"
start_urls = ["{base}/"]
start_callback = "page"

[callbacks.page]
items = {{ xpath = "//script/text()", re = '(?s)var (?:locations|deep) = (.*?\]);', jmespath = "[]" }}

[callbacks.page.fields]
id = {{ jmespath = "id", type = "int", required = true }}
name = {{ jmespath = "name" }}
lat = {{ jmespath = "lat", type = "float" }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let got: Vec<Value> = items.into_iter().map(Value::Object).collect();
    assert_eq!(
        got,
        vec![
            json!({"id": 1, "name": "Café \"Nord\"", "lat": 16.0}),
            json!({"id": 2, "name": "Sud", "lat": 2.5}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_cut_from_a_jsonp_body_and_page_selectors_beside_json_ld() {
    let base = serve_router(
        Router::new()
            .route(
                "/stores.js",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "application/javascript")],
                        "callback({\"stores\": [{\"id\": 1, \"note\": \"a<b\"}, {\"id\": 2}]});",
                    )
                }),
            )
            .route(
                "/store",
                get(|| async {
                    Html(
                        "<html><head><script type=\"application/ld+json\">\
                         {\"@type\": \"Store\", \"name\": \"North\"}</script></head>\
                         <body><p class=\"street\">1 High St</p></body></html>",
                    )
                }),
            ),
    )
    .await;
    let spec = format!(
        r#"
name = "jsonp"
start_urls = ["{base}/stores.js"]
start_callback = "stores"
start_requests = [{{ url = "{base}/store", callback = "store" }}]

[callbacks.stores]
items = {{ re = 'callback\((.*)\);', jmespath = "stores" }}
fields = {{ id = {{ jmespath = "id", type = "int" }}, note = {{ jmespath = "note" }} }}

[callbacks.store]
items = {{ json_ld = "Store" }}
fields = {{ name = {{ jmespath = "name" }}, street = {{ css = "p.street::text" }} }}
"#
    );
    let (_, items) = crawl_spec(&spec, &[], &[]).await;
    let mut got: Vec<Value> = items.into_iter().map(Value::Object).collect();
    got.sort_by_key(|v| v.to_string());
    assert_eq!(
        got,
        vec![
            json!({"id": 1, "note": "a<b"}),
            json!({"id": 2}),
            json!({"name": "North", "street": "1 High St"}),
        ]
    );
}
