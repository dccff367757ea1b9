//! The built-in downloader middlewares against a real HTTP server.

mod common;

use std::sync::Arc;

use common::{context, downloader, drive, echoed, response, settings, Server};
use http::Method;
use serde_json::json;
use trawl_engine::downloader::{DownloadError, DownloadOutcome};
use trawl_engine::middleware::downloader::{downloader_middlewares, HttpProxyMiddleware};
use trawl_engine::middleware::DownloaderMiddleware;
use trawl_engine::Request;

fn ignored_reason(outcome: &DownloadOutcome) -> String {
    match outcome {
        DownloadOutcome::Failed(_, DownloadError::Ignored(r)) => r.clone(),
        other => panic!("expected an ignored request, got {other:?}"),
    }
}

#[tokio::test]
async fn registry_orders_builtins_and_applies_overrides() {
    let ctx = context(settings(&[]), &[]);
    let names: Vec<String> = downloader_middlewares(&ctx, vec![])
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "DefaultHeadersMiddleware",
            "UserAgentMiddleware",
            "RetryMiddleware",
            "MetaRefreshMiddleware",
            "RedirectMiddleware",
            "CookiesMiddleware",
            "HttpProxyMiddleware",
            "DownloaderStats",
        ]
    );

    let ctx = context(
        settings(&[(
            "DOWNLOADER_MIDDLEWARES",
            json!({
                "scrapy.downloadermiddlewares.retry.RetryMiddleware": null,
                "Cookies": 10,
                "UserAgentMiddleware": false,
            }),
        )]),
        &[],
    );
    let names: Vec<String> = downloader_middlewares(&ctx, vec![])
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(names[0], "CookiesMiddleware");
    assert!(!names
        .iter()
        .any(|n| n == "RetryMiddleware" || n == "UserAgentMiddleware"));

    let ctx = context(
        settings(&[("DOWNLOADER_MIDDLEWARES", json!({"NoSuchMiddleware": 5}))]),
        &[],
    );
    let err = downloader_middlewares(&ctx, vec![]).err().unwrap();
    assert!(err.to_string().contains("NoSuchMiddleware"), "{err}");
}

#[tokio::test]
async fn extra_middlewares_are_placed_by_order_and_overridable() {
    let extra: Arc<dyn DownloaderMiddleware> = Arc::new(HttpProxyMiddleware::new(None, None, None));
    struct Named;
    impl DownloaderMiddleware for Named {
        fn name(&self) -> &str {
            "MyMiddleware"
        }
    }
    let ctx = context(settings(&[]), &[]);
    let chain = downloader_middlewares(&ctx, vec![(1, Arc::new(Named)), (2000, extra)]).unwrap();
    assert_eq!(chain.first().unwrap().name(), "MyMiddleware");
    assert_eq!(chain.last().unwrap().name(), "HttpProxyMiddleware");

    let ctx = context(
        settings(&[("DOWNLOADER_MIDDLEWARES", json!({"MyMiddleware": null}))]),
        &[],
    );
    let chain = downloader_middlewares(&ctx, vec![(1, Arc::new(Named))]).unwrap();
    assert!(chain.iter().all(|m| m.name() != "MyMiddleware"));
}

#[tokio::test]
async fn default_headers_and_user_agent_are_added_unless_present() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    let resp = response(dl.download(srv.get("/echo")).await);
    let e = echoed(&resp);
    assert_eq!(e["headers"]["accept-language"], "en");
    assert!(e["headers"]["accept"]
        .as_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(e["headers"]["user-agent"]
        .as_str()
        .unwrap()
        .starts_with("Trawl/"));

    let req = srv
        .get("/echo")
        .header("User-Agent", "mine")
        .header("Accept-Language", "fr");
    let e = echoed(&response(dl.download(req).await));
    assert_eq!(e["headers"]["user-agent"], "mine");
    assert_eq!(e["headers"]["accept-language"], "fr");
}

#[tokio::test]
async fn http_auth_only_for_its_domain() {
    let srv = Server::start().await;
    let ctx = context(
        settings(&[
            ("HTTP_USER", json!("u")),
            ("HTTP_PASS", json!("p")),
            ("HTTP_AUTH_DOMAIN", json!("127.0.0.1")),
        ]),
        &[],
    );
    let e = echoed(&response(downloader(&ctx).download(srv.get("/echo")).await));
    assert_eq!(e["headers"]["authorization"], "Basic dTpw");

    let ctx = context(
        settings(&[
            ("HTTP_USER", json!("u")),
            ("HTTP_PASS", json!("p")),
            ("HTTP_AUTH_DOMAIN", json!("example.com")),
        ]),
        &[],
    );
    let e = echoed(&response(downloader(&ctx).download(srv.get("/echo")).await));
    assert!(e["headers"].get("authorization").is_none());
}

