//! Specs over structured data that is not a JSON API: microdata store pages, JSON-LD
//! opening hours read with `hours`, free-text German opening hours, a CSV export and a
//! plain-text list read with regex items — against real servers on loopback; plus the
//! spec errors of these options.

mod common;

use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use trawl_engine::spec::{Spec, SpecFormat};

use common::{crawl_spec, serve_router};

/// The items as JSON, sorted by their `name` (then `id`) so crawl order does not matter.
fn sorted(items: Vec<trawl_engine::Item>) -> Vec<Value> {
    let mut v: Vec<Value> = items
        .into_iter()
        .map(|i| serde_json::to_value(i).unwrap())
        .collect();
    v.sort_by_key(|i| (i["name"].to_string(), i["id"].to_string()));
    v
}

const MICRODATA_STORES: &str = r#"<!doctype html>
<html><head><title>Our stores</title></head><body>
<ul class="stores">
 <li itemscope itemtype="https://schema.org/HardwareStore">
  <h2 itemprop="name">Hammer &amp; Co Leith</h2>
  <a itemprop="url" href="/stores/leith">Store page</a>
  <div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
   <span itemprop="streetAddress">12 Shore Road</span>,
   <span itemprop="addressLocality">Edinburgh</span>
   <span itemprop="postalCode">EH6 6QW</span>
  </div>
  <span itemprop="telephone">+44 131 555 0101</span>
  <div itemprop="geo" itemscope itemtype="https://schema.org/GeoCoordinates">
   <meta itemprop="latitude" content="55.9762"><meta itemprop="longitude" content="-3.1702">
  </div>
  <meta itemprop="openingHours" content="Mo-Fr 08:00-18:00">
  <meta itemprop="openingHours" content="Sa 09:00-17:00">
  <p>Mon–Fri 8am–6pm, Sat 9am–5pm</p>
 </li>
 <li itemscope itemtype="http://schema.org/HardwareStore">
  <h2 itemprop="name">Hammer &amp; Co Morningside</h2>
  <a itemprop="url" href="morningside">Store page</a>
  <div itemprop="address" itemscope itemtype="http://schema.org/PostalAddress">
   <span itemprop="streetAddress">3 Comiston Road</span>
   <span itemprop="addressLocality">Edinburgh</span>
  </div>
  <meta itemprop="openingHours" content="Mo-Su 00:00-24:00">
 </li>
</ul>
<div itemscope itemtype="https://schema.org/Organization"><span itemprop="name">Hammer Group</span></div>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "HardwareStore", "name": "Hammer &amp; Co Online",
 "address": {"@type": "PostalAddress", "streetAddress": "Warehouse 4", "addressLocality": "Livingston"},
 "openingHours": ["Mo-Fr 07:00-20:00", "Sa-Su 08:00-16:00"]}
</script>
</body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microdata_stores_with_json_ld_alongside() {
    let base =
        serve_router(Router::new().route("/stores/", get(|| async { Html(MICRODATA_STORES) })))
            .await;
    let spec = format!(
        r#"
name = "hammer"
start_urls = ["{base}/stores/"]
start_callback = "stores"

[callbacks.stores]
items = {{ microdata = "HardwareStore", json_ld = "HardwareStore" }}

[callbacks.stores.fields]
name = {{ jmespath = "name" }}
type = {{ jmespath = "\"@type\"" }}
url = {{ jmespath = "url" }}
street = {{ jmespath = "address.streetAddress" }}
city = {{ jmespath = "address.addressLocality" }}
postcode = {{ jmespath = "address.postalCode" }}
lat = {{ jmespath = "geo.latitude", type = "float" }}
opening_hours = {{ jmespath = "openingHours", hours = true }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(
        sorted(items),
        vec![
            json!({
                "name": "Hammer & Co Leith",
                "type": "HardwareStore",
                "url": format!("{base}/stores/leith"),
                "street": "12 Shore Road",
                "city": "Edinburgh",
                "postcode": "EH6 6QW",
                "lat": 55.9762,
                "opening_hours": "Mo-Fr 08:00-18:00; Sa 09:00-17:00",
            }),
            json!({
                "name": "Hammer & Co Morningside",
                "type": "HardwareStore",
                "url": format!("{base}/stores/morningside"),
                "street": "3 Comiston Road",
                "city": "Edinburgh",
                "opening_hours": "Mo-Su 00:00-24:00",
            }),
            json!({
                "name": "Hammer &amp; Co Online",
                "type": "HardwareStore",
                "street": "Warehouse 4",
                "city": "Livingston",
                "opening_hours": "Mo-Fr 07:00-20:00; Sa-Su 08:00-16:00",
            }),
        ]
    );
}

const JSON_LD_STORE: &str = r#"<html><head>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
 {"@type": "WebSite", "name": "Fresh Foods"},
 {"@type": "GroceryStore", "@id": "https://fresh.example/store/77", "name": "Fresh Foods Kreuzberg",
  "address": {"@type": "PostalAddress", "streetAddress": "Oranienstraße 5", "addressLocality": "Berlin"},
  "openingHoursSpecification": [
   {"@type": "OpeningHoursSpecification", "dayOfWeek": ["https://schema.org/Monday", "https://schema.org/Tuesday", "https://schema.org/Wednesday", "https://schema.org/Thursday", "https://schema.org/Friday"], "opens": "07:00:00", "closes": "22:00:00"},
   {"@type": "OpeningHoursSpecification", "dayOfWeek": "https://schema.org/Saturday", "opens": "08:00", "closes": "23:59"},
   {"@type": "OpeningHoursSpecification", "dayOfWeek": "Sunday", "opens": "00:00", "closes": "00:00"}
  ]}
]}
</script></head><body><h1>Fresh Foods Kreuzberg</h1></body></html>"#;

