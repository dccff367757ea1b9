//! `trawl serve`: the control plane in one process — a drop-in Scrapyd on
//! 127.0.0.1:6800 with SQLite and files under a data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use trawl_core::config::Options;
use trawl_core::runner::RunnerConfig;
use trawl_embedded::local::{LocalConfig, LocalNode};
use trawl_engine::registry::SpiderRegistry;
use trawl_http::{router, serve, ApiOptions, ServerLimits};

use crate::logging::{self, LogOptions};

/// `trawl serve` arguments (they override the config file and the environment).
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A TOML file with Scrapyd's option names (bind_address, http_port, username,
    /// password, max_proc, max_proc_per_project, poll_interval, finished_to_keep, ...).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to bind (bind_address; default 127.0.0.1).
    #[arg(long)]
    pub bind: Option<String>,
    /// Port (http_port; default 6800; 0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Data directory (default ./trawl-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Listen on a non-loopback address without username and password
    /// (allow_unauthenticated). Anyone who reaches the port can then deploy and run
    /// crawls on this machine.
    #[arg(long)]
    pub allow_unauthenticated: bool,
}

/// The resolved server settings.
pub struct ServeConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// Basic auth.
    pub auth: Option<(String, String)>,
    /// HTTP server limits.
    pub limits: ServerLimits,
    /// The node.
    pub node: LocalConfig,
}

/// Config file < environment (SCRAPYD_* / TRAWL_*) < command line, through the control
/// plane's one loader ([`Options`]).
pub fn resolve(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
    let file = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Options::from_toml(&text).with_context(|| format!("config {}", p.display()))?
        }
        None => Options::default(),
    };
    let flags = Options {
        bind_address: args.bind.clone(),
        http_port: args.port,
        data_dir: args.data_dir.clone(),
        allow_unauthenticated: args.allow_unauthenticated.then_some(true),
        ..Options::default()
    };
    let opts = flags.or(Options::from_env()?.or(file));
    let bind = opts.bind_address.as_deref().unwrap_or("127.0.0.1");
    let ip: std::net::IpAddr = bind
        .parse()
        .with_context(|| format!("bind_address {bind:?} is not an IP address"))?;
    let auth = opts.auth()?;
    if auth.is_none() && !ip.is_loopback() && opts.allow_unauthenticated != Some(true) {
        bail!(
            "refusing to listen on {ip} without a username and password: anyone who reaches \
             it could deploy and run crawls here. Set username and password (or \
             SCRAPYD_USERNAME/SCRAPYD_PASSWORD), or pass --allow-unauthenticated"
        );
    }
    let mut limits = ServerLimits::default();
    if let Some(n) = opts.max_connections {
        limits.max_connections = n.max(1);
    }
    Ok(ServeConfig {
        addr: SocketAddr::new(ip, opts.http_port.unwrap_or(6800)),
        auth,
        limits,
        node: LocalConfig {
            data_dir: opts
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("trawl-data")),
            control: opts.control_config(&hostname())?,
            poll_interval: opts.poll_interval()?,
            runner: RunnerConfig::default(),
        },
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "trawl".into())
}

/// `trawl serve`; jobs may run the Rust spiders of `registry` in every project.
pub async fn run(
    args: ServeArgs,
    log: LogOptions,
    registry: &SpiderRegistry,
) -> anyhow::Result<ExitCode> {
    logging::init_with_job_logs(&log)?;
    let cfg = match resolve(&args) {
        Ok(mut c) => {
            c.node.control.spiders = registry.clone();
            c
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.addr))?;
    let addr = listener.local_addr()?;
    let node = LocalNode::start(cfg.node.clone()).await?;
    let opts = ApiOptions {
        username: cfg.auth.as_ref().map(|a| a.0.clone()),
        password: cfg.auth.as_ref().map(|a| a.1.clone()),
        ..ApiOptions::default()
    };
    let app = router(node.control().clone(), opts);
    // The line tests and scripts wait for; keep its shape.
    println!(
        "Trawl listening on http://{addr} (data in {})",
        cfg.node.data_dir.display()
    );
    tracing::info!(%addr, "Scrapyd-compatible API ready");
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down: running jobs stop gracefully");
    };
    serve(listener, app, cfg.limits, shutdown).await?;
    node.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