#[tokio::test]
async fn offsite_requests_are_dropped_unless_allowed() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &["example.com"]);
    let dl = downloader(&ctx);
    let out = dl.download(srv.get("/page")).await;
    assert!(ignored_reason(&out).contains("offsite"));
    assert_eq!(srv.hits("/page"), 0);
    let _ = dl.download(srv.get("/page")).await;
    assert_eq!(ctx.stats.get_i64("offsite/filtered"), 2);
    assert_eq!(ctx.stats.get_i64("offsite/domains"), 1);

    let resp = response(
        dl.download(srv.get("/page").meta("allow_offsite", true))
            .await,
    );
    assert_eq!(resp.status, 200);
    let resp = response(dl.download(srv.get("/page").dont_filter(true)).await);
    assert_eq!(resp.status, 200);

    let ctx = context(settings(&[]), &["127.0.0.1"]);
    assert_eq!(
        response(downloader(&ctx).download(srv.get("/page")).await).status,
        200
    );
}

#[tokio::test]
async fn robots_txt_is_fetched_once_and_obeyed() {
    let srv = Server::start().await;
    let ctx = context(settings(&[("ROBOTSTXT_OBEY", json!(true))]), &[]);
    let dl = downloader(&ctx);
    let reqs = (0..6).map(|i| srv.get(&format!("/page?i={i}")));
    let outs = futures::future::join_all(reqs.map(|r| dl.download(r))).await;
    for o in outs {
        assert_eq!(response(o).status, 200);
    }
    assert_eq!(srv.hits("/robots.txt"), 1);

    let out = dl.download(srv.get("/private/x")).await;
    assert_eq!(ignored_reason(&out), "Forbidden by robots.txt");
    assert_eq!(srv.hits("/private/x"), 0);
    let resp = response(
        dl.download(srv.get("/private/x").meta("dont_obey_robotstxt", true))
            .await,
    );
    assert_eq!(resp.status, 200);

    let s = &ctx.stats;
    assert_eq!(s.get_i64("robotstxt/request_count"), 1);
    assert_eq!(s.get_i64("robotstxt/response_count"), 1);
    assert_eq!(s.get_i64("robotstxt/response_status_count/200"), 1);
    assert_eq!(s.get_i64("robotstxt/forbidden"), 1);
    assert_eq!(
        s.get_i64("downloader/exception_type_count/IgnoreRequest"),
        1
    );
}

#[tokio::test]
async fn unreachable_robots_txt_allows_all() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ctx = context(
        settings(&[
            ("ROBOTSTXT_OBEY", json!(true)),
            ("RETRY_ENABLED", json!(false)),
        ]),
        &[],
    );
    let out = downloader(&ctx)
        .download(Request::parse(&format!("http://127.0.0.1:{port}/private")).unwrap())
        .await;
    // Not forbidden: the download itself is attempted (and refused).
    assert!(
        matches!(
            out,
            DownloadOutcome::Failed(_, DownloadError::ConnectionRefused(_))
        ),
        "{out:?}"
    );
    assert_eq!(
        ctx.stats
            .get_i64("robotstxt/exception_count/ConnectionRefusedError"),
        1
    );
}

#[tokio::test]
async fn retry_on_503_then_success() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let (out, rescheduled) = drive(&downloader(&ctx), srv.get("/flaky/2").priority(5)).await;
    let resp = response(out);
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"recovered");
    assert_eq!(srv.hits("/flaky/2"), 3);
    assert_eq!(rescheduled.len(), 2);
    assert!(rescheduled.iter().all(|r| r.dont_filter));
    assert_eq!(rescheduled[1].meta_u64("retry_times"), Some(2));
    assert_eq!(rescheduled[1].priority, 3);
    assert_eq!(ctx.stats.get_i64("retry/count"), 2);
    assert_eq!(
        ctx.stats
            .get_i64("retry/reason_count/503 Service Unavailable"),
        2
    );
    assert_eq!(ctx.stats.get_i64("retry/max_reached"), 0);
}

