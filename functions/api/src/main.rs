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
    let app = router(control, opts).layer(axum::middleware::map_response(items_as_text));
    lambda_http::run(app).await
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
