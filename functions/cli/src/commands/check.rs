//! `trawl check`: validate a spec (and its settings) without crawling.

use std::process::ExitCode;
use std::sync::Arc;

use trawl_engine::feed::FeedConfig;
use trawl_engine::registry::SpiderRegistry;
use trawl_engine::spec::SpecSpider;
use trawl_engine::{CrawlBuilder, Spider};

use super::crawl::{cmdline_settings, load_any, Loaded, EXIT_INVALID};
use crate::logging::LogOptions;

/// `trawl check` arguments.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// A Rust spider of this binary, a spec file or a spec name.
    pub spider: String,
    /// Spider argument NAME=VALUE (repeatable).
    #[arg(short = 'a', value_name = "NAME=VALUE")]
    pub args: Vec<String>,
    /// Setting NAME=VALUE (repeatable).
    #[arg(short = 's', long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
}

/// `trawl check`: a Rust spider is built by its factory (arguments checked), a spec is
/// validated; then the settings and the crawl setup are checked, without any request.
pub async fn run(
    args: CheckArgs,
    _log: LogOptions,
    registry: &SpiderRegistry,
) -> anyhow::Result<ExitCode> {
    let settings = cmdline_settings(&args.set)?;
    let (spider, spec): (Arc<dyn Spider>, Option<Arc<SpecSpider>>) =
        match load_any(&args.spider, &args.args, &settings, registry) {
            Ok(Loaded::Rust(s)) => (s, None),
            Ok(Loaded::Spec(s)) => {
                let s = Arc::new(s);
                (s.clone(), Some(s))
            }
            Err(code) => return Ok(code),
        };
    let builder = CrawlBuilder::new(spider.clone(), settings);
    let problems: Vec<String> = builder
        .settings()
        .unknown_names()
        .into_iter()
        .map(|n| format!("warning: unknown setting {n}"))
        .collect();
    if let Err(e) = FeedConfig::from_settings(builder.settings()) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    if let Err(e) = builder.build() {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    for p in problems {
        eprintln!("{p}");
    }
    let Some(spider) = spec else {
        println!(
            "spider {:?} is valid: a Rust spider of this binary",
            spider.name()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let spec = spider.spec();
    let callbacks: Vec<String> = spec
        .callbacks
        .iter()
        .map(|(name, cb)| format!("{name} ({} fields)", cb.fields.len()))
        .collect();
    println!(
        "spider {:?} is valid: {} start URL(s), {} sitemap(s), {} rule(s), callbacks: {}",
        spec.name,
        spec.start_urls.len(),
        spec.sitemap_urls.len(),
        spec.rules.len(),
        if callbacks.is_empty() {
            "none".to_string()
        } else {
            callbacks.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}
