//! [`AwsConfig`]: the deployment's settings from the environment, the SDK clients,
//! and the assembled ports, so the Lambda functions stay thin.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use trawl_core::ports::{Stores, SystemClock};

use crate::eventbridge::EventBridgeSink;
use crate::lambda::AwsKicker;
use crate::{DynamoStore, LambdaKicker, S3BlobStore, SqsDispatcher, SqsKicker};
use trawl_core::events::Deliverer;
use trawl_core::ports::NoKick;

/// A missing or invalid environment variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("environment variable {0} is not set (required by the AWS deployment)")]
    Missing(&'static str),
    /// A variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The deployment's settings, read from the environment by [`AwsSettings::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `TRAWL_TABLE`: the DynamoDB table (projects, jobs, schedules).
    pub table: String,
    /// `TRAWL_BUCKET`: the S3 bucket (bundles, logs, items).
    pub bucket: String,
    /// `TRAWL_BUCKET_PREFIX` (optional, default empty): a key prefix in the bucket.
    pub bucket_prefix: String,
    /// `TRAWL_CRAWL_QUEUE_URL`: the SQS queue crawlers consume.
    pub crawl_queue_url: String,
    /// `TRAWL_JOBS_QUEUE_URL` (optional): the SQS queue the poller consumes.
    pub jobs_queue_url: Option<String>,
    /// `TRAWL_POLLER_FUNCTION` (optional): the poller function's name or ARN.
    pub poller_function: Option<String>,
    /// `TRAWL_CRAWLER_FUNCTION` (optional): the crawler function's name or ARN, which
    /// the poller invokes asynchronously to add crawlers to a job crawled over
    /// partitions (without it, join messages go through the crawl queue).
    pub crawler_function: Option<String>,
    /// `TRAWL_AUTH_PARAMETER` (optional): the SSM parameter holding the API's Basic
    /// auth credentials as `user:password` (see [`AwsConfig::basic_auth`]).
    pub auth_parameter: Option<String>,
    /// `TRAWL_FINISHED_RETENTION_DAYS` (optional, default 30): the finished-job TTL.
    pub finished_retention: Duration,
    /// `TRAWL_EVENT_BUS` (optional): the EventBridge bus every event is also put on.
    pub event_bus: Option<String>,
    /// `AWS_ENDPOINT_URL` (optional, e.g. LocalStack's): read by the SDK itself; kept
    /// here to switch S3 to path-style addressing.
    pub endpoint_url: Option<String>,
}

impl AwsSettings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let opt = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let req = |name: &'static str| opt(name).ok_or(ConfigError::Missing(name));
        let days = match opt("TRAWL_FINISHED_RETENTION_DAYS") {
            None => 30,
            Some(v) => v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: "TRAWL_FINISHED_RETENTION_DAYS",
                message: format!("expected a whole number of days, got {v:?}"),
            })?,
        };
        Ok(AwsSettings {
            table: req("TRAWL_TABLE")?,
            bucket: req("TRAWL_BUCKET")?,
            bucket_prefix: opt("TRAWL_BUCKET_PREFIX").unwrap_or_default(),
            crawl_queue_url: req("TRAWL_CRAWL_QUEUE_URL")?,
            jobs_queue_url: opt("TRAWL_JOBS_QUEUE_URL"),
            poller_function: opt("TRAWL_POLLER_FUNCTION"),
            crawler_function: opt("TRAWL_CRAWLER_FUNCTION"),
            auth_parameter: opt("TRAWL_AUTH_PARAMETER"),
            finished_retention: Duration::from_secs(days * 24 * 3600),
            event_bus: opt("TRAWL_EVENT_BUS"),
            endpoint_url: opt("AWS_ENDPOINT_URL"),
        })
    }
}

/// Loads the SDK configuration (region, credentials, `AWS_ENDPOINT_URL`, …) from the
/// environment, with the one HTTPS client this crate builds (rustls with *ring*).
pub async fn load_sdk_config() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// An S3 client; path-style addressing when an endpoint URL is set (LocalStack).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The settings and the SDK clients: builds every port of the AWS deployment.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The settings.
    pub settings: AwsSettings,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// S3 (path-style with an endpoint URL).
    pub s3: aws_sdk_s3::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// EventBridge (the event bus).
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// SSM (the auth parameter; feature `ssm-auth`).
    #[cfg(feature = "ssm-auth")]
    pub ssm: aws_sdk_ssm::Client,
}

