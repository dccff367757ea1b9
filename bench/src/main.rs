//! `trawl-bench`: crawl throughput on a generated shop site, against baselines measured
//! in the same run.
//!
//! The site is served by a child process; every measured run is its own child process,
//! so peak RSS and CPU time belong to that run alone:
//! - `http-only`: GET every page of the site with reqwest at the same concurrency, no
//!   parsing — the ceiling this machine and server allow;
//! - `trawl`: the engine with `examples/shop.toml` (link extraction by rules, three+
//!   fields by CSS, JSON lines feed);
//! - `scrapy` (when a Python with Scrapy is given): the same crawl in Scrapy 2.x.

/// mimalloc: the crawl allocates per page (DOM nodes, strings); it beats glibc malloc here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use serde_json::{json, Value};
use trawl_demo::{serve, Site, SiteSpec};
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, FeedStorages, UriParams};
use trawl_engine::settings::Priority;
use trawl_engine::spec::{Spec, SpecFormat, SpecSpider};
use trawl_engine::{CrawlBuilder, Settings};

mod api;
mod checkpoint;
mod fanout;

const SHOP_SPEC: &str = include_str!("../../examples/shop.toml");

#[derive(Parser)]
#[command(about = "Crawl benchmark: Trawl vs an HTTP-only baseline (and Scrapy) on one site")]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Products on the generated site.
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// Site seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent requests for every run.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Trawl runs (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub(crate) runs: usize,
    /// A Python interpreter with Scrapy installed, for the Scrapy baseline.
    #[arg(long)]
    scrapy_python: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// (child) Serve the site; prints its URL on the first line.
    Serve,
    /// (child) GET every page, no parsing; prints a JSON result.
    HttpOnly {
        /// Site base URL.
        site: String,
    },
    /// (child) Crawl with Trawl; prints a JSON result.
    Trawl {
        /// Site base URL.
        site: String,
        /// Checkpoint to a temporary directory every this many seconds.
        #[arg(long)]
        checkpoint_interval: Option<f64>,
    },
    /// Checkpoint cost: a synthetic crawl state (1,000,000 seen URLs, 100,000 pending
    /// requests), and the crawl's throughput with checkpoints against none.
    Checkpoint {
        /// Seen fingerprints of the synthetic state.
        #[arg(long, default_value_t = 1_000_000)]
        seen: usize,
        /// Pending requests of the synthetic state.
        #[arg(long, default_value_t = 100_000)]
        pending: usize,
    },
    /// Control-plane latency: schedule.json, listjobs.json with 10,000 queued jobs,
    /// schedule→running; Trawl against Scrapyd when `--scrapy-python` has Scrapyd.
    Api {
        /// schedule.json calls measured.
        #[arg(long, default_value_t = 1000)]
        calls: usize,
        /// Jobs queued when listjobs.json is measured.
        #[arg(long, default_value_t = 10_000)]
        queued: usize,
        /// schedule→running samples for Trawl (Scrapyd gets a fifth of them).
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// One job over 1, 2, 4 and 8 crawlers in a local node, where one crawler is the
    /// bottleneck (CONCURRENT_REQUESTS = 2, slow hosts).
    Fanout {
        /// Hosts (on 127.0.0.2 …).
        #[arg(long, default_value_t = 16)]
        hosts: usize,
        /// Pages per host.
        #[arg(long, default_value_t = 130)]
        pages: usize,
        /// Server latency, milliseconds.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// Crawler counts to run.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        crawlers: Vec<usize>,
    },
    /// (child) A Trawl control plane on 127.0.0.1.
    ServeApi {
        /// Port.
        #[arg(long)]
        port: u16,
        /// max_proc (0: jobs stay queued).
        #[arg(long)]
        max_proc: usize,
        /// Data directory.
        #[arg(long)]
        data_dir: std::path::PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match &cli.command {
        None => orchestrate(&cli),
        Some(Cmd::Serve) => rt.block_on(serve_site(&cli)),
        Some(Cmd::HttpOnly { site }) => rt.block_on(http_only(&cli, site)),
        Some(Cmd::Trawl {
            site,
            checkpoint_interval,
        }) => rt.block_on(trawl(&cli, site, *checkpoint_interval)),
        Some(Cmd::Checkpoint { seen, pending }) => {
            rt.block_on(checkpoint::synthetic(*seen, *pending))?;
            checkpoint::throughput(&cli)
        }
        Some(Cmd::Api {
            calls,
            queued,
            runs,
        }) => rt.block_on(api_bench(&cli, *calls, *queued, *runs)),
        Some(Cmd::Fanout {
            hosts,
            pages,
            latency_ms,
            crawlers,
        }) => rt.block_on(fanout::run(*hosts, *pages, *latency_ms, crawlers)),
        Some(Cmd::ServeApi {
            port,
            max_proc,
            data_dir,
        }) => rt.block_on(serve_api(*port, *max_proc, data_dir)),
    }
}

fn site(cli: &Cli) -> Site {
    Site::generate(SiteSpec::new(cli.products, cli.seed))
}

async fn serve_site(cli: &Cli) -> anyhow::Result<()> {
    let server = serve(Arc::new(site(cli)), "127.0.0.1:0".parse()?).await?;
    println!("{}", server.base_url());
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await?;
    server.shutdown().await;
    Ok(())
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

async fn http_only(cli: &Cli, base: &str) -> anyhow::Result<()> {
    let paths = site(cli).html_paths();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let started = Instant::now();
    let bytes: usize = futures::stream::iter(paths.iter())
        .map(|p| {
            let client = client.clone();
            let url = format!("{base}{p}");
            async move {
                match client.get(&url).send().await {
                    Ok(r) => r.bytes().await.map(|b| b.len()).unwrap_or(0),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(cli.concurrency)
        .fold(0, |acc, n| async move { acc + n })
        .await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"pages": paths.len(), "items": 0, "seconds": secs, "bytes": bytes,
               "rss": trawl_engine::engine::peak_rss_bytes(), "cpu": cpu_seconds()})
    );
    Ok(())
}

async fn trawl(cli: &Cli, base: &str, checkpoint_every: Option<f64>) -> anyhow::Result<()> {
    let mut settings = Settings::new();
    for (k, v) in [
        ("LOGSTATS_INTERVAL", "0".to_string()),
        ("STATS_DUMP", "false".to_string()),
        ("CONCURRENT_REQUESTS", cli.concurrency.to_string()),
        (
            "CONCURRENT_REQUESTS_PER_DOMAIN",
            cli.concurrency.to_string(),
        ),
    ] {
        settings.set(k, v, Priority::Cmdline);
    }
    let out = std::env::temp_dir().join("trawl-bench-items.jsonl");
    let jobdir = tempfile::tempdir()?;
    if let Some(every) = checkpoint_every {
        settings.set("CHECKPOINT_INTERVAL", every, Priority::Cmdline);
    }
    let mut builder = CrawlBuilder::new(builder_spider(base)?, settings).sink(builder_sink(&out)?);
    if checkpoint_every.is_some() {
        let store = trawl_engine::checkpoint::DirCheckpoints::new(jobdir.path());
        builder = builder.checkpoints(Arc::new(store));
    }
    let crawl = builder.build()?;
    let started = Instant::now();
    let outcome = crawl.run().await;
    let secs = started.elapsed().as_secs_f64();
    let n = |k: &str| outcome.stats.get(k).and_then(Value::as_u64).unwrap_or(0);
    println!(
        "{}",
        json!({"pages": n("response_received_count"), "items": n("item_scraped_count"),
               "seconds": secs, "rss": trawl_engine::engine::peak_rss_bytes(), "cpu": cpu_seconds(),
               "finish_reason": outcome.finish_reason,
               "checkpoints": n("checkpoint/count")})
    );
    Ok(())
}

fn builder_spider(base: &str) -> anyhow::Result<Arc<SpecSpider>> {
    let spec = Spec::parse(SHOP_SPEC, SpecFormat::Toml, &["site"])?;
    Ok(Arc::new(SpecSpider::new(
        Arc::new(spec),
        &[("site".to_string(), base.to_string())],
    )?))
}

fn builder_sink(out: &std::path::Path) -> anyhow::Result<Arc<FeedSink>> {
    let mut feed = FeedConfig::new(out.to_str().context("temp path")?, FeedFormat::JsonLines);
    feed.overwrite = true;
    Ok(Arc::new(FeedSink::new(
        vec![feed],
        &FeedStorages::builtin(),
        UriParams::new("shop"),
    )?))
}

/// Runs a child and parses the JSON on its last stdout line.
pub(crate) fn measure(mut cmd: Command) -> anyhow::Result<Value> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run child")?;
    if !out.status.success() {
        bail!("child failed: {:?}", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().context("child printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("bad child output {line:?}"))
}

pub(crate) fn child(cli: &Cli, args: &[&str]) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args([
        "--products",
        &cli.products.to_string(),
        "--seed",
        &cli.seed.to_string(),
        "--concurrency",
        &cli.concurrency.to_string(),
    ]);
    cmd.args(args);
    Ok(cmd)
}

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Starts the site server child; its base URL.
pub(crate) fn start_site(cli: &Cli) -> anyhow::Result<(Server, String)> {
    let mut server = child(cli, &["serve"])?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut first = String::new();
    BufReader::new(server.stdout.take().context("server stdout")?).read_line(&mut first)?;
    let base = first.trim().to_string();
    eprintln!("site: {} products at {base}", cli.products);
    Ok((Server(server), base))
}

fn orchestrate(cli: &Cli) -> anyhow::Result<()> {
    let expected = site(cli).expected_item_count();
    let (_server, base) = start_site(cli)?;

    let mut rows = vec![(
        "http-only (no parsing)".to_string(),
        measure(child(cli, &["http-only", &base])?)?,
    )];
    let mut best: Option<Value> = None;
    for i in 0..cli.runs {
        let r = measure(child(cli, &["trawl", &base])?)?;
        eprintln!(
            "trawl run {}: {:.2}s",
            i + 1,
            r["seconds"].as_f64().unwrap_or(0.0)
        );
        if r["items"].as_u64() != Some(expected as u64) {
            bail!(
                "trawl scraped {} items, the site has {expected}",
                r["items"]
            );
        }
        if best
            .as_ref()
            .is_none_or(|b| r["seconds"].as_f64() < b["seconds"].as_f64())
        {
            best = Some(r);
        }
    }
    rows.push((
        format!("trawl (best of {})", cli.runs),
        best.context("no trawl run")?,
    ));
    if let Some(py) = &cli.scrapy_python {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scrapy_shop.py");
        let mut cmd = Command::new(py);
        cmd.args([script, &base, &cli.concurrency.to_string()]);
        rows.push(("scrapy".to_string(), measure(cmd)?));
    }

    println!("| run | pages | items | seconds | pages/s | items/s | peak RSS MB | CPU s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, r) in &rows {
        let secs = r["seconds"].as_f64().unwrap_or(f64::NAN);
        let pages = r["pages"].as_f64().unwrap_or(0.0);
        let items = r["items"].as_f64().unwrap_or(0.0);
        println!(
            "| {name} | {pages} | {items} | {secs:.2} | {:.0} | {:.0} | {:.1} | {:.2} |",
            pages / secs,
            items / secs,
            r["rss"].as_f64().unwrap_or(0.0) / 1048576.0,
            r["cpu"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

async fn serve_api(port: u16, max_proc: usize, data_dir: &std::path::Path) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(trawl_core::joblog::JobLogLayer)
        .try_init();
    let node = trawl_embedded::local::LocalNode::start(trawl_embedded::local::LocalConfig {
        data_dir: data_dir.to_path_buf(),
        control: trawl_core::ControlConfig {
            max_proc,
            // The benchmark site is on loopback.
            allowed_destinations: vec!["127.0.0.0/8".parse().expect("a CIDR")],
            ..trawl_core::ControlConfig::default()
        },
        poll_interval: std::time::Duration::from_secs(5),
        runner: trawl_core::runner::RunnerConfig::default(),
    })
    .await?;
    let app = trawl_http::router(node.control().clone(), Default::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn api_bench(cli: &Cli, calls: usize, queued: usize, runs: usize) -> anyhow::Result<()> {
    let site = Arc::new(Site::generate(SiteSpec::new(20, cli.seed)));
    let demo = serve(site, "127.0.0.1:0".parse()?).await?;
    let exe = std::env::current_exe()?;
    let trawl_target = |base: String| api::Target {
        name: "trawl".into(),
        base,
        egg: (SHOP_SPEC.as_bytes().to_vec(), "shop.toml"),
        spider: "shop",
        args: vec![("site".into(), demo.base_url())],
        pid: None,
    };
    let mut rows = Vec::new();
    let (srv, base) = api::start_trawl(&exe, 0)?;
    let mut t = trawl_target(base);
    t.pid = Some(srv.0.id());
    let mut f = api::queue_figures(&t, calls, queued).await?;
    drop(srv);
    let (srv, base) = api::start_trawl(&exe, 4)?;
    f.to_running = api::to_running(&trawl_target(base), runs, Duration::from_millis(1)).await?;
    drop(srv);
    rows.push(("trawl serve".to_string(), f));

    if let Some(py) = &cli.scrapy_python {
        // Children run in temp dirs: make a relative interpreter path absolute.
        let py = &std::path::absolute(py)
            .with_context(|| format!("no Python at {py}"))?
            .to_string_lossy()
            .into_owned();
        let egg = api::build_scrapy_egg(py)?;
        let target = |base: String| api::Target {
            name: "scrapyd".into(),
            base,
            egg: (egg.clone(), "benchproj.egg"),
            spider: "idle",
            args: Vec::new(),
            pid: None,
        };
        // A poll interval of an hour keeps every job queued during the queue figures.
        let (srv, base) = api::start_scrapyd(py, 3600.0)?;
        let mut t = target(base);
        t.pid = Some(srv.0.id());
        let mut f = api::queue_figures(&t, calls, queued).await?;
        drop(srv);
        let (srv, base) = api::start_scrapyd(py, 5.0)?;
        f.to_running =
            api::to_running(&target(base), (runs / 5).max(3), Duration::from_millis(20)).await?;
        drop(srv);
        rows.push(("scrapyd 1.6 (poll_interval 5 s)".to_string(), f));
    }
    demo.shutdown().await;

    println!("| server | daemonstatus p50 ms | schedule.json p50 ms | p99 ms | listjobs ({} queued) p50 ms | schedule→running p50 ms | p99 ms |", queued);
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, f) in &rows {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.1} ({} listed) | {:.1} | {:.1} |",
            f.status_p50,
            f.schedule.0,
            f.schedule.1,
            f.listjobs_p50,
            f.queued,
            f.to_running.0,
            f.to_running.1
        );
    }
    println!();
    println!(
        "| server | listjobs, {} callers at once: p50 ms | p99 ms | RSS idle MB | RSS under load MB | RSS 5 s later MB |",
        api::CONCURRENT_CALLERS
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, f) in &rows {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            f.listjobs_concurrent.0, f.listjobs_concurrent.1, f.rss.0, f.rss.1, f.rss.2
        );
    }
    Ok(())
}