#[tokio::test]
async fn retry_exhausted_passes_the_response_on() {
    let srv = Server::start().await;
    let ctx = context(settings(&[("RETRY_TIMES", json!(1))]), &[]);
    let (out, rescheduled) = drive(&downloader(&ctx), srv.get("/status/500")).await;
    assert_eq!(response(out).status, 500);
    assert_eq!(rescheduled.len(), 1);
    assert_eq!(srv.hits("/status/500"), 2);
    assert_eq!(ctx.stats.get_i64("retry/max_reached"), 1);
    assert_eq!(
        ctx.stats
            .get_i64("retry/reason_count/500 Internal Server Error"),
        1
    );

    // meta overrides: max_retry_times and dont_retry
    let (out, rescheduled) = drive(
        &downloader(&ctx),
        srv.get("/status/502").meta("max_retry_times", 3),
    )
    .await;
    assert_eq!(response(out).status, 502);
    assert_eq!(rescheduled.len(), 3);
    let (out, rescheduled) = drive(
        &downloader(&ctx),
        srv.get("/status/503").meta("dont_retry", true),
    )
    .await;
    assert_eq!(response(out).status, 503);
    assert!(rescheduled.is_empty());
}

#[tokio::test]
async fn retry_on_connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ctx = context(settings(&[]), &[]);
    let req = Request::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let (out, rescheduled) = drive(&downloader(&ctx), req).await;
    assert!(
        matches!(
            out,
            DownloadOutcome::Failed(_, DownloadError::ConnectionRefused(_))
        ),
        "{out:?}"
    );
    assert_eq!(rescheduled.len(), 2);
    let s = &ctx.stats;
    assert_eq!(s.get_i64("retry/count"), 2);
    assert_eq!(s.get_i64("retry/reason_count/ConnectionRefusedError"), 2);
    assert_eq!(s.get_i64("retry/max_reached"), 1);
    assert_eq!(s.get_i64("downloader/exception_count"), 3);
    assert_eq!(
        s.get_i64("downloader/exception_type_count/ConnectionRefusedError"),
        3
    );
}

#[tokio::test]
async fn redirect_chain_is_followed_and_recorded() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let (out, rescheduled) =
        drive(&downloader(&ctx), srv.get("/redirect/3").dont_filter(true)).await;
    let resp = response(out);
    assert_eq!(&resp.body[..], b"arrived");
    assert_eq!(rescheduled.len(), 3);
    let last = &resp.request;
    assert_eq!(last.meta_u64("redirect_times"), Some(3));
    assert!(
        last.dont_filter,
        "dont_filter carries over like Scrapy's replace()"
    );
    assert_eq!(
        last.priority, 6,
        "REDIRECT_PRIORITY_ADJUST defaults to +2 per hop"
    );
    let urls = last.meta["redirect_urls"].as_array().unwrap();
    assert_eq!(urls[0], srv.url("/redirect/3"));
    assert_eq!(urls.len(), 3);
    assert_eq!(last.meta["redirect_reasons"], json!([302, 302, 302]));
}

#[tokio::test]
async fn redirect_loop_stops_at_max_times() {
    let srv = Server::start().await;
    let ctx = context(settings(&[("REDIRECT_MAX_TIMES", json!(3))]), &[]);
    let (out, rescheduled) = drive(&downloader(&ctx), srv.get("/loop")).await;
    assert_eq!(ignored_reason(&out), "max redirections reached");
    assert_eq!(rescheduled.len(), 3);
    assert_eq!(srv.hits("/loop"), 4);
}

#[tokio::test]
async fn redirect_method_rules() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    let post = |code: u16| {
        srv.get(&format!("/redirect-to/{code}"))
            .method(Method::POST)
            .body("a=1")
            .header("Content-Type", "application/x-www-form-urlencoded")
    };
    for code in [302, 303, 301] {
        let e = echoed(&response(drive(&dl, post(code)).await.0));
        assert_eq!(e["method"], "GET", "{code}");
        assert_eq!(e["body"], "", "{code}");
        assert!(e["headers"].get("content-type").is_none(), "{code}");
    }
    for code in [307, 308] {
        let e = echoed(&response(drive(&dl, post(code)).await.0));
        assert_eq!(e["method"], "POST", "{code}");
        assert_eq!(e["body"], "a=1", "{code}");
    }
    // Opting out: the 302 itself reaches the spider.
    let resp = response(
        dl.download(srv.get("/redirect-to/302").meta("dont_redirect", true))
            .await,
    );
    assert_eq!(resp.status, 302);
    let resp = response(
        dl.download(
            srv.get("/redirect-to/302")
                .meta("handle_httpstatus_list", json!([302])),
        )
        .await,
    );
    assert_eq!(resp.status, 302);
}

