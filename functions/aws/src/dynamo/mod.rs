//! [`DynamoStore`]: projects, jobs, schedules and item history in ONE DynamoDB table.
//!
//! # Table design
//!
//! | item     | `PK`            | `SK`          | `GSI1PK`         | `GSI1SK`        | `GSI2PK`              | `GSI2SK`             |
//! |----------|-----------------|---------------|------------------|-----------------|-----------------------|----------------------|
//! | version  | `PROJECT#{p}`   | `VERSION#{v}` | `PROJECTS`       | `{p}#{v}`       | –                     | –                    |
//! | job      | `JOB#{id}`      | `JOB`         | `JOBS#{state}`   | order (below)   | `JOBS#{project}`      | `{state}#{order}`    |
//! | schedule | `SCHEDULE#{id}` | `SCHEDULE`    | `SCHEDULES`      | `{created}#{id}`| `SCHEDULES#{project}` | `{created}#{id}`     |
//! | history  | `HISTORY#{p}`   | `SEEN#{spider}#{chunk}` | –      | –               | –                     | –                    |
//! | partition | `FRONTIER#{job}` | `P#{partition}` | –              | –               | –                     | –                    |
//! | batch    | `FRONTIER#{job}` | `B#{partition}#{id}` | –         | –               | –                     | –                    |
//! | close claim | `FRONTIER#{job}` | `CLOSE`    | –                | –               | –                     | –                    |
//!
//! Both global secondary indexes (`GSI1`, `GSI2`) project every attribute, so lists
//! read whole records from the index. History chunks are described in `history.rs`.
//!
//! The frontier of a job crawled by several crawlers is one partition of the table: a
//! partition item per frontier partition (its lease `token`, `holder` and `expires`,
//! whether requests are `pending`, and the counters `unconsumed` and `puts`), a batch
//! item per inbox batch (`%` and `#` escaped in the partition of its key, so that no
//! partition's prefix matches another's; a consumed batch stays, without its
//! requests), and the close claim. Leases are conditional writes on the partition item;
//! a put or a commit is one transaction of its batch items and the partition item's
//! counters (see `frontier.rs`).
//!
//! A job's order within its state is a string whose
//! lexicographic order is the list order of [`JobStore::list_jobs`](trawl_core::ports::JobStore::list_jobs):
//!
//! * pending: `{priority}#{created}#{id}`: the priority's IEEE-754 bits made monotonic
//!   and inverted (highest first), then the creation time (oldest first);
//! * running: `{started}#{id}` (oldest start first);
//! * finished: `{!finished}#{id}` (the finish time inverted: newest first).
//!
//! Ties (same priority and time) are broken by job id. Times are 16 hex digits of offset microseconds ([`keys::time_asc`]). A job also keeps
//! its pending keys (`queue_sk`, `queue_psk`) so a requeue restores its queue position
//! in one write. Job and schedule times are stored as numbers (microseconds since the
//! epoch, exact), maps and outcomes as JSON strings, the priority as a string (exact).
//!
//! # Transitions
//!
//! Every state change is ONE conditional write, so concurrent pollers or a redelivered
//! message can never both win: `insert_job` is a `PutItem` with
//! `attribute_not_exists(PK)`; `start_job` an `UpdateItem` conditioned on
//! `state = pending`; `finish_job`, `heartbeat` and `requeue_job` conditioned on
//! `state = running AND attempt = :a`; `remove_pending` a `DeleteItem` conditioned on
//! `state = pending`; `request_cancel` an `ADD cancel_requests :1` conditioned on
//! `state = running`; `advance_schedule` conditioned on `next_run = :expected`. A failed
//! condition is the "no" answer of the port (`None`/`false`), never an error.
//!
//! # Retention
//!
//! Finished jobs get a TTL attribute `expires_at` (epoch seconds, wall clock at finish
//! plus [`DynamoStore::with_retention`], default 30 days), so DynamoDB deletes them even
//! if nobody prunes. Their log and item blobs need an S3 lifecycle rule of the same age.
//!
//! # Consistency
//!
//! `get_job`, `get_schedule` and `versions` read the table with strongly consistent
//! reads; lists and counts read the indexes, which DynamoDB updates asynchronously
//! (usually within milliseconds; immediately on LocalStack). All pending jobs share one
//! index partition (`JOBS#pending`): fine for a Scrapyd-sized queue.

mod events;
mod frontier;
mod history;
mod items;
mod jobs;
pub mod keys;
mod outbox;
mod projects;
mod schedules;
mod transact;
mod transitions;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use trawl_core::ports::{StoreError, StoreResult};

/// An item: attribute name → value.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The default retention of finished jobs (the `expires_at` TTL).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Projects, jobs, schedules and item history in one DynamoDB table (see the module
/// docs for the key design). Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoStore {
    /// A store on `table` (created by [`create_table`] or the deployment).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Sets how long finished jobs are kept before DynamoDB's TTL deletes them.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a query to the end (following `LastEvaluatedKey`), returning every item.
    async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        forward: bool,
        consistent: bool,
    ) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(key_condition)
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take());
            if consistent {
                q = q.consistent_read(true);
            }
            for (k, v) in names {
                q = q.expression_attribute_names(*k, *v);
            }
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            let page = q.send().await.map_err(sdk_error)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Counts a query's matches (following `LastEvaluatedKey`).
    async fn count(&self, index: &str, pk_name: &str, pk: String) -> StoreResult<usize> {
        let mut n = 0usize;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            n += page.count as usize;
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(n),
            }
        }
    }
}

/// Whether an SDK error is a failed `ConditionExpression`.
pub(crate) fn is_condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// An SDK error as a store error (transient or not), with the service's message.
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    crate::errors::store_error("dynamodb", e)
}

/// Creates the table with on-demand billing, both indexes and the `expires_at` TTL,
/// and waits until it is active. For tests and the LocalStack deployment.
pub async fn create_table(client: &Client, name: &str) -> anyhow::Result<()> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
    };
    let gsi = |name: &str, pk: &str, sk: &str| -> anyhow::Result<GlobalSecondaryIndex> {
        Ok(GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()?)
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(keys::PK)?)
        .attribute_definitions(attr(keys::SK)?)
        .attribute_definitions(attr(keys::GSI1PK)?)
        .attribute_definitions(attr(keys::GSI1SK)?)
        .attribute_definitions(attr(keys::GSI2PK)?)
        .attribute_definitions(attr(keys::GSI2SK)?)
        .key_schema(key(keys::PK, KeyType::Hash)?)
        .key_schema(key(keys::SK, KeyType::Range)?)
        .global_secondary_indexes(gsi(keys::GSI1, keys::GSI1PK, keys::GSI1SK)?)
        .global_secondary_indexes(gsi(keys::GSI2, keys::GSI2PK, keys::GSI2SK)?)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "creating table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let d = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "describing table {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        let table = d.table.as_ref();
        let active = table.and_then(|t| t.table_status.as_ref())
            == Some(&aws_sdk_dynamodb::types::TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|g| g.index_status == Some(aws_sdk_dynamodb::types::IndexStatus::Active));
        if active && indexes_active {
            break;
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("table {name} is not active after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(keys::EXPIRES_AT)
                .enabled(true)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "enabling TTL on {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

/// Deletes the table (tests).
pub async fn delete_table(client: &Client, name: &str) -> anyhow::Result<()> {
    client
        .delete_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "deleting table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}
