//! The built-in spider middlewares.

mod common;

use common::{context, downloader, drive, response, settings, Server};
use serde_json::json;
use trawl_engine::middleware::spider::spider_middlewares;
use trawl_engine::middleware::SpiderMiddleware;
use trawl_engine::{Request, Response};

fn fake_response(url: &str, status: u16, depth: u32) -> Response {
    let mut req = Request::parse(url).unwrap();
    req.depth = depth;
    Response::new(
        req,
        url.parse().unwrap(),
        status,
        Default::default(),
        Default::default(),
    )
}

/// Runs a yielded request through the chain as the engine does.
fn yield_request(
    chain: &[std::sync::Arc<dyn SpiderMiddleware>],
    from: Option<&Response>,
    mut req: Request,
) -> Option<Request> {
    chain
        .iter()
        .all(|m| m.process_request(from, &mut req))
        .then_some(req)
}

#[tokio::test]
async fn registry_orders_spider_middlewares() {
    let ctx = context(settings(&[]), &[]);
    let names: Vec<String> = spider_middlewares(&ctx, vec![])
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "HttpErrorMiddleware",
            "RefererMiddleware",
            "UrlLengthMiddleware",
            "DepthMiddleware"
        ]
    );

    let ctx = context(
        settings(&[(
            "SPIDER_MIDDLEWARES",
            json!({"scrapy.spidermiddlewares.referer.RefererMiddleware": null, "Depth": 10}),
        )]),
        &[],
    );
    let names: Vec<String> = spider_middlewares(&ctx, vec![])
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "DepthMiddleware",
            "HttpErrorMiddleware",
            "UrlLengthMiddleware"
        ]
    );

    let ctx = context(
        settings(&[("SPIDER_MIDDLEWARES", json!({"Bogus": 1}))]),
        &[],
    );
    assert!(spider_middlewares(&ctx, vec![])
        .err()
        .unwrap()
        .to_string()
        .contains("Bogus"));
}

#[tokio::test]
async fn http_error_filters_downloaded_error_responses() {
    let srv = Server::start().await;
    let ctx = context(
        settings(&[
            ("RETRY_ENABLED", json!(false)),
            ("HTTPERROR_ALLOWED_CODES", json!([410])),
        ]),
        &[],
    );
    let dl = downloader(&ctx);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    let check = |r: &Response| chain.iter().try_for_each(|m| m.process_spider_input(r));

    let ok = response(drive(&dl, srv.get("/page")).await.0);
    assert!(check(&ok).is_ok());
    let not_found = response(drive(&dl, srv.get("/status/404")).await.0);
    let err = check(&not_found).unwrap_err();
    assert_eq!(
        err,
        format!(
            "Ignoring response <404 {}>: HTTP status code is not handled or not allowed",
            srv.url("/status/404")
        )
    );
    assert_eq!(ctx.stats.get_i64("httperror/response_ignored_count"), 1);
    assert_eq!(
        ctx.stats
            .get_i64("httperror/response_ignored_status_count/404"),
        1
    );

    let gone = response(drive(&dl, srv.get("/status/410")).await.0);
    assert!(check(&gone).is_ok(), "HTTPERROR_ALLOWED_CODES");
    let handled = response(
        drive(
            &dl,
            srv.get("/status/404")
                .meta("handle_httpstatus_list", json!([404])),
        )
        .await
        .0,
    );
    assert!(check(&handled).is_ok());
    let all = response(
        drive(
            &dl,
            srv.get("/status/500").meta("handle_httpstatus_all", true),
        )
        .await
        .0,
    );
    assert!(check(&all).is_ok());
    // A meta list replaces the settings' allowed codes.
    let other = response(
        drive(
            &dl,
            srv.get("/status/410")
                .meta("handle_httpstatus_list", json!([404])),
        )
        .await
        .0,
    );
    assert!(check(&other).is_err());
}

