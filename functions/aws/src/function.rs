//! What the three Lambda functions share: the control plane assembled from the
//! environment, and the API's Basic-auth credentials from SSM Parameter Store.

use std::sync::Arc;

use anyhow::Context;
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
        Kick::Poller => aws.kicker().unwrap_or_else(|| Arc::new(NoKick)),
        Kick::Never => Arc::new(NoKick),
    };
    let control = Control::new(
        aws.stores(),
        aws.dispatcher(),
        kicker,
        trawl_core::envconfig::control_config_from_env()?,
    );
    Ok((Arc::new(control), aws))
}

/// `user:password` from the SSM parameter named by `TRAWL_AUTH_PARAMETER` (decrypted),
/// or `None` when the variable is unset (no authentication).
pub async fn basic_auth() -> anyhow::Result<Option<(String, String)>> {
    let Some(name) = std::env::var("TRAWL_AUTH_PARAMETER")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let sdk = crate::config::load_sdk_config().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let out = ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .with_context(|| format!("cannot read the auth parameter {name}"))?;
    let value = out
        .parameter
        .and_then(|p| p.value)
        .with_context(|| format!("the auth parameter {name} has no value"))?;
    let (user, password) = value
        .split_once(':')
        .with_context(|| format!("the auth parameter {name} must hold user:password"))?;
    Ok(Some((user.to_string(), password.to_string())))
}
