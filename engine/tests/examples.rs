//! The specs under `examples/`, each crawled against a local site serving what such
//! sites serve: a paginated JSON API, store pages with JSON-LD, robots.txt and a
//! sitemap index, a login form with a CSRF token and a cookie session, and a
//! WP Store Locator endpoint. Expected items are computed from the site's data.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Form, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use trawl_engine::spec::{Spec, SpecSpider};

use common::{crawl_settings, serve_router, stat};

/// One store of the example chain.
struct Store {
    id: u32,
    slug: String,
    name: String,
    line1: String,
    line2: Option<String>,
    city: &'static str,
    postcode: String,
    country: &'static str,
    lat: f64,
    lon: f64,
    phone: String,
    drive_through: bool,
}

const CITIES: [(&str, &str); 6] = [
    ("london", "GB"),
    ("leeds", "GB"),
    ("paris", "FR"),
    ("lyon", "FR"),
    ("berlin", "DE"),
    ("oslo", "NO"),
];

fn stores() -> Vec<Store> {
    (1..=27u32)
        .map(|id| {
            let (city, country) = CITIES[(id as usize * 7) % CITIES.len()];
            Store {
                id,
                slug: format!("{city}-{id}"),
                name: format!("Northwind Coffee {} #{id}", title(city)),
                line1: format!("{} High Street", id * 3),
                line2: (id % 4 == 0).then(|| format!("Unit {}", id / 4)),
                city,
                postcode: format!("{:05}", 10_000 + id * 37),
                country,
                lat: 40.0 + f64::from(id) / 8.0,
                lon: -3.0 + f64::from(id) / 16.0,
                phone: format!("+44 20 7946 {:04}", id * 11),
                drive_through: id % 3 == 0,
            }
        })
        .collect()
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct ApiQuery {
    page: Option<usize>,
    per_page: Option<usize>,
    country: Option<String>,
}

/// `/api/v2/stores`: JSON:API-style pages of stores, optionally of one country.
async fn api(Query(q): Query<ApiQuery>) -> Response {
    let per_page = q.per_page.unwrap_or(10).clamp(1, 50);
    let page = q.page.unwrap_or(1).max(1);
    let all: Vec<Store> = stores()
        .into_iter()
        .filter(|s| q.country.as_deref().is_none_or(|c| c == s.country))
        .collect();
    let data: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|s| {
            json!({
                "type": "store",
                "id": s.id.to_string(),
                "attributes": {
                    "name": s.name,
                    "address": {
                        "line1": s.line1, "line2": s.line2, "city": s.city.to_uppercase(),
                        "postcode": s.postcode, "country": s.country,
                    },
                    "location": [s.lon, s.lat],
                    "services": if s.drive_through { json!(["wifi", "drive-through"]) } else { json!(["wifi"]) },
                },
                "links": { "self": format!("/stores/{}", s.slug) },
            })
        })
        .collect();
    let total_pages = all.len().div_ceil(per_page);
    (
        [(header::CONTENT_TYPE, "application/vnd.api+json")],
        json!({ "data": data, "meta": { "page": page, "total_pages": total_pages } }).to_string(),
    )
        .into_response()
}

/// `/stores/`: the locator's list of store pages.
async fn locator() -> Html<String> {
    let links: String = stores()
        .iter()
        .map(|s| format!("<li><a href=\"/stores/{}\">{}</a></li>", s.slug, s.name))
        .collect();
    Html(format!(
        "<!DOCTYPE html><html><head><title>Find a store</title></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/account/login\">Sign in</a></nav>\
         <ul class=\"stores\">{links}</ul></body></html>"
    ))
}

