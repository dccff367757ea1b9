//! `trawl crawl`: run one spider like `scrapy crawl`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use trawl_engine::checkpoint::{self, DirCheckpoints};
use trawl_engine::feed::{FeedConfig, FeedDefaults, FeedSink, FeedStorages, UriParams};
use trawl_engine::registry::{SpiderArgs, SpiderRegistry};
use trawl_engine::settings::Priority;
use trawl_engine::spec::{Spec, SpecSpider};
use trawl_engine::{CrawlBuilder, CrawlOutcome, FinishReason, Settings, Spider};

use crate::logging::{self, LogOptions};
use crate::{progress, spiders};

/// Exit code for an invalid spec or bad arguments (the crawl never started).
pub const EXIT_INVALID: u8 = 2;

/// `trawl crawl` arguments.
#[derive(clap::Args)]
pub struct CrawlArgs {
    /// A Rust spider of this binary, a spec file (.toml/.json), or a spec name in
    /// ./spiders or ./examples.
    pub spider: String,
    /// Spider argument NAME=VALUE (repeatable).
    #[arg(short = 'a', value_name = "NAME=VALUE")]
    pub args: Vec<String>,
    /// Setting NAME=VALUE, above the spec's own settings (repeatable).
    #[arg(short = 's', long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Append items to PATH[:FORMAT] (format from the extension; `-` is stdout).
    #[arg(short = 'o', long = "output", value_name = "PATH[:FORMAT]")]
    pub output: Vec<String>,
    /// Overwrite PATH[:FORMAT] with the items.
    #[arg(short = 'O', long = "overwrite-output", value_name = "PATH[:FORMAT]")]
    pub overwrite_output: Vec<String>,
}

fn fail(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_INVALID)
}

/// A spider for the command line: a registered Rust spider of that name (built with
/// `args` and `settings`), else a spec ([`load_spider`]). Errors are reported and give
/// `Err(code)`.
pub fn load_any(
    spider: &str,
    args: &[String],
    settings: &Settings,
    registry: &SpiderRegistry,
) -> Result<Loaded, ExitCode> {
    if registry.contains(spider) {
        let pairs = spiders::parse_args(args).map_err(|e| fail(format!("{e:#}")))?;
        return match registry.create(spider, &SpiderArgs::new(pairs), settings) {
            Some(Ok(s)) => Ok(Loaded::Rust(s)),
            Some(Err(e)) => Err(fail(format!("spider {spider:?}: {e:#}"))),
            None => unreachable!("the registry has {spider:?}"),
        };
    }
    match load_spider(spider, args) {
        Ok(s) => Ok(Loaded::Spec(s)),
        Err(code) if !registry.is_empty() && spiders::resolve(spider).is_err() => {
            eprintln!(
                "Rust spiders of this binary: {}",
                registry.names().join(", ")
            );
            Err(code)
        }
        Err(code) => Err(code),
    }
}

/// A spider loaded for the command line.
pub enum Loaded {
    /// A registered Rust spider.
    Rust(Arc<dyn Spider>),
    /// A spec spider.
    Spec(SpecSpider),
}

impl Loaded {
    /// The spider, to run.
    pub fn into_spider(self) -> Arc<dyn Spider> {
        match self {
            Loaded::Rust(s) => s,
            Loaded::Spec(s) => Arc::new(s),
        }
    }
}

/// Loads a spec for the command line; an invalid one is reported and gives `Err(code)`.
pub fn load_spider(spider: &str, args: &[String]) -> Result<SpecSpider, ExitCode> {
    let path = spiders::resolve(spider).map_err(|e| fail(format!("{e:#}")))?;
    let args = spiders::parse_args(args).map_err(|e| fail(format!("{e:#}")))?;
    let names: Vec<&str> = args.iter().map(|(k, _)| k.as_str()).collect();
    let spec = Spec::load(&path, &names)
        .map_err(|e| fail(format!("invalid spec {}: {e}", path.display())))?;
    SpecSpider::new(Arc::new(spec), &args)
        .map_err(|e| fail(format!("invalid spec {}: {e}", path.display())))
}

/// Command-line settings (`-s`), at command-line priority.
pub fn cmdline_settings(pairs: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings::new();
    for p in pairs {
        settings.set_pair(p, Priority::Cmdline)?;
    }
    Ok(settings)
}

/// Where the items of a crawl went.
pub struct CrawlRun {
    /// The engine's outcome.
    pub outcome: CrawlOutcome,
    /// Feed files written.
    pub files: Vec<String>,
}