impl AwsConfig {
    /// Reads [`AwsSettings::from_env`] and the SDK configuration ([`load_sdk_config`]).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = AwsSettings::from_env()?;
        let sdk = load_sdk_config().await;
        Ok(Self::new(settings, &sdk))
    }

    /// The clients of `sdk` with `settings`.
    pub fn new(settings: AwsSettings, sdk: &SdkConfig) -> Self {
        AwsConfig {
            settings,
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: s3_client(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            #[cfg(feature = "ssm-auth")]
            ssm: aws_sdk_ssm::Client::new(sdk),
        }
    }

    /// The table store.
    pub fn dynamo_store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb.clone(), &self.settings.table)
            .with_retention(self.settings.finished_retention)
    }

    /// The blob store (call within a Tokio runtime: its feed uploads use it).
    pub fn blob_store(&self) -> S3BlobStore {
        S3BlobStore::new(
            self.s3.clone(),
            &self.settings.bucket,
            &self.settings.bucket_prefix,
        )
    }

    /// Every storage port (projects, jobs, schedules and item history in the table),
    /// with the system clock; the event outbox and the webhooks are in the table too.
    pub fn stores(&self) -> Stores {
        let table = Arc::new(self.dynamo_store());
        Stores {
            projects: table.clone(),
            jobs: table.clone(),
            schedules: table.clone(),
            history: table.clone(),
            frontier: table.clone(),
            events: table,
            blobs: Arc::new(self.blob_store()),
            clock: Arc::new(SystemClock),
        }
    }

    /// The event sink of `TRAWL_EVENT_BUS`, when it is set.
    pub fn event_sink(&self) -> Option<EventBridgeSink> {
        let bus = self.settings.event_bus.as_ref()?;
        Some(EventBridgeSink::new(self.eventbridge.clone(), bus))
    }

    /// The deliverer of `control`'s events: webhooks, and the bus when one is set.
    pub fn deliverer(&self, control: &trawl_core::Control) -> anyhow::Result<Deliverer> {
        let mut d = control.deliverer()?;
        if let Some(sink) = self.event_sink() {
            d = d.with_sink(Arc::new(sink));
        }
        Ok(d)
    }

    /// The crawl-queue dispatcher.
    pub fn dispatcher(&self) -> SqsDispatcher {
        let d = SqsDispatcher::new(self.sqs.clone(), &self.settings.crawl_queue_url);
        match &self.settings.crawler_function {
            Some(f) => d.with_crawler_function(self.lambda.clone(), f),
            None => d,
        }
    }

    /// The poller kicker: [`LambdaKicker`] when `TRAWL_POLLER_FUNCTION` is set, else
    /// [`SqsKicker`] when `TRAWL_JOBS_QUEUE_URL` is, else [`NoKick`] (the poller then
    /// only runs on its schedule).
    pub fn kicker(&self) -> AwsKicker {
        if let Some(f) = &self.settings.poller_function {
            AwsKicker::Lambda(LambdaKicker::new(self.lambda.clone(), f))
        } else if let Some(q) = &self.settings.jobs_queue_url {
            AwsKicker::Sqs(SqsKicker::new(self.sqs.clone(), q))
        } else {
            AwsKicker::None(NoKick)
        }
    }

    /// The API's Basic auth credentials: the SSM parameter `TRAWL_AUTH_PARAMETER`
    /// (decrypted; a name with or without its leading `/`) as `user:password`, or
    /// `None` when the variable is not set (no auth). Without the feature `ssm-auth`
    /// a set variable is an error (never silently no auth).
    pub async fn basic_auth(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(name) = &self.settings.auth_parameter else {
            return Ok(None);
        };
        #[cfg(not(feature = "ssm-auth"))]
        {
            anyhow::bail!(
                "TRAWL_AUTH_PARAMETER={name} is set but trawl-aws was built without the \
                 `ssm-auth` feature"
            )
        }
        #[cfg(feature = "ssm-auth")]
        self.basic_auth_from_ssm(name).await
    }

    #[cfg(feature = "ssm-auth")]
    async fn basic_auth_from_ssm(&self, name: &str) -> anyhow::Result<Option<(String, String)>> {
        let value = match self.ssm_parameter(name).await {
            Ok(v) => v,
            Err(first) => {
                // `/trawl/auth` and `trawl/auth` name the same parameter for the user.
                let other = match name.strip_prefix('/') {
                    Some(rest) => rest.to_string(),
                    None => format!("/{name}"),
                };
                self.ssm_parameter(&other).await.map_err(|_| first)?
            }
        };
        let (user, password) = value
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("SSM parameter {name}: expected `user:password`"))?;
        Ok(Some((user.to_string(), password.to_string())))
    }

    #[cfg(feature = "ssm-auth")]
    async fn ssm_parameter(&self, name: &str) -> anyhow::Result<String> {
        let out = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "reading SSM parameter {name} (TRAWL_AUTH_PARAMETER): {}",
                    aws_sdk_ssm::error::DisplayErrorContext(&e)
                )
            })?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| anyhow::anyhow!("SSM parameter {name} has no value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn required_and_optional_variables() {
        let e = AwsSettings::from_lookup(lookup(&[("TRAWL_TABLE", "t")])).unwrap_err();
        assert!(e.to_string().contains("TRAWL_BUCKET"), "{e}");
        let s = AwsSettings::from_lookup(lookup(&[
            ("TRAWL_TABLE", "t"),
            ("TRAWL_BUCKET", "b"),
            ("TRAWL_CRAWL_QUEUE_URL", "http://q"),
            ("TRAWL_POLLER_FUNCTION", ""),
            ("TRAWL_FINISHED_RETENTION_DAYS", "2"),
        ]))
        .unwrap();
        assert_eq!(s.table, "t");
        assert_eq!(s.poller_function, None);
        assert_eq!(s.finished_retention, Duration::from_secs(2 * 86400));
        let e = AwsSettings::from_lookup(lookup(&[("TRAWL_TABLE", "t"), ("TRAWL_BUCKET", "b")]))
            .unwrap_err();
        assert!(e.to_string().contains("TRAWL_CRAWL_QUEUE_URL"), "{e}");
    }
}
