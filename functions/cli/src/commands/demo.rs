//! `trawl demo-site` serves the bundled example shop; `trawl demo` serves it and crawls
//! it with `examples/shop.toml`, entirely on loopback.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use trawl_demo::{serve, Site, SiteSpec};
use trawl_engine::spec::{Spec, SpecFormat, SpecSpider};

use super::crawl::{print_summary, run_spider};
use crate::logging::{self, LogOptions};

/// The example spec, compiled in so `trawl demo` works from any directory.
const SHOP_SPEC: &str = include_str!("../../../../examples/shop.toml");

/// `trawl demo-site` arguments.
#[derive(clap::Args)]
pub struct DemoSiteArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Number of products.
    #[arg(long, default_value_t = 1000)]
    pub products: usize,
    /// Generation seed (equal seeds give equal sites).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `trawl demo-web` arguments.
#[derive(clap::Args)]
pub struct DemoWebArgs {
    /// Number of hosts (127.0.0.2 onwards), at most 200.
    #[arg(long, default_value_t = 16)]
    pub hosts: usize,
    /// Pages per host.
    #[arg(long, default_value_t = 12)]
    pub pages: usize,
    /// Delay of every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// `trawl demo` arguments.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Number of products on the generated site.
    #[arg(long, default_value_t = 1000)]
    pub products: usize,
    /// Where to write the items (PATH[:FORMAT]); overwritten.
    #[arg(short = 'O', long = "output", default_value = "items.jsonl")]
    pub output: String,
    /// Setting NAME=VALUE (repeatable).
    #[arg(short = 's', long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
}

/// `trawl demo-site`.
pub async fn serve_site(args: DemoSiteArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    logging::init(&log, None)?;
    let site = Arc::new(Site::generate(SiteSpec::new(args.products, args.seed)));
    let server = serve(site, args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    eprintln!(
        "Serving a {}-product example shop at {} (Ctrl-C to stop)",
        args.products,
        server.url("/index.html")
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `trawl demo-web`: prints one line with the hosts' base URLs as a JSON array, then
/// serves until interrupted.
pub async fn serve_web(args: DemoWebArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    logging::init(&log, None)?;
    anyhow::ensure!(
        (1..=200).contains(&args.hosts),
        "--hosts must be between 1 and 200"
    );
    let bases = trawl_demo::start_web(
        args.hosts,
        args.pages,
        std::time::Duration::from_millis(args.latency_ms),
    )
    .await
    .context("cannot listen on the loopback addresses")?;
    println!("{}", serde_json::to_string(&bases)?);
    eprintln!(
        "Serving {} hosts of {} pages from {} (Ctrl-C to stop)",
        args.hosts, args.pages, bases[0]
    );
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

/// `trawl demo`.
pub async fn run(args: DemoArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    let site = Arc::new(Site::generate(SiteSpec::new(args.products, 1)));
    let server = serve(site.clone(), "127.0.0.1:0".parse()?).await?;
    let site_arg = [("site".to_string(), server.base_url())];
    let spec = Spec::parse(SHOP_SPEC, SpecFormat::Toml, &["site"])
        .context("the bundled examples/shop.toml is invalid")?;
    let spider = SpecSpider::new(Arc::new(spec), &site_arg)?;
    let settings = super::crawl::cmdline_settings(&args.set)?;
    eprintln!(
        "Crawling the example shop ({} products) at {} with examples/shop.toml",
        args.products,
        server.url("/index.html")
    );
    let run = run_spider(
        Arc::new(spider),
        settings,
        &[(args.output.clone(), true)],
        &log,
    )
    .await?;
    server.shutdown().await;
    print_summary(&run);
    let items = run
        .outcome
        .stats
        .get("item_scraped_count")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let expected = site.expected_item_count() as u64;
    if items == expected {
        eprintln!("OK: {items} items, one per product on the site");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("MISMATCH: {items} items scraped, the site has {expected} products");
        Ok(ExitCode::FAILURE)
    }
}