/// Runs `spider` with feeds from FEEDS and `outputs` (`(PATH[:FORMAT], overwrite)`),
/// a progress line on terminals, and Ctrl-C/SIGTERM handling (graceful, then forced).
///
/// With `JOBDIR` set (Scrapy's pause/resume), the crawl checkpoints there every
/// `CHECKPOINT_INTERVAL` and when it stops, and a crawl started with a `JOBDIR` that
/// holds a checkpoint resumes from it: pending requests, seen fingerprints, stats, and
/// the feeds truncated to their checkpointed length, so every item is written once.
pub async fn run_spider(
    spider: Arc<dyn Spider>,
    settings: Settings,
    outputs: &[(String, bool)],
    log: &LogOptions,
) -> anyhow::Result<CrawlRun> {
    let builder = CrawlBuilder::new(spider.clone(), settings);
    let s = builder.settings();
    let level = (s.priority("LOG_LEVEL") > Some(Priority::Default)).then(|| s.get_str("LOG_LEVEL"));
    logging::init(log, level.as_deref())?;

    let defaults = FeedDefaults::from_settings(s)?;
    let mut feeds = FeedConfig::from_settings(s)?;
    for (out, overwrite) in outputs {
        feeds.push(FeedConfig::from_cli(out, *overwrite, &defaults)?);
    }
    let jobdir = s.get_str("JOBDIR");
    let store = (!jobdir.is_empty()).then(|| Arc::new(DirCheckpoints::new(jobdir.as_str())));
    let resume = match &store {
        Some(store) => checkpoint::load(store.as_ref()).await?,
        None => None,
    };
    let params = UriParams::new(spider.name());
    let sink = Arc::new(match &resume {
        Some(r) => FeedSink::resume(feeds, &FeedStorages::builtin(), params, r.snapshot.sink(0))
            .with_context(|| format!("cannot resume the feeds of the crawl in JOBDIR {jobdir}"))?,
        None => FeedSink::new(feeds, &FeedStorages::builtin(), params)?,
    });
    let mut builder = builder.sink(sink.clone());
    if let Some(store) = store {
        builder = builder.checkpoints(store);
    }
    if let Some(r) = resume {
        if r.snapshot.finished {
            tracing::info!("The crawl in JOBDIR {jobdir} had finished: nothing left to do");
        }
        builder = builder.resume_from(r);
    }
    let crawl = builder.build().context("cannot start the crawl")?;
    let handle = crawl.handle();

    let signals = tokio::spawn(stop_on_signals(handle.clone()));
    let bar = progress::show(handle);
    let outcome = crawl.run().await;
    if let Some(bar) = bar {
        bar.abort();
    }
    progress::finish();
    signals.abort();
    Ok(CrawlRun {
        outcome,
        files: sink.files(),
    })
}

/// Scrapy's signal handling: the first SIGINT or SIGTERM stops the crawl gracefully (a
/// crawl with `JOBDIR` is then paused), the second stops it at once.
async fn stop_on_signals(handle: trawl_engine::CrawlHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot handle SIGTERM: {e}");
            None
        }
    };
    let mut received = 0;
    loop {
        let name = tokio::select! {
            r = tokio::signal::ctrl_c() => match r {
                Ok(()) => "SIGINT",
                Err(_) => return,
            },
            Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => "SIGTERM",
        };
        received += 1;
        if received == 1 {
            tracing::warn!("Received {name}, shutting down gracefully. Send again to force");
            handle.pause();
        } else {
            tracing::warn!("Received {name} twice, forcing unclean shutdown");
            handle.kill(FinishReason::Shutdown);
            return;
        }
    }
}

/// Prints the end-of-crawl summary to stderr.
pub fn print_summary(run: &CrawlRun) {
    let st = &run.outcome.stats;
    let n = |k: &str| st.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
    let secs = st
        .get("elapsed_time_seconds")
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let pages = n("response_received_count");
    eprintln!(
        "{}: {} pages, {} items ({} dropped), {} errors in {:.2}s ({:.0} pages/s, peak RSS {} MB)",
        run.outcome.finish_reason,
        pages,
        n("item_scraped_count"),
        n("item_dropped_count"),
        trawl_engine::stats::error_count(n),
        secs,
        if secs > 0.0 { pages as f64 / secs } else { 0.0 },
        n("memusage/max") / (1024 * 1024),
    );
    for f in &run.files {
        eprintln!("items: {f}");
    }
}

/// The exit code for a finished crawl.
pub fn exit_code(outcome: &CrawlOutcome) -> ExitCode {
    if outcome.finish_reason == FinishReason::Failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `trawl crawl`.
pub async fn run(
    args: CrawlArgs,
    log: LogOptions,
    registry: &SpiderRegistry,
) -> anyhow::Result<ExitCode> {
    let settings = match cmdline_settings(&args.set) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let spider = match load_any(&args.spider, &args.args, &settings, registry) {
        Ok(s) => s.into_spider(),
        Err(code) => return Ok(code),
    };
    let outputs: Vec<(String, bool)> = args
        .output
        .iter()
        .map(|o| (o.clone(), false))
        .chain(args.overwrite_output.iter().map(|o| (o.clone(), true)))
        .collect();
    let run = run_spider(spider, settings, &outputs, &log).await?;
    print_summary(&run);
    Ok(exit_code(&run.outcome))
}
