//! The API function: Trawl's Scrapyd-compatible API (and schedules) behind API Gateway
//! (REST proxy integration; HTTP API payloads work too). A thin adapter: the router and
//! every operation live in `trawl-core`, the stores in `trawl-aws`.

use lambda_http::Error;
use trawl_aws::function::{control, Kick};
use trawl_http::{router, ApiOptions};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_core::joblog::install_function_logging();
    let (control, aws) = control(Kick::Poller).await?;
    let (username, password) = match aws.basic_auth().await? {
        Some((u, p)) => (Some(u), Some(p)),
        None => (None, None),
    };
    let opts = ApiOptions {
        username,
        password,
        base_path: std::env::var("TRAWL_BASE_PATH").unwrap_or_default(),
        ..ApiOptions::default()
    };
    let app = router(control, opts)
        .layer(axum::middleware::map_response(items_as_text))
        .layer(axum::middleware::map_request(stage_prefix));
    lambda_http::run(app).await
}

/// The path prefix clients see in front of the routed path, as `X-Forwarded-Prefix`,
/// so the pages' and the console's links work behind API Gateway: the stage (`/prod`)
/// of an `execute-api` URL, a custom domain's base path, or nothing. Routes see the
/// path without the stage (`AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`); the request
/// context holds the path the client asked for.
async fn stage_prefix(mut req: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    if req.headers().contains_key("x-forwarded-prefix") {
        return req;
    }
    let asked = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.path.clone(),
        Some(RequestContext::ApiGatewayV2(c)) => c.http.path.clone(),
        _ => None,
    };
    let prefix = asked.and_then(|asked| {
        let routed = req.uri().path();
        asked
            .strip_suffix(routed)
            .map(|p| p.trim_end_matches('/').to_string())
    });
    if let Some(p) = prefix.filter(|p| p.starts_with('/') && p.len() < 256) {
        if let Ok(v) = http::HeaderValue::from_str(&p) {
            req.headers_mut().insert("x-forwarded-prefix", v);
        }
    }
    req
}

/// Item feeds are JSON lines: text. Without this, lambda_http would base64 them as
/// binary (it only knows `text/*` and JSON/XML/YAML types as text).
async fn items_as_text(mut res: axum::response::Response) -> axum::response::Response {
    let ndjson = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-ndjson"));
    if ndjson {
        res.headers_mut().insert(
            "x-lambda-http-content-encoding",
            http::HeaderValue::from_static("text"),
        );
    }
    res
}