const GERMAN_HOURS: &str = r#"<html><body>
<h1 class="name">Bäckerei Sonnenschein</h1>
<div class="oeffnungszeiten">
 <h3>Öffnungszeiten</h3>
 <table>
  <tr><td>Montag - Freitag</td><td>06:30 - 12:30 Uhr</td><td>14:00 - 18:00 Uhr</td></tr>
  <tr><td>Samstag</td><td>07:00 bis 13:00 Uhr</td></tr>
  <tr><td>Sonntag</td><td>geschlossen</td></tr>
 </table>
</div>
</body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_hours_from_json_ld_and_german_text() {
    let base = serve_router(
        Router::new()
            .route("/store/77", get(|| async { Html(JSON_LD_STORE) }))
            .route("/baeckerei", get(|| async { Html(GERMAN_HOURS) })),
    )
    .await;
    let spec = format!(
        r#"
name = "hours"
start_urls = ["{base}/store/77"]
start_callback = "store"

[callbacks.store]
items = {{ json_ld = "GroceryStore" }}

[callbacks.store.fields]
id = {{ jmespath = "\"@id\"" }}
name = {{ jmespath = "name" }}
opening_hours = {{ jmespath = "openingHoursSpecification", hours = true }}
whole_object = {{ jmespath = "@", hours = true }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(
        sorted(items),
        vec![json!({
            "id": "https://fresh.example/store/77",
            "name": "Fresh Foods Kreuzberg",
            "opening_hours": "Mo-Fr 07:00-22:00; Sa 08:00-24:00",
            "whole_object": "Mo-Fr 07:00-22:00; Sa 08:00-24:00",
        })]
    );

    let spec = format!(
        r#"
name = "bakery"
start_urls = ["{base}/baeckerei"]
start_callback = "bakery"

[callbacks.bakery.fields]
name = {{ css = "h1.name::text" }}
opening_hours = {{ css = ".oeffnungszeiten", hours = {{ days = "de" }} }}
from_cells = {{ css = ".oeffnungszeiten td::text", hours = {{ days = "de" }} }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    let hours = "Mo-Fr 06:30-12:30,14:00-18:00; Sa 07:00-13:00; Su closed";
    assert_eq!(
        sorted(items),
        vec![json!({
            "name": "Bäckerei Sonnenschein",
            "opening_hours": hours,
            "from_cells": hours,
        })]
    );
}

const STORES_CSV: &str = "\u{feff}store_id;name;street;city;lat;lon;hours\r\n\
101;\"Nord; Hafen\";Kai 1;Hamburg;53.5461;9.9661;\"Mo-Fr 09:00-20:00, Sa 09:00-16:00\"\r\n\
102;Süd;Marktplatz 3;München;48.1374;11.5755;Mo-Sa 08:00-20:00\r\n\
\r\n\
103;West;Domplatz 9;Köln;50.9413;6.9583;\r\n";

const STATIONS_TXT: &str = "Aberdeen;;-2.0943;;57.1437!Bristol;;-2.5879;;51.4545!\
Cardiff;;-3.1791;;51.4816!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_export_and_regex_items() {
    let base = serve_router(
        Router::new()
            .route(
                "/export/stores.csv",
                get(|| async { ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], STORES_CSV) }),
            )
            .route(
                "/stations.txt",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], STATIONS_TXT) }),
            )
            .route(
                "/stations.html",
                get(|| async {
                    Html(format!("<html><body><p>Header 1;;2;;3!</p><pre id=\"data\">{STATIONS_TXT}</pre></body></html>"))
                }),
            ),
    )
    .await;
    let spec = format!(
        r#"
name = "csv"
start_urls = ["{base}/export/stores.csv"]
start_callback = "rows"

[callbacks.rows]
items = {{ csv = {{ delimiter = ";" }} }}

[callbacks.rows.fields]
id = {{ jmespath = "store_id", type = "int" }}
name = {{ jmespath = "name" }}
city = {{ jmespath = "city" }}
lat = {{ jmespath = "lat", type = "float" }}
lon = {{ jmespath = "lon", type = "float" }}
opening_hours = {{ jmespath = "hours", hours = true }}
"#
    );
    let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
    assert_eq!(outcome.finish_reason, "finished");
    assert_eq!(
        sorted(items),
        vec![
            json!({"id": 101, "name": "Nord; Hafen", "city": "Hamburg", "lat": 53.5461, "lon": 9.9661,
                   "opening_hours": "Mo-Fr 09:00-20:00; Sa 09:00-16:00"}),
            json!({"id": 102, "name": "Süd", "city": "München", "lat": 48.1374, "lon": 11.5755,
                   "opening_hours": "Mo-Sa 08:00-20:00"}),
            json!({"id": 103, "name": "West", "city": "Köln", "lat": 50.9413, "lon": 6.9583}),
        ]
    );

    // Regex items over a text body, and over the text a selector picks.
    let stations = vec![
        json!({"name": "Aberdeen", "lat": 57.1437, "lon": -2.0943}),
        json!({"name": "Bristol", "lat": 51.4545, "lon": -2.5879}),
        json!({"name": "Cardiff", "lat": 51.4816, "lon": -3.1791}),
    ];
    for (url, css) in [
        ("stations.txt", ""),
        ("stations.html", r#", css = "pre#data::text""#),
    ] {
        let spec = format!(
            r#"
name = "stations"
start_urls = ["{base}/{url}"]
start_callback = "stations"

[callbacks.stations]
items = {{ re = '(?P<city>[^;!]+);;(?P<lon>[-\d.]+);;(?P<lat>[-\d.]+)'{css} }}

[callbacks.stations.fields]
name = {{ jmespath = "city" }}
lat = {{ jmespath = "lat", type = "float" }}
lon = {{ jmespath = "lon", type = "float" }}
"#
        );
        let (outcome, items) = crawl_spec(&spec, &[], &[]).await;
        assert_eq!(outcome.finish_reason, "finished");
        assert_eq!(sorted(items), stations, "{url}");
    }
}

