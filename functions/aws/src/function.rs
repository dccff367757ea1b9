//! What the three Lambda functions share: the control plane assembled from the
//! environment.

use std::sync::Arc;

use trawl_core::ports::{Kicker, NoKick};
use trawl_core::Control;
use trawl_engine::registry::SpiderRegistry;

use crate::config::AwsConfig;

/// How a function wakes the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Wake it after schedules and finished jobs (API, crawler).
    Poller,
    /// Never (the poller itself).
    Never,
}

/// The control plane of a function: the AWS stores, the crawl-queue dispatcher, the
/// kicker, and the limits from `TRAWL_*` variables; no Rust spider.
pub async fn control(kick: Kick) -> anyhow::Result<(Arc<Control>, AwsConfig)> {
    control_with_spiders(kick, SpiderRegistry::new()).await
}

/// [`control`] with Rust spiders, in every project next to the bundles' spiders. The
/// crawler function needs them to run their jobs, the API function to list and accept
/// them (`listspiders.json`, `schedule.json`); the poller does not.
pub async fn control_with_spiders(
    kick: Kick,
    spiders: SpiderRegistry,
) -> anyhow::Result<(Arc<Control>, AwsConfig)> {
    let aws = AwsConfig::from_env().await?;
    let kicker: Arc<dyn Kicker> = match kick {
        Kick::Poller => Arc::new(aws.kicker()),
        Kick::Never => Arc::new(NoKick),
    };
    let mut cfg = trawl_core::config::Options::from_env()?.control_config("trawl")?;
    cfg.spiders = spiders;
    // A job's crawlers are crawler functions of their own, started through the queue.
    cfg.fan_out = trawl_core::control::FanOut::Dispatched;
    let control = Control::new(aws.stores(), Arc::new(aws.dispatcher()), kicker, cfg);
    Ok((Arc::new(control), aws))
}