#[tokio::test]
async fn http_error_allow_all() {
    let ctx = context(settings(&[("HTTPERROR_ALLOW_ALL", json!(true))]), &[]);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    let r = fake_response("http://x.test/", 503, 0);
    assert!(chain.iter().all(|m| m.process_spider_input(&r).is_ok()));
}

#[tokio::test]
async fn depth_limit_priority_and_stats() {
    let ctx = context(
        settings(&[
            ("DEPTH_LIMIT", json!(2)),
            ("DEPTH_PRIORITY", json!(1)),
            ("DEPTH_STATS_VERBOSE", json!(true)),
        ]),
        &[],
    );
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    let start = yield_request(&chain, None, Request::parse("http://x.test/").unwrap()).unwrap();
    assert_eq!(start.depth, 0);

    let r0 = fake_response("http://x.test/", 200, 0);
    let d1 = yield_request(
        &chain,
        Some(&r0),
        Request::parse("http://x.test/a").unwrap().priority(10),
    )
    .unwrap();
    assert_eq!((d1.depth, d1.priority), (1, 9));
    let r1 = fake_response("http://x.test/a", 200, 1);
    let d2 = yield_request(
        &chain,
        Some(&r1),
        Request::parse("http://x.test/b").unwrap(),
    )
    .unwrap();
    assert_eq!((d2.depth, d2.priority), (2, -2));
    let r2 = fake_response("http://x.test/b", 200, 2);
    assert!(yield_request(
        &chain,
        Some(&r2),
        Request::parse("http://x.test/c").unwrap()
    )
    .is_none());

    let s = &ctx.stats;
    assert_eq!(s.get_i64("request_depth_max"), 2);
    assert_eq!(s.get_i64("request_depth_count/0"), 1);
    assert_eq!(s.get_i64("request_depth_count/1"), 1);
    assert_eq!(s.get_i64("request_depth_count/2"), 1);
    assert_eq!(s.get_i64("request_depth_count/3"), 0);
}

#[tokio::test]
async fn url_length_limit() {
    let ctx = context(settings(&[("URLLENGTH_LIMIT", json!(30))]), &[]);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    assert!(yield_request(&chain, None, Request::parse("http://x.test/short").unwrap()).is_some());
    let long = format!("http://x.test/{}", "a".repeat(40));
    assert!(yield_request(&chain, None, Request::parse(&long).unwrap()).is_none());
    assert_eq!(ctx.stats.get_i64("urllength/request_ignored_count"), 1);

    let ctx = context(settings(&[("URLLENGTH_LIMIT", json!(0))]), &[]);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    assert!(yield_request(&chain, None, Request::parse(&long).unwrap()).is_some());
}

#[tokio::test]
async fn referer_follows_no_referrer_when_downgrade() {
    let ctx = context(settings(&[]), &[]);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    let referer = |from: &str, to: &str| {
        let resp = fake_response(from, 200, 0);
        let req = yield_request(&chain, Some(&resp), Request::parse(to).unwrap()).unwrap();
        req.headers
            .get("referer")
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        referer("http://u:p@a.test/x#frag", "http://b.test/").as_deref(),
        Some("http://a.test/x")
    );
    assert_eq!(
        referer("https://a.test/x", "https://b.test/").as_deref(),
        Some("https://a.test/x")
    );
    assert_eq!(referer("https://a.test/x", "http://b.test/"), None);
    assert_eq!(referer("file:///tmp/x.html", "http://b.test/"), None);
    // Start requests get none.
    let start = yield_request(&chain, None, Request::parse("http://b.test/").unwrap()).unwrap();
    assert!(start.headers.get("referer").is_none());

    let ctx = context(settings(&[("REFERER_ENABLED", json!(false))]), &[]);
    let chain = spider_middlewares(&ctx, vec![]).unwrap();
    let resp = fake_response("http://a.test/", 200, 0);
    let req = yield_request(
        &chain,
        Some(&resp),
        Request::parse("http://b.test/").unwrap(),
    )
    .unwrap();
    assert!(req.headers.get("referer").is_none());
}