#[test]
fn structured_spec_errors() {
    let spec = r#"
name = "bad"
start_urls = ["https://example.com/"]
start_callback = "a"

[callbacks.a]
items = { csv = { delimiter = ";;" } }
fields = { x = { jmespath = "x", hours = { days = "tlh" } }, y = { jmespath = "y", hours = true, all = true } }

[callbacks.b]
items = { microdata = "Store", css = "div" }
fields = { x = { jmespath = "x" } }

[callbacks.c]
items = { re = '(unclosed' }
fields = { x = { jmespath = '"1"' } }

[callbacks.d]
items = { csv = "yes" }
fields = { x = { jmespath = "x", hours = { open = "o", bogus = 1 } } }
"#;
    let err = Spec::parse(spec, SpecFormat::Toml, &[]).unwrap_err();
    let all: Vec<(&str, &str)> = err.all().collect();
    let paths: Vec<&str> = all.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        paths,
        vec![
            "callbacks.a.items.csv.delimiter",
            "callbacks.a.fields.x.hours.days",
            "callbacks.a.fields.y.hours",
            "callbacks.b.items",
            "callbacks.c.items.re",
            "callbacks.d.items.csv",
            "callbacks.d.fields.x.hours.bogus",
        ],
        "{err}"
    );
    assert_eq!(all[0].1, "must be one character");
    assert!(
        all[1].1.contains("unknown day-name language \"tlh\""),
        "{}",
        all[1].1
    );

    // `re` with `jmespath` keeps cutting JSON out of the selected text.
    let ok = r#"
name = "ok"
start_urls = ["https://example.com/"]
start_callback = "a"

[callbacks.a]
items = { css = "script::text", re = 'data = (\{.*\});', jmespath = "rows" }
fields = { x = { jmespath = "x" } }
"#;
    Spec::parse(ok, SpecFormat::Toml, &[]).unwrap();
}