#[tokio::test]
async fn redirect_drops_credentials_across_hosts() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    // Same host: Authorization survives.
    let req = srv
        .get("/redirect-to/302")
        .header("Authorization", "Basic x");
    let e = echoed(&response(drive(&dl, req).await.0));
    assert_eq!(e["headers"]["authorization"], "Basic x");
    // 127.0.0.1 → localhost is another host: Authorization and Cookie are dropped.
    let other = srv.base.replace("127.0.0.1", "localhost");
    let target: String =
        url::form_urlencoded::byte_serialize(srv.url("/echo").as_bytes()).collect();
    let req = Request::parse(&format!("{other}/redirect-abs?to={target}"))
        .unwrap()
        .header("Authorization", "Basic x")
        .header("Cookie", "a=b");
    let resp = dl.download(req).await;
    let DownloadOutcome::Reschedule(next) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(next.url.host_str(), Some("127.0.0.1"));
    assert!(next.headers.get("authorization").is_none());
    assert!(next.headers.get("cookie").is_none());
}

#[tokio::test]
async fn meta_refresh_is_followed() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let (out, rescheduled) = drive(&downloader(&ctx), srv.get("/meta-refresh")).await;
    let resp = response(out);
    assert_eq!(echoed(&resp)["uri"], "/echo");
    assert_eq!(rescheduled.len(), 1);
    assert_eq!(
        resp.request.meta["redirect_reasons"],
        json!(["meta refresh"])
    );

    let ctx = context(settings(&[("METAREFRESH_ENABLED", json!(false))]), &[]);
    let resp = response(downloader(&ctx).download(srv.get("/meta-refresh")).await);
    assert!(resp.text().contains("http-equiv"));
}

#[tokio::test]
async fn cookies_are_stored_and_sent_back_also_across_redirects() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    assert_eq!(
        response(dl.download(srv.get("/set-cookie")).await).status,
        200
    );
    let e = echoed(&response(dl.download(srv.get("/echo")).await));
    assert_eq!(e["headers"]["cookie"], "session=abc");

    let (out, _) = drive(&dl, srv.get("/set-cookie-redirect")).await;
    let cookie = echoed(&response(out))["headers"]["cookie"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("session=abc") && cookie.contains("flow=xyz"),
        "{cookie}"
    );

    // Separate jars and opting out.
    let e = echoed(&response(
        dl.download(srv.get("/echo").meta("cookiejar", 2)).await,
    ));
    assert!(e["headers"].get("cookie").is_none());
    let e = echoed(&response(
        dl.download(srv.get("/echo").meta("dont_merge_cookies", true))
            .await,
    ));
    assert!(e["headers"].get("cookie").is_none());
    // A request's own cookies are kept next to the jar's.
    let e = echoed(&response(
        dl.download(srv.get("/echo").header("Cookie", "mine=1"))
            .await,
    ));
    let cookie = e["headers"]["cookie"].as_str().unwrap();
    assert!(
        cookie.contains("mine=1") && cookie.contains("session=abc"),
        "{cookie}"
    );
}

#[tokio::test]
async fn proxy_credentials_become_proxy_authorization() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let proxy = srv.base.replace("http://", "http://user:pass@");
    let req = Request::parse("http://example.invalid/echo")
        .unwrap()
        .meta("proxy", proxy);
    let resp = response(downloader(&ctx).download(req).await);
    let e = echoed(&resp);
    assert_eq!(e["uri"], "http://example.invalid/echo");
    assert_eq!(e["headers"]["proxy-authorization"], "Basic dXNlcjpwYXNz");
    // The credentials left the proxy URL.
    assert_eq!(
        resp.request.meta_str("proxy"),
        Some(format!("{}/", srv.base).as_str())
    );
}

#[tokio::test]
async fn environment_proxy_and_no_proxy() {
    let srv = Server::start().await;
    let mw = HttpProxyMiddleware::new(Some(srv.base.clone()), None, Some("skip.invalid"));
    let mut req = Request::parse("http://example.invalid/echo").unwrap();
    mw.process_request(&mut req).await;
    assert_eq!(req.meta_str("proxy"), Some(srv.base.as_str()));
    let mut req = Request::parse("http://www.skip.invalid/").unwrap();
    mw.process_request(&mut req).await;
    assert!(req.meta.get("proxy").is_none());
    let mut req = Request::parse("https://example.invalid/").unwrap();
    mw.process_request(&mut req).await;
    assert!(req.meta.get("proxy").is_none(), "no https proxy configured");
}

#[tokio::test]
async fn gzip_responses_are_decoded() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let resp = response(downloader(&ctx).download(srv.get("/gzip")).await);
    assert_eq!(&resp.body[..], b"hello gzip world");
}

