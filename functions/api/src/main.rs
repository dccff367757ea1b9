//! The API function: Trawl's Scrapyd-compatible API (and schedules) behind API Gateway
//! (REST proxy integration; HTTP API payloads work too). A thin adapter: the router and
//! every operation live in `trawl-core`, the stores in `trawl-aws`.

use lambda_http::Error;
use trawl_aws::function::{control, Kick};
use trawl_core::api::{router, ApiOptions};

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
    lambda_http::run(router(control, opts)).await
}
