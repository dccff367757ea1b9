//! `trawl parse`: fetch one URL through the full downloader and show what a callback
//! yields (items, dropped items, and the requests it would follow).

use std::process::ExitCode;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;
use trawl_engine::pipeline::MemorySink;
use trawl_engine::registry::SpiderRegistry;
use trawl_engine::spider::{Output, StartRequests};
use trawl_engine::{CrawlBuilder, Request, Response, Spider};

use super::crawl::{cmdline_settings, load_any, Loaded, EXIT_INVALID};
use crate::logging::{self, LogOptions};

/// `trawl parse` arguments.
#[derive(clap::Args)]
pub struct ParseArgs {
    /// The URL to fetch.
    pub url: String,
    /// The spider: a Rust spider of this binary, a spec file or a spec name.
    #[arg(long)]
    pub spec: String,
    /// The callback to run (for specs, `parse` applies start_callback and the rules).
    #[arg(long, short = 'c', default_value = "parse")]
    pub callback: String,
    /// Spider argument NAME=VALUE (repeatable).
    #[arg(short = 'a', value_name = "NAME=VALUE")]
    pub args: Vec<String>,
    /// Setting NAME=VALUE (repeatable).
    #[arg(short = 's', long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
}

/// Runs one callback on one URL and keeps the requests it yields instead of following.
struct OnePage {
    inner: Arc<dyn Spider>,
    url: url::Url,
    callback: String,
    requests: Mutex<Vec<Request>>,
    dropped: Mutex<Vec<String>>,
}

impl Spider for OnePage {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn allowed_domains(&self) -> Vec<String> {
        Vec::new()
    }

    fn custom_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        self.inner.custom_settings()
    }

    fn start_requests(&self) -> anyhow::Result<StartRequests> {
        let r = Request::get(self.url.clone())
            .callback(self.callback.clone())
            .dont_filter(true);
        Ok(Box::new(std::iter::once(r)))
    }

    fn parse(&self, callback: &str, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        let mut inner = Output::new();
        let result = self.inner.parse(callback, response, &mut inner);
        out.items = inner.items;
        self.requests.lock().extend(inner.requests);
        self.dropped.lock().extend(inner.dropped);
        result
    }
}

/// `trawl parse`.
pub async fn run(
    args: ParseArgs,
    log: LogOptions,
    registry: &SpiderRegistry,
) -> anyhow::Result<ExitCode> {
    let mut settings = cmdline_settings(&args.set)?;
    let inner = match load_any(&args.spec, &args.args, &settings, registry) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let url = match url::Url::parse(&args.url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: invalid URL {:?}: {e}", args.url);
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    // A spec knows its callbacks; a Rust spider's are only known to its code.
    if let Loaded::Spec(spec) = &inner {
        let known = ["parse", "_rule"];
        if !known.contains(&args.callback.as_str())
            && !spec.spec().callbacks.contains_key(&args.callback)
        {
            let names: Vec<&String> = spec.spec().callbacks.keys().collect();
            eprintln!(
                "error: unknown callback {:?} (defined: {names:?})",
                args.callback
            );
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    }
    let inner = inner.into_spider();
    logging::init(&log, None)?;
    let spider = Arc::new(OnePage {
        inner,
        url,
        callback: args.callback.clone(),
        requests: Mutex::new(Vec::new()),
        dropped: Mutex::new(Vec::new()),
    });
    settings.set(
        "STATS_DUMP",
        false,
        trawl_engine::settings::Priority::Cmdline,
    );
    let sink = Arc::new(MemorySink::new());
    let crawl = CrawlBuilder::new(spider.clone(), settings)
        .sink(sink.clone())
        .build()?;
    let outcome = crawl.run().await;
    let pages = outcome
        .stats
        .get("response_received_count")
        .and_then(|v| v.as_i64());
    let requests: Vec<_> = spider
        .requests
        .lock()
        .iter()
        .map(|r| json!({"url": r.url.as_str(), "callback": r.callback_name(), "priority": r.priority}))
        .collect();
    let report = json!({
        "url": args.url,
        "callback": args.callback,
        "status": outcome.stats.get("downloader/response_status_count/200").map(|_| 200),
        "items": sink.items(),
        "dropped": *spider.dropped.lock(),
        "requests": requests,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if pages.unwrap_or(0) == 0 {
        eprintln!(
            "error: no response was processed for {} (see the log above)",
            args.url
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
