//! The AWS implementation of Trawl's control-plane ports:
//!
//! * [`DynamoStore`]: projects, jobs, schedules, item history, the event outbox
//!   and webhooks in one DynamoDB table, every transition one conditional write with its
//!   event ([`dynamo`] documents the key design);
//! * [`S3BlobStore`]: bundles, logs and items in S3, with the `s3` feed storage
//!   ([`S3FeedStorage`]) streaming item feeds as multipart uploads;
//! * [`SqsDispatcher`]: started jobs to the crawl queue;
//! * [`EventBridgeSink`]: job, schedule and deploy events on an EventBridge bus;
//! * [`LambdaKicker`] / [`SqsKicker`] ([`AwsKicker`], [`NoKick`]): wake the poller;
//! * [`AwsConfig`]: all of it from the environment, [`function`]: what the three
//!   Lambda functions share, and [`crawler`]: the crawl queue's consumer, so each
//!   function is a thin adapter.

pub mod config;
pub mod crawler;
pub mod dynamo;
mod errors;
pub mod eventbridge;
pub mod function;
pub mod lambda;
pub mod s3;
pub mod sqs;

pub use config::{load_sdk_config, AwsConfig, AwsSettings, ConfigError};
pub use dynamo::{create_table, delete_table, DynamoStore};
pub use eventbridge::EventBridgeSink;
pub use lambda::{AwsKicker, LambdaKicker, SqsKicker};
pub use s3::{S3BlobStore, S3FeedStorage};
pub use sqs::SqsDispatcher;
pub use trawl_core::ports::NoKick;
