//! Log setup: a level (Scrapy's LOG_LEVEL names), stderr or a file, and a writer that
//! keeps the live progress line intact.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context;
use indicatif::ProgressBar;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, Layer};

/// Logging options from the command line.
pub struct LogOptions {
    /// `-L LEVEL`.
    pub level: Option<String>,
    /// `--logfile PATH`.
    pub file: Option<PathBuf>,
    /// `--nolog`.
    pub disabled: bool,
}

/// The progress bar, when one is shown: log lines are printed above it.
pub static PROGRESS: OnceLock<ProgressBar> = OnceLock::new();

/// Maps Scrapy's level names onto tracing's.
fn level_name(level: &str) -> anyhow::Result<&'static str> {
    use tracing::Level;
    match trawl_core::joblog::parse_scrapy_level(level) {
        Some(Level::ERROR) => Ok("error"),
        Some(Level::WARN) => Ok("warn"),
        Some(Level::INFO) => Ok("info"),
        Some(Level::DEBUG) => Ok("debug"),
        Some(_) => Ok("trace"),
        None => anyhow::bail!(
            "unknown log level {:?} (use ERROR, WARNING, INFO, DEBUG or TRACE)",
            level.trim().to_ascii_uppercase()
        ),
    }
}

#[derive(Clone, Copy)]
struct StderrAboveProgress;

impl Write for StderrAboveProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match PROGRESS.get() {
            Some(pb) if !pb.is_finished() => pb.suspend(|| std::io::stderr().write_all(buf))?,
            _ => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for StderrAboveProgress {
    type Writer = StderrAboveProgress;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Installs the global subscriber for `trawl serve`: the process log on stderr (or the
/// log file) plus one log file per job.
pub fn init_with_job_logs(opts: &LogOptions) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match &opts.level {
        Some(l) => level_name(l)?,
        None => "info",
    };
    let filter = EnvFilter::try_from_env("TRAWL_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,trawl_engine={level},trawl_cli={level},trawl_core={level},trawl_http={level}"
        ))
    });
    let process_log = (!opts.disabled).then(|| {
        let fmt = tracing_subscriber::fmt::layer().with_target(false);
        match &opts.file {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open log file {}", path.display()))?;
                Ok::<_, anyhow::Error>(
                    fmt.with_ansi(false)
                        .with_writer(std::sync::Mutex::new(file))
                        .with_filter(filter)
                        .boxed(),
                )
            }
            None => Ok(fmt
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_writer(std::io::stderr)
                .with_filter(filter)
                .boxed()),
        }
    });
    let process_log = process_log.transpose()?.map(|layer| {
        // Job lines go to the job's own log; the server log keeps only their warnings.
        layer.with_filter(tracing_subscriber::filter::dynamic_filter_fn(
            |meta, ctx| {
                *meta.level() <= tracing::Level::WARN
                    || !ctx.lookup_current().is_some_and(|span| {
                        span.scope()
                            .any(|s| s.name() == trawl_core::joblog::JOB_SPAN)
                    })
            },
        ))
    });
    tracing_subscriber::registry()
        .with(process_log)
        .with(trawl_core::joblog::JobLogLayer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// Installs the global subscriber. `setting_level` is the crawl's LOG_LEVEL when the
/// user set one; the command line wins over it; the default is INFO.
pub fn init(opts: &LogOptions, setting_level: Option<&str>) -> anyhow::Result<()> {
    if opts.disabled {
        return Ok(());
    }
    let level = match (&opts.level, setting_level) {
        (Some(l), _) => level_name(l)?,
        (None, Some(l)) => level_name(l)?,
        (None, None) => "info",
    };
    // Keep dependencies quiet unless asked for.
    let filter = EnvFilter::try_from_env("TRAWL_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,trawl_engine={level},trawl_cli={level},trawl_demo={level}"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match &opts.file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .try_init()
        }
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(StderrAboveProgress)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
