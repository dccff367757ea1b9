//! Control-plane settings from environment variables (the Lambda functions' config).

use anyhow::{bail, Context};

use crate::control::ControlConfig;

fn var<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
        _ => Ok(None),
    }
}

/// Reads `TRAWL_MAX_PROC`, `TRAWL_MAX_PROC_PER_PROJECT`, `TRAWL_NODE_NAME`,
/// `TRAWL_FINISHED_TO_KEEP`, `TRAWL_HEARTBEAT_TIMEOUT` and `TRAWL_SCHEDULE_GRACE`
/// (seconds), `TRAWL_REQUEUE_INTERRUPTED`; unset ones keep their defaults.
pub fn control_config_from_env() -> anyhow::Result<ControlConfig> {
    let mut c = ControlConfig::default();
    if let Some(n) = var("TRAWL_MAX_PROC")? {
        c.max_proc = n;
    }
    if let Some(n) = var("TRAWL_MAX_PROC_PER_PROJECT")? {
        c.max_proc_per_project = n;
    }
    if let Some(n) = var::<String>("TRAWL_NODE_NAME")? {
        c.node_name = n;
    }
    if let Some(n) = var("TRAWL_FINISHED_TO_KEEP")? {
        c.finished_to_keep = n;
    }
    if let Some(s) = var::<f64>("TRAWL_HEARTBEAT_TIMEOUT")? {
        if s <= 0.0 {
            bail!("TRAWL_HEARTBEAT_TIMEOUT must be positive");
        }
        c.heartbeat_timeout = chrono::Duration::milliseconds((s * 1000.0) as i64);
    }
    if let Some(s) = var::<f64>("TRAWL_SCHEDULE_GRACE")? {
        c.schedule_grace = chrono::Duration::milliseconds((s * 1000.0) as i64);
    }
    if let Some(b) = var::<bool>("TRAWL_REQUEUE_INTERRUPTED")
        .context("TRAWL_REQUEUE_INTERRUPTED is true or false")?
    {
        c.requeue_interrupted = b;
    }
    Ok(c)
}