#[tokio::test]
async fn downloader_stats_count_requests_and_responses() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    dl.download(srv.get("/page")).await;
    dl.download(srv.get("/status/404")).await;
    let s = &ctx.stats;
    assert_eq!(s.get_i64("downloader/request_count"), 2);
    assert_eq!(s.get_i64("downloader/request_method_count/GET"), 2);
    assert_eq!(s.get_i64("downloader/response_count"), 2);
    assert_eq!(s.get_i64("downloader/response_status_count/200"), 1);
    assert_eq!(s.get_i64("downloader/response_status_count/404"), 1);
    assert!(s.get_i64("downloader/request_bytes") > 40);
    assert!(
        s.get_i64("downloader/response_bytes")
            > "<html><body>page /page</body></html>".len() as i64
    );
}

#[tokio::test]
async fn http_cache_serves_the_second_download() {
    let srv = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(
        settings(&[
            ("HTTPCACHE_ENABLED", json!(true)),
            ("HTTPCACHE_DIR", json!(dir.path().to_str().unwrap())),
        ]),
        &[],
    );
    let dl = downloader(&ctx);
    let first = response(dl.download(srv.get("/page?a=1&b=2")).await);
    assert!(first.flags.is_empty());
    let second = response(dl.download(srv.get("/page?b=2&a=1#x")).await);
    assert_eq!(srv.hits("/page"), 1);
    assert_eq!(second.flags, ["cached"]);
    assert_eq!(second.body, first.body);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("content-type"), Some("text/html"));
    let s = &ctx.stats;
    assert_eq!(
        (
            s.get_i64("httpcache/miss"),
            s.get_i64("httpcache/store"),
            s.get_i64("httpcache/hit")
        ),
        (1, 1, 1)
    );

    // dont_cache goes to the server and stores nothing.
    dl.download(srv.get("/echo").meta("dont_cache", true)).await;
    dl.download(srv.get("/echo").meta("dont_cache", true)).await;
    assert_eq!(srv.hits("/echo"), 2);
    assert_eq!(s.get_i64("httpcache/store"), 1);
}

#[tokio::test]
async fn http_cache_expiration_and_ignored_codes() {
    let srv = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(
        settings(&[
            ("HTTPCACHE_ENABLED", json!(true)),
            ("HTTPCACHE_DIR", json!(dir.path().to_str().unwrap())),
            ("HTTPCACHE_EXPIRATION_SECS", json!(60)),
            ("HTTPCACHE_IGNORE_HTTP_CODES", json!([404])),
        ]),
        &[],
    );
    let dl = downloader(&ctx);
    dl.download(srv.get("/status/404")).await;
    dl.download(srv.get("/status/404")).await;
    assert_eq!(srv.hits("/status/404"), 2, "ignored codes are not cached");

    dl.download(srv.get("/page")).await;
    assert_eq!(ctx.stats.get_i64("httpcache/store"), 1);
    // Age every entry past the expiration: the next download goes to the server.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
        }
    }
    let resp = response(dl.download(srv.get("/page")).await);
    assert!(resp.flags.is_empty());
    assert_eq!(srv.hits("/page"), 2);
    let resp = response(dl.download(srv.get("/page")).await);
    assert_eq!(resp.flags, ["cached"]);
    assert_eq!(srv.hits("/page"), 2);
}

#[tokio::test]
async fn cookie_jars_survive_a_checkpoint() {
    let srv = Server::start().await;
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    response(dl.download(srv.get("/set-cookie")).await);
    response(
        dl.download(srv.get("/set-cookie").meta("cookiejar", "b"))
            .await,
    );
    let saved: Vec<_> = dl
        .middlewares()
        .iter()
        .filter_map(|m| Some((m.name().to_string(), m.checkpoint_state()?)))
        .collect();
    assert_eq!(saved.len(), 1, "only the cookies middleware has state");
    let json = serde_json::to_string(&saved).unwrap();

    // A new process: fresh middlewares, restored from the saved state.
    let restored: Vec<(String, serde_json::Value)> = serde_json::from_str(&json).unwrap();
    let ctx = context(settings(&[]), &[]);
    let dl = downloader(&ctx);
    for m in dl.middlewares() {
        for (name, state) in &restored {
            if m.name() == name {
                m.restore_state(state);
            }
        }
    }
    for jar in [None, Some("b")] {
        let mut req = srv.get("/echo");
        if let Some(j) = jar {
            req = req.meta("cookiejar", j);
        }
        let e = echoed(&response(dl.download(req).await));
        assert_eq!(e["headers"]["cookie"], "session=abc", "jar {jar:?}");
    }
}
