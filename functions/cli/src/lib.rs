//! `trawl` as a library: [`Trawl`] is the whole command line, so a binary of your own
//! can register Rust spiders next to the spec spiders. The stock `trawl` binary
//! (`src/main.rs`) is `Trawl::new().run()`.
//!
//! Commands: `crawl | check | parse | demo | demo-site` run spiders locally; `serve` is
//! the embedded control plane; `deploy | schedule | schedules | jobs | status | cancel |
//! logs | projects | versions | spiders` are Scrapyd clients.

mod commands;
mod logging;
mod progress;
mod spiders;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::client;
pub use trawl_engine as engine;
pub use trawl_engine::registry::{SpiderArgs, SpiderFactory, SpiderRegistry};

/// Trawl: Scrapy's crawl engine and Scrapyd's job runner, in Rust.
#[derive(Parser)]
#[command(name = "trawl", version, about)]
struct Cli {
    /// Log level: ERROR, WARN, INFO, DEBUG or TRACE (Scrapy's LOG_LEVEL).
    #[arg(short = 'L', long = "loglevel", global = true, env = "TRAWL_LOG_LEVEL")]
    loglevel: Option<String>,
    /// Write the log to this file instead of stderr.
    #[arg(long, global = true)]
    logfile: Option<std::path::PathBuf>,
    /// Disable logging.
    #[arg(long, global = true)]
    nolog: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a spider (a Rust spider of this binary, a spec file, or a spec name found in
    /// ./spiders or ./examples).
    Crawl(commands::crawl::CrawlArgs),
    /// Validate a spider (spec or Rust) without crawling.
    Check(commands::check::CheckArgs),
    /// Fetch one URL and show what a callback extracts from it.
    Parse(commands::parse::ParseArgs),
    /// Run CSS/XPath selectors over local HTML files (one JSON line per file).
    Select(commands::select::SelectArgs),
    /// Run the control plane: a Scrapyd-compatible server with SQLite and files.
    Serve(commands::serve::ServeArgs),
    /// Serve the bundled example shop site on loopback.
    DemoSite(commands::demo::DemoSiteArgs),
    /// Serve a web of hosts on 127.0.0.2, 127.0.0.3, … linking across each other (for
    /// crawls over many hosts).
    DemoWeb(commands::demo::DemoWebArgs),
    /// Serve the example site and crawl it with examples/shop.toml, offline.
    Demo(commands::demo::DemoArgs),
    /// Upload spider specs to a Trawl or Scrapyd server (like scrapyd-deploy).
    Deploy(client::deploy::DeployArgs),
    /// Queue a job on a server (or, with --cron, add a recurring schedule).
    Schedule(client::schedule::ScheduleArgs),
    /// Manage recurring schedules on a server.
    Schedules(client::schedules::SchedulesArgs),
    /// Manage a project's webhooks (signed event deliveries) on a server.
    Webhooks(client::webhooks::WebhooksArgs),
    /// List a server's pending, running and finished jobs.
    Jobs(client::jobs::JobsArgs),
    /// Cancel a job on a server.
    Cancel(client::cancel::CancelArgs),
    /// Show a job's state on a server.
    Status(client::status::StatusArgs),
    /// Print a job's log from a server (-f follows it).
    Logs(client::logs::LogsArgs),
    /// List a server's projects.
    Projects(client::list::ProjectsArgs),
    /// List a project's deployed versions.
    Versions(client::list::VersionsArgs),
    /// List a project's spiders.
    Spiders(client::list::SpidersArgs),
}

/// The `trawl` command with Rust spiders of your own: `trawl crawl NAME` runs a
/// registered spider (before looking for a spec of that name), `trawl serve` runs jobs
/// of them in every project, and `trawl check` / `trawl parse` accept them.
///
/// ```no_run
/// use std::process::ExitCode;
/// use std::sync::Arc;
/// use trawl_cli::{SpiderArgs, Trawl};
/// # use trawl_engine::{Settings, Spider};
/// # fn my_spider(args: &SpiderArgs) -> anyhow::Result<Arc<dyn Spider>> { unimplemented!() }
///
/// fn main() -> ExitCode {
///     Trawl::new()
///         .spider("mine", |args: &SpiderArgs, _settings: &Settings| my_spider(args))
///         .run()
/// }
/// ```
///
/// The stock `trawl` binary is `Trawl::new().run()`.
#[derive(Debug, Default, Clone)]
pub struct Trawl {
    spiders: SpiderRegistry,
}

impl Trawl {
    /// The `trawl` command with no Rust spider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a Rust spider (see [`SpiderRegistry::register`]).
    pub fn spider(mut self, name: impl Into<String>, factory: impl SpiderFactory) -> Self {
        self.spiders.register(name, factory);
        self
    }

    /// Uses `registry` as the Rust spiders (replacing those registered so far).
    pub fn spiders(mut self, registry: SpiderRegistry) -> Self {
        self.spiders = registry;
        self
    }

    /// Parses the process's command line and runs the command; the process's exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// [`Trawl::run`] with the given command line (its first item is the program name).
    /// Invalid command lines print clap's message and exit the process, as `run` does.
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        run_cli(Cli::parse_from(args), self.spiders)
    }
}

fn run_cli(cli: Cli, spiders: SpiderRegistry) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log = logging::LogOptions {
        level: cli.loglevel,
        file: cli.logfile,
        disabled: cli.nolog,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Crawl(args) => commands::crawl::run(args, log, &spiders).await,
            Command::Check(args) => commands::check::run(args, log, &spiders).await,
            Command::Parse(args) => commands::parse::run(args, log, &spiders).await,
            Command::Select(args) => Ok(commands::select::run(args)),
            Command::Serve(args) => commands::serve::run(args, log, &spiders).await,
            Command::DemoSite(args) => commands::demo::serve_site(args, log).await,
            Command::Demo(args) => commands::demo::run(args, log).await,
            Command::DemoWeb(args) => commands::demo::serve_web(args, log).await,
            Command::Deploy(args) => client::deploy::run(args).await,
            Command::Schedule(args) => client::schedule::run(args).await,
            Command::Schedules(args) => client::schedules::run(args).await,
            Command::Webhooks(args) => client::webhooks::run(args).await,
            Command::Jobs(args) => client::jobs::run(args).await,
            Command::Cancel(args) => client::cancel::run(args).await,
            Command::Status(args) => client::status::run(args).await,
            Command::Logs(args) => client::logs::run(args).await,
            Command::Projects(args) => client::list::projects(args).await,
            Command::Versions(args) => client::list::versions(args).await,
            Command::Spiders(args) => client::list::spiders(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
