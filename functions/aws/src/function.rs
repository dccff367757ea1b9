//! What the three Lambda functions share: the control plane assembled from the
//! environment.

use std::sync::Arc;

use trawl_core::ports::{Kicker, NoKick};
use trawl_core::Control;

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
/// kicker, and the limits from `TRAWL_*` variables.
pub async fn control(kick: Kick) -> anyhow::Result<(Arc<Control>, AwsConfig)> {
    let aws = AwsConfig::from_env().await?;
    let kicker: Arc<dyn Kicker> = match kick {
        Kick::Poller => Arc::new(aws.kicker()),
        Kick::Never => Arc::new(NoKick),
    };
    let control = Control::new(
        aws.stores(),
        Arc::new(aws.dispatcher()),
        kicker,
        trawl_core::config::Options::from_env()?.control_config("trawl")?,
    );
    Ok((Arc::new(control), aws))
}