/// `/stores/<slug>`: a store page with its address in HTML and in JSON-LD.
async fn store_page(Path(slug): Path<String>) -> Response {
    let Some(s) = stores().into_iter().find(|s| s.slug == slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ld = json!({
        "@context": "https://schema.org",
        "@graph": [
            { "@type": "WebPage", "name": s.name },
            {
                "@type": "CafeOrCoffeeShop",
                "branchCode": s.id.to_string(),
                "name": s.name.replace('&', "&amp;"),
                "telephone": s.phone,
                "address": {
                    "@type": "PostalAddress",
                    "streetAddress": s.line1, "addressLocality": title(s.city),
                    "postalCode": s.postcode, "addressCountry": s.country,
                },
                "geo": { "@type": "GeoCoordinates", "latitude": s.lat, "longitude": s.lon },
                "openingHoursSpecification": [
                    { "@type": "OpeningHoursSpecification",
                      "dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
                      "opens": "07:00", "closes": "19:00" },
                    { "@type": "OpeningHoursSpecification", "dayOfWeek": "Saturday",
                      "opens": "08:00", "closes": "18:00" },
                ],
            },
        ],
    });
    Html(format!(
        "<!DOCTYPE html><html><head><title>{name}</title>\
         <script type=\"application/ld+json\">{ld}</script></head><body>\
         <h1>{name}</h1><div class=\"address\"><span class=\"street\">{street}</span>, \
         <span class=\"city\">{city}</span> <span class=\"postcode\">{postcode}</span></div>\
         <p>Call us: <a href=\"tel:{phone}\">{phone}</a></p></body></html>",
        name = s.name,
        street = s.line1,
        city = title(s.city),
        postcode = s.postcode,
        phone = s.phone.replace(' ', ""),
    ))
    .into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn robots(headers: HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    format!("User-agent: *\nDisallow: /account/\nSitemap: http://{host}/sitemap.xml\n")
}

async fn sitemap_index() -> Response {
    xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <sitemap><loc>/sitemaps/stores.xml</loc></sitemap>\
         <sitemap><loc>/sitemaps/pages.xml</loc></sitemap></sitemapindex>"
        .into())
}

async fn sitemap_stores() -> Response {
    let urls: String = stores()
        .iter()
        .map(|s| format!("<url><loc>/stores/{}</loc></url>", s.slug))
        .chain(std::iter::once(
            "<url><loc>/stores/</loc></url>".to_string(),
        ))
        .collect();
    xml(format!(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         {urls}</urlset>"
    ))
}

async fn sitemap_pages() -> Response {
    xml(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <url><loc>/stores/not-in-the-followed-sitemap</loc></url></urlset>"
            .into(),
    )
}

/// Sessions of the login site: session id → (CSRF token, logged in).
type Sessions = Arc<Mutex<HashMap<String, (String, bool)>>>;

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// An order: number, date, lines (product, price).
type Order = (&'static str, &'static str, &'static [(&'static str, f64)]);

const ORDERS: [Order; 3] = [
    (
        "A-1001",
        "2026-10-02",
        &[("Espresso beans 1 kg", 24.5), ("Filter papers", 3.0)],
    ),
    ("A-1002", "2026-10-19", &[("Cold brew kit", 39.9)]),
    (
        "A-1003",
        "2026-11-07",
        &[("Mug", 12.0), ("Mug", 12.0), ("Gift card", 50.0)],
    ),
];

fn login_routes(sessions: Sessions) -> Router {
    let s1 = sessions.clone();
    let s2 = sessions.clone();
    let s3 = sessions;
    Router::new()
        .route(
            "/account/login",
            get(move || {
                let sessions = s1.clone();
                async move {
                    let n = sessions.lock().len();
                    let (sid, csrf) = (format!("s{n}"), format!("tok-{}", n * 7919 + 13));
                    sessions.lock().insert(sid.clone(), (csrf.clone(), false));
                    (
                        [(header::SET_COOKIE, format!("sid={sid}; Path=/; HttpOnly"))],
                        Html(format!(
                            "<html><body><form id=\"search\" action=\"/search\"><input name=\"q\"></form>\
                             <form id=\"login\" method=\"post\" action=\"/account/login\">\
                             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                             <input name=\"username\"><input type=\"password\" name=\"password\">\
                             <input type=\"checkbox\" name=\"remember\" value=\"1\">\
                             <button type=\"submit\" name=\"action\" value=\"login\">Sign in</button>\
                             </form></body></html>"
                        )),
                    )
                }
            })
            .post(move |headers: HeaderMap, Form(f): Form<HashMap<String, String>>| {
                let sessions = s2.clone();
                async move {
                    let sid = cookie(&headers, "sid").unwrap_or_default();
                    let mut sessions = sessions.lock();
                    let ok = match sessions.get_mut(&sid) {
                        Some((csrf, logged_in))
                            if f.get("csrf_token") == Some(csrf)
                                && f.get("username").map(String::as_str) == Some("demo")
                                && f.get("password").map(String::as_str) == Some("s3cret")
                                && f.get("action").map(String::as_str) == Some("login")
                                && !f.contains_key("remember") =>
                        {
                            *logged_in = true;
                            true
                        }
                        _ => false,
                    };
                    if ok {
                        Redirect::to("/account/orders").into_response()
                    } else {
                        (StatusCode::FORBIDDEN, "bad login").into_response()
                    }
                }
            }),
        )
        .route(
            "/account/orders",
            get({
                let sessions = s3.clone();
                move |headers: HeaderMap| orders(sessions, headers, None)
            }),
        )
        .route(
            "/account/orders/{n}",
            get(move |Path(n): Path<String>, headers: HeaderMap| {
                orders(s3.clone(), headers, Some(n))
            }),
        )
}

