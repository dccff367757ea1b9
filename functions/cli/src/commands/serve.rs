//! `trawl serve`: the control plane in one process — a drop-in Scrapyd on
//! 127.0.0.1:6800 with SQLite and files under a data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use trawl_core::api::{router, ApiOptions};
use trawl_core::local::{LocalConfig, LocalNode};
use trawl_core::runner::RunnerConfig;
use trawl_core::ControlConfig;

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
}

/// The config file: Scrapyd's option names, plus Trawl's own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind_address: Option<String>,
    http_port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    max_proc: Option<usize>,
    max_proc_per_cpu: Option<usize>,
    max_proc_per_project: Option<usize>,
    poll_interval: Option<f64>,
    finished_to_keep: Option<usize>,
    jobs_to_keep: Option<usize>,
    node_name: Option<String>,
    data_dir: Option<PathBuf>,
    requeue_interrupted: Option<bool>,
    heartbeat_timeout: Option<f64>,
    schedule_grace: Option<f64>,
}

/// The resolved server settings.
pub struct ServeConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// Basic auth.
    pub auth: Option<(String, String)>,
    /// The node.
    pub node: LocalConfig,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("environment variable {name}={v:?} is not valid")),
    }
}

/// Config file < environment (SCRAPYD_* / TRAWL_*) < command line.
pub fn resolve(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
    let file: FileConfig = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid config {}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let bind = args
        .bind
        .clone()
        .or_else(|| env("SCRAPYD_BIND_ADDRESS"))
        .or(file.bind_address)
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = match args.port {
        Some(p) => p,
        None => env_parse("SCRAPYD_HTTP_PORT")?.or(file.http_port).unwrap_or(6800),
    };
    let ip: std::net::IpAddr = bind
        .parse()
        .with_context(|| format!("bind_address {bind:?} is not an IP address"))?;
    let username = env("SCRAPYD_USERNAME").or(file.username).filter(|s| !s.is_empty());
    let password = env("SCRAPYD_PASSWORD").or(file.password).filter(|s| !s.is_empty());
    let auth = match (username, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => bail!("set both username and password, or neither"),
    };
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut control = ControlConfig::default();
    let max_proc = env_parse("TRAWL_MAX_PROC")?.or(file.max_proc).unwrap_or(0);
    control.max_proc = if max_proc == 0 {
        file.max_proc_per_cpu.unwrap_or(4) * cpus
    } else {
        max_proc
    };
    if let Some(n) = env_parse("TRAWL_MAX_PROC_PER_PROJECT")?.or(file.max_proc_per_project) {
        control.max_proc_per_project = n;
    }
    if let Some(n) = file.finished_to_keep.or(file.jobs_to_keep) {
        control.finished_to_keep = n;
    }
    if let Some(n) = file.node_name.or_else(|| env("TRAWL_NODE_NAME")) {
        control.node_name = n;
    } else {
        control.node_name = hostname();
    }
    if let Some(r) = file.requeue_interrupted {
        control.requeue_interrupted = r;
    }
    if let Some(s) = file.heartbeat_timeout {
        control.heartbeat_timeout = chrono::Duration::milliseconds((s * 1000.0) as i64);
    }
    if let Some(s) = file.schedule_grace {
        control.schedule_grace = chrono::Duration::milliseconds((s * 1000.0) as i64);
    }
    let poll = env_parse("TRAWL_POLL_INTERVAL")?.or(file.poll_interval).unwrap_or(5.0);
    if !(poll > 0.0 && poll.is_finite()) {
        bail!("poll_interval must be a positive number of seconds");
    }
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| env("TRAWL_DATA_DIR").map(PathBuf::from))
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("trawl-data"));
    Ok(ServeConfig {
        addr: SocketAddr::new(ip, port),
        auth,
        node: LocalConfig {
            data_dir,
            control,
            poll_interval: Duration::from_secs_f64(poll),
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

/// `trawl serve`.
pub async fn run(args: ServeArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    logging::init_with_job_logs(&log)?;
    let cfg = match resolve(&args) {
        Ok(c) => c,
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
    println!("Trawl listening on http://{addr} (data in {})", cfg.node.data_dir.display());
    tracing::info!(%addr, "Scrapyd-compatible API ready");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down: running jobs stop gracefully");
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    node.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