/// The account's orders, or one order, for a logged-in session.
async fn orders(sessions: Sessions, headers: HeaderMap, order: Option<String>) -> Response {
    let sid = cookie(&headers, "sid").unwrap_or_default();
    if !sessions.lock().get(&sid).is_some_and(|(_, ok)| *ok) {
        return Redirect::to("/account/login").into_response();
    }
    let body = match order {
        None => {
            let rows: String = ORDERS
                .iter()
                .map(|(n, d, _)| {
                    format!(
                        "<tr class=\"order\"><td class=\"number\">{n}</td>\
                         <td class=\"date\">{d}</td>\
                         <td><a href=\"/account/orders/{n}\">view</a></td></tr>"
                    )
                })
                .collect();
            format!("<table class=\"orders\"><tr><th>Order</th></tr>{rows}</table>")
        }
        Some(n) => match ORDERS.iter().find(|o| o.0 == n) {
            Some((_, _, lines)) => {
                let total: f64 = lines.iter().map(|l| l.1).sum();
                let li: String = lines
                    .iter()
                    .map(|l| format!("<li class=\"line\">{}</li>", l.0))
                    .collect();
                format!("<ul>{li}</ul><p class=\"total\">Total: £{total:.2}</p>")
            }
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    Html(format!("<html><body>{body}</body></html>")).into_response()
}

/// `/wp-admin/admin-ajax.php?action=store_search&autoload=1`, as WP Store Locator.
async fn wpsl(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("action").map(String::as_str) != Some("store_search") {
        return (StatusCode::OK, "0").into_response();
    }
    let list: Vec<Value> = stores()
        .iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(),
                "store": s.name.replace("Coffee", "Coffee &amp; Tea"),
                "address": s.line1,
                "address2": s.line2.clone().unwrap_or_default(),
                "city": title(s.city),
                "state": "",
                "zip": s.postcode,
                "country": s.country,
                "lat": format!("{}", s.lat),
                "lng": format!("{}", s.lon),
                "phone": s.phone,
                "email": "",
                "url": format!("/stores/{}", s.slug),
                "thumb": "",
                "hours": "<table role=\"presentation\" class=\"wpsl-opening-hours\"><tr><td>Monday</td><td><time>7:00 AM - 7:00 PM</time></td></tr></table>",
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        Value::Array(list).to_string(),
    )
        .into_response()
}

/// A dealer of the scripted example: code, name, services, closed.
const DEALERS: [(&str, &str, &[&str], bool); 4] = [
    (
        "D100",
        "Northwind Motors Leeds",
        &["sales", "service"],
        false,
    ),
    ("D200", "Northwind Motors Paris", &["service"], false),
    ("D300", "Northwind Motors Oslo", &["sales"], false),
    ("D400", "Northwind Motors Lyon", &["sales", "service"], true),
];

fn dealer_hours(i: usize) -> Value {
    json!({
        "monday": "08:00-18:00", "tuesday": "08:00-18:00", "wednesday": "08:00-18:00",
        "thursday": "08:00-18:00", "friday": "08:00-18:00",
        "saturday": if i.is_multiple_of(2) { "09:00-13:00" } else { "closed" },
    })
}

/// `/api/dealers`: every dealer, hours as a JSON string inside the JSON.
async fn dealers_api() -> Response {
    let list: Vec<Value> = DEALERS
        .iter()
        .enumerate()
        .map(|(i, (code, name, services, closed))| {
            json!({
                "code": code, "name": name, "services": services,
                "status": if *closed { "closed" } else { "open" },
                "lat": 50.0 + i as f64, "lng": 1.5 + i as f64,
                "hours": dealer_hours(i).to_string(),
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "dealers": list }).to_string(),
    )
        .into_response()
}

async fn dealer_page(Path(code): Path<String>) -> Response {
    match DEALERS.iter().position(|d| d.0 == code) {
        Some(i) => Html(format!(
            "<html><body><h1>{}</h1><a href=\"tel:+33100{i}\">call</a></body></html>",
            DEALERS[i].1
        ))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/api/search?lat=..&lng=..`: the stores within half a degree of latitude.
async fn search(Query(q): Query<HashMap<String, String>>) -> Response {
    let lat: f64 = q.get("lat").and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let results: Vec<Value> = stores()
        .iter()
        .filter(|s| lat - 0.5 <= s.lat && s.lat < lat + 0.5)
        .map(|s| json!({ "id": s.id, "name": s.name, "lat": s.lat, "lng": s.lon }))
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "results": results }).to_string(),
    )
        .into_response()
}

async fn site() -> String {
    let sessions: Sessions = Arc::default();
    let app = Router::new()
        .route("/api/v2/stores", get(api))
        .route("/stores/", get(locator))
        .route("/stores/{slug}", get(store_page))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap_index))
        .route("/sitemaps/stores.xml", get(sitemap_stores))
        .route("/sitemaps/pages.xml", get(sitemap_pages))
        .route("/wp-admin/admin-ajax.php", get(wpsl))
        .route("/api/dealers", get(dealers_api))
        .route("/api/search", get(search))
        .route("/dealers/{code}", get(dealer_page))
        .merge(login_routes(sessions));
    serve_router(app).await
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// Crawls an example spec file with `-a site=<base>`.
async fn crawl_example(name: &str, base: &str) -> (trawl_engine::CrawlOutcome, Vec<Value>) {
    let args = vec![("site".to_string(), base.to_string())];
    let spec = Spec::load(&example(name), &["site"]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let spider = SpecSpider::new(Arc::new(spec), &args).unwrap();
    let sink = Arc::new(trawl_engine::pipeline::MemorySink::new());
    let crawl = trawl_engine::CrawlBuilder::new(Arc::new(spider), crawl_settings(&[]))
        .sink(sink.clone())
        .build()
        .unwrap();
    let outcome = crawl.run().await;
    assert_eq!(outcome.finish_reason, "finished", "{name}");
    let items = sink.items().into_iter().map(Value::Object).collect();
    (outcome, items)
}

fn by_ref(items: &[Value], key: &str) -> HashMap<String, Value> {
    let map: HashMap<String, Value> = items
        .iter()
        .map(|i| (i[key].to_string().trim_matches('"').to_string(), i.clone()))
        .collect();
    assert_eq!(map.len(), items.len(), "each {key} once");
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_api_with_pagination() {
    let base = site().await;
    let (outcome, items) = crawl_example("json-api.toml", &base).await;
    let got = by_ref(&items, "ref");
    let all = stores();
    assert_eq!(got.len(), all.len());
    // 3 pages of stores: the third says it is the last.
    assert_eq!(stat(&outcome, "response_received_count"), 3);
    for s in &all {
        let i = &got[&s.id.to_string()];
        let street = match &s.line2 {
            Some(l2) => format!("{}, {l2}", s.line1),
            None => s.line1.clone(),
        };
        assert_eq!(
            *i,
            json!({
                "ref": s.id, "name": s.name, "street_address": street, "city": title(s.city),
                "postcode": s.postcode, "country": s.country, "lat": s.lat, "lon": s.lon,
                "drive_through": if s.drive_through { "yes" } else { "no" },
                "website": format!("{base}/stores/{}", s.slug),
            })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_locator_with_json_ld() {
    let base = site().await;
    let (_, items) = crawl_example("store-locator-jsonld.toml", &base).await;
    let got = by_ref(&items, "ref");
    assert_eq!(got.len(), stores().len());
    for s in stores() {
        let i = &got[&s.id.to_string()];
        assert_eq!(i["name"], s.name);
        assert_eq!(i["city"], title(s.city));
        assert_eq!(i["lat"], json!(s.lat));
        assert_eq!(i["phone"], s.phone.replace(' ', ""));
        assert_eq!(i["website"], format!("{base}/stores/{}", s.slug));
        assert_eq!(i["opening_hours"], "Mo-Fr 07:00-19:00; Sa 08:00-18:00");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_form_then_crawl() {
    let base = site().await;
    let (outcome, items) = crawl_example("login-then-crawl.toml", &base).await;
    let got = by_ref(&items, "order");
    assert_eq!(got.len(), ORDERS.len(), "{items:?}");
    for (n, date, lines) in ORDERS {
        let total: f64 = lines.iter().map(|l| l.1).sum();
        let names: Vec<&str> = lines.iter().map(|l| l.0).collect();
        assert_eq!(
            got[n],
            json!({ "order": n, "date": date, "total": (total * 100.0).round() / 100.0, "lines": names })
        );
    }
    assert_eq!(stat(&outcome, "downloader/request_method_count/POST"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemap_from_robots_txt() {
    let base = site().await;
    let (_, items) = crawl_example("sitemap.toml", &base).await;
    let names: BTreeSet<String> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = stores().into_iter().map(|s| s.name).collect();
    assert_eq!(names, want);
    assert_eq!(items.len(), want.len());
    let first = items
        .iter()
        .find(|i| i["website"] == format!("{base}/stores/london-12"))
        .expect("store 12 is in London");
    assert_eq!(first["phone"], "+442079460132");
    assert_eq!(first["street_address"], "36 High Street");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_extending_another() {
    let base = site().await;
    let (_, items) = crawl_example("extends/northwind-fr.toml", &base).await;
    let got = by_ref(&items, "ref");
    let french: Vec<Store> = stores().into_iter().filter(|s| s.country == "FR").collect();
    assert!(!french.is_empty());
    assert_eq!(got.len(), french.len());
    for s in french {
        assert_eq!(
            got[&s.id.to_string()],
            json!({
                "ref": s.id, "name": s.name, "city": title(s.city), "country": "FR",
                "brand": "Northwind Café", "postcode": s.postcode,
            })
        );
    }
    // The base alone is no spider.
    let e = Spec::load(&example("extends/northwind-base.toml"), &[]).unwrap_err();
    assert_eq!(e.path, "abstract");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_template_wp_store_locator() {
    let base = site().await;
    let (_, items) = crawl_example("wp-store-locator.toml", &base).await;
    let got = by_ref(&items, "ref");
    assert_eq!(got.len(), stores().len());
    for s in stores() {
        let i = &got[&s.id.to_string()];
        assert_eq!(i["name"], s.name.replace("Coffee", "Coffee & Tea"));
        assert_eq!(i["brand"], "Northwind Coffee");
        assert_eq!(i["lon"], json!(s.lon));
        assert_eq!(i["website"], format!("{base}/stores/{}", s.slug));
        assert!(i.get("image").is_none() && i.get("email").is_none(), "{i}");
        let street = match &s.line2 {
            Some(l2) => format!("{}, {l2}", s.line1),
            None => s.line1.clone(),
        };
        assert_eq!(i["street_address"], street);
        assert_eq!(i["opening_hours"], "Mo 07:00-19:00");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_callback() {
    let base = site().await;
    let (outcome, items) = crawl_example("scripted/dealers.toml", &base).await;
    let got = by_ref(&items, "ref");
    let mut want = HashMap::new();
    for (i, (code, name, services, closed)) in DEALERS.iter().enumerate() {
        if *closed {
            continue;
        }
        let hours = if i.is_multiple_of(2) {
            "Mo-Fr 08:00-18:00; Sa 09:00-13:00"
        } else {
            "Mo-Fr 08:00-18:00; Sa closed"
        };
        for service in *services {
            let r = format!("{code}-{service}");
            let shop = if *service == "sales" {
                "car"
            } else {
                "car_repair"
            };
            want.insert(
                r.clone(),
                json!({
                    "ref": r, "name": name, "shop": shop, "lat": 50.0 + i as f64,
                    "lon": 1.5 + i as f64, "website": format!("{base}/dealers/{code}"),
                    "phone": format!("+33100{i}"), "opening_hours": hours,
                }),
            );
        }
    }
    assert_eq!(got, want);
    // The list, then the three open dealers' pages.
    assert_eq!(stat(&outcome, "response_received_count"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_requests_from_a_csv_of_points() {
    let base = site().await;
    let (outcome, items) = crawl_example("grid-search.toml", &base).await;
    let got = by_ref(&items, "ref");
    assert_eq!(got.len(), stores().len());
    assert_eq!(stat(&outcome, "response_received_count"), 4);
}
