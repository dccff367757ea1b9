//! [`FrontierStore`] on the table: the partitioned frontier of a job crawled by several
//! crawlers, under `PK = FRONTIER#{job}` (see the module docs of [`super`]).
//!
//! * A partition item (`SK = P#{partition}`) holds the lease (`token`, which grows by
//!   one with every lease; `holder` and `expires`, both absent when released), whether
//!   the partition's checkpoint has `pending` requests, and two counters kept in the same
//!   transactions as the batches: `unconsumed` (the partition's unconsumed batches) and
//!   `puts` (batches ever put to it).
//! * A batch item (`SK = B#{partition, escaped}#{id}`) is one inbox batch: its
//!   `requests` (JSON), `put_at` (wall-clock microseconds, strictly increasing within a
//!   process: the inbox order, ties broken by id) and `consumed`. A consumed batch loses
//!   its `requests` but stays, so that putting it again adds nothing. The partition is
//!   escaped (`%` → `%25`, `#` → `%23`) so that one partition's key prefix never matches
//!   another's (`a` and `a#b`).
//! * The close claim (`SK = CLOSE`): `holder` and `expires`.
//!
//! Every write that checks a lease is conditioned on the partition item's `token` and
//! `holder`; writes that touch batches and the partition's counters are one
//! `TransactWriteItems`, so the counters never disagree with the batch items. Reads are
//! strongly consistent queries of the job's partition.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use trawl_core::frontier::{CloseCounts, FrontierSummary, InboxBatch, Lease};
use trawl_core::ports::{FrontierStore, StoreError, StoreResult};

use super::items::{get_n, get_s, n, opt_n, opt_s, s};
use super::keys::{PK, SK};
use super::outbox::Expr;
use super::transact::{backoff, is_conflict, CONDITION_FAILED, CONFLICT_RETRIES};
use super::{is_condition_failed, sdk_error, DynamoStore, Item};

/// The most bytes of serialized requests one batch item may hold (an item is at most
/// 400 KB, keys and attribute names included).
const MAX_BATCH_BYTES: usize = 350 * 1024;

/// Writes of one `TransactWriteItems` at most.
const TRANSACTION_ITEMS: usize = 100;

/// How often a commit whose batches changed under it reads them again.
const COMMIT_RETRIES: usize = 3;

/// The sort key of the close claim.
const CLOSE_SK: &str = "CLOSE";

/// The sort key of the job's counts (`items`, `pages`, `errors`, added to by every
/// crawler, for `CLOSESPIDER_*COUNT`).
const COUNTS_SK: &str = "COUNTS";

/// The sort-key prefix of every partition item.
const PARTITION_PREFIX: &str = "P#";

fn frontier_pk(job: &str) -> String {
    format!("FRONTIER#{job}")
}

fn partition_sk(partition: &str) -> String {
    format!("{PARTITION_PREFIX}{partition}")
}

/// `B#{partition}#` with `%` and `#` escaped in the partition: no other partition's
/// batch keys start with it.
fn batch_prefix(partition: &str) -> String {
    format!("B#{}#", partition.replace('%', "%25").replace('#', "%23"))
}

fn batch_sk(partition: &str, id: &str) -> String {
    format!("{}{id}", batch_prefix(partition))
}

fn key(pk: String, sk: String) -> Item {
    Item::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
}

/// Placeholders `#a` for the attributes `a` (an expression must use every one).
fn names(attributes: &[&str]) -> Expr {
    attributes
        .iter()
        .fold(Expr::default(), |e, a| e.name(&format!("#{a}"), a))
}

fn boolean(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

/// `now + ttl`, in microseconds since the epoch.
fn expiry(now: DateTime<Utc>, ttl: Duration) -> StoreResult<i64> {
    let ttl = i64::try_from(ttl.as_micros())
        .map_err(|_| StoreError::backend(format!("lease ttl out of range: {ttl:?}")))?;
    now.timestamp_micros()
        .checked_add(ttl)
        .ok_or_else(|| StoreError::backend("lease expiry out of range"))
}

fn from_micros(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("frontier: time out of range: {us}")))
}

/// The wall clock in microseconds, strictly increasing within this process (so one
/// sender's batches keep their order even when put within one microsecond).
fn put_time() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let now = Utc::now().timestamp_micros();
    let prev = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    now.max(prev.saturating_add(1))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("dynamodb frontier item: {what}"))
}

/// An optional boolean attribute.
fn opt_bool(item: &Item, name: &str) -> StoreResult<Option<bool>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(corrupt(&format!("attribute {name:?} is not a boolean"))),
    }
}

/// A partition item, read.
#[derive(Debug)]
struct PartitionRow {
    name: String,
    token: u64,
    holder: Option<String>,
    expires: Option<i64>,
    pending: bool,
    unconsumed: u64,
    puts: u64,
}

impl PartitionRow {
    fn from_item(item: &Item) -> StoreResult<Self> {
        let sk = get_s(item, SK)?;
        let name = sk
            .strip_prefix(PARTITION_PREFIX)
            .ok_or_else(|| corrupt(&format!("partition key {sk:?}")))?;
        Ok(PartitionRow {
            name: name.to_string(),
            token: get_n(item, "token")?,
            holder: opt_s(item, "holder")?,
            expires: opt_n(item, "expires")?,
            pending: opt_bool(item, "pending")?.unwrap_or(false),
            unconsumed: opt_n(item, "unconsumed")?.unwrap_or(0),
            puts: opt_n(item, "puts")?.unwrap_or(0),
        })
    }

    /// Held by a lease that runs past `now`.
    fn live(&self, now: i64) -> bool {
        self.holder.is_some() && self.expires.is_some_and(|e| e > now)
    }

    /// Pending requests or an unconsumed batch.
    fn has_work(&self) -> bool {
        self.pending || self.unconsumed > 0
    }
}

/// A batch item, read: its id, whether it was consumed, its put time.
fn batch_head(item: &Item) -> StoreResult<(String, bool, i64)> {
    Ok((
        get_s(item, "id")?,
        opt_bool(item, "consumed")?.ok_or_else(|| corrupt("batch without \"consumed\""))?,
        opt_n(item, "put_at")?.unwrap_or(0),
    ))
}

/// An unconsumed batch item's requests.
fn batch_requests(item: &Item, id: &str) -> StoreResult<Vec<trawl_engine::Request>> {
    let parsed = match item.get("requests") {
        Some(AttributeValue::S(text)) => serde_json::from_str(text),
        Some(AttributeValue::B(blob)) => serde_json::from_slice(blob.as_ref()),
        _ => return Err(corrupt(&format!("batch {id} has no requests"))),
    };
    parsed.map_err(|e| corrupt(&format!("batch {id}: {e}")))
}

/// An `Update` of `key` for a transaction.
fn update(
    table: &str,
    key: Item,
    expression: &str,
    condition: Option<&str>,
    expr: Expr,
) -> StoreResult<TransactWriteItem> {
    let u = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .set_condition_expression(condition.map(str::to_string))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .build()
        .map_err(StoreError::backend)?;
    Ok(TransactWriteItem::builder().update(u).build())
}

/// How one chunk of a commit ended.
enum Chunk {
    Written,
    LeaseLost,
    BatchChanged,
}

impl DynamoStore {
    /// Sends a conditional update: false when its condition failed. An update that
    /// meets a transaction in progress on its item is tried again a few times.
    async fn update_if(&self, update: UpdateItemFluentBuilder) -> StoreResult<bool> {
        let mut tries = 0;
        loop {
            match update.clone().send().await {
                Ok(_) => return Ok(true),
                Err(e) if is_condition_failed(&e) => return Ok(false),
                Err(e) if tries < CONFLICT_RETRIES && is_conflict(&e) => {
                    tries += 1;
                    backoff(tries).await;
                }
                Err(e) => return Err(sdk_error(e)),
            }
        }
    }

    /// An `UpdateItem` of `key` with `expr`'s names and values.
    fn frontier_update(
        &self,
        key: Item,
        expression: &str,
        condition: &str,
        expr: Expr,
    ) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
    }

    /// The job's partition items (one consistent query).
    async fn partition_rows(&self, job: &str) -> StoreResult<Vec<PartitionRow>> {
        let items = self
            .query_all(
                None,
                "PK = :pk AND begins_with(SK, :prefix)",
                &[],
                vec![
                    (":pk", s(frontier_pk(job))),
                    (":prefix", s(PARTITION_PREFIX)),
                ],
                true,
                true,
            )
            .await?;
        items.iter().map(PartitionRow::from_item).collect()
    }

    /// The partition's batch items, consumed ones included (one consistent query).
    async fn batch_items(&self, job: &str, partition: &str) -> StoreResult<Vec<Item>> {
        self.query_all(
            None,
            "PK = :pk AND begins_with(SK, :prefix)",
            &[],
            vec![
                (":pk", s(frontier_pk(job))),
                (":prefix", s(batch_prefix(partition))),
            ],
            true,
            true,
        )
        .await
    }

    /// The ids among `named` of the lease's partition's batches not consumed yet, each
    /// once, in key order.
    async fn still_unconsumed(&self, lease: &Lease, named: &[String]) -> StoreResult<Vec<String>> {
        if named.is_empty() {
            return Ok(Vec::new());
        }
        let named: HashSet<&str> = named.iter().map(String::as_str).collect();
        let mut ids = Vec::new();
        for item in self.batch_items(&lease.job, &lease.partition).await? {
            let (id, consumed, _) = batch_head(&item)?;
            if !consumed && named.contains(id.as_str()) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// One transaction of a commit: consumes `ids` and, under the lease, takes them off
    /// the partition's count; the last one also records `pending` and the release.
    async fn commit_chunk(
        &self,
        lease: &Lease,
        ids: &[String],
        last: Option<(bool, bool)>,
    ) -> StoreResult<Chunk> {
        let pk = frontier_pk(&lease.job);
        let mut writes = Vec::with_capacity(ids.len() + 1);
        for id in ids {
            writes.push(update(
                &self.table,
                key(pk.clone(), batch_sk(&lease.partition, id)),
                "SET #consumed = :true REMOVE #requests",
                Some("#consumed = :false"),
                names(&["consumed", "requests"])
                    .value(":true", boolean(true))
                    .value(":false", boolean(false)),
            )?);
        }
        writes.push(self.commit_partition_write(lease, ids.len(), last)?);
        let at = writes.len() - 1;
        Ok(match self.transact_reasons(writes).await? {
            None => Chunk::Written,
            Some(codes) if codes.get(at).map(String::as_str) == Some(CONDITION_FAILED) => {
                Chunk::LeaseLost
            }
            Some(_) => Chunk::BatchChanged,
        })
    }

    /// The partition's write of a commit chunk: conditioned on the lease.
    fn commit_partition_write(
        &self,
        lease: &Lease,
        consumed: usize,
        last: Option<(bool, bool)>,
    ) -> StoreResult<TransactWriteItem> {
        let mut attrs = vec!["token", "holder", "expires", "unconsumed"];
        let mut expression = String::from("ADD #unconsumed :minus");
        if let Some((_, release)) = last {
            attrs.push("pending");
            expression.push_str(" SET #pending = :pending");
            if release {
                expression.push_str(" REMOVE #holder, #expires");
            }
        }
        let mut expr = names(&attrs)
            .value(
                ":minus",
                n(-i64::try_from(consumed).map_err(StoreError::backend)?),
            )
            .value(":token", n(lease.token))
            .value(":crawler", s(&lease.crawler));
        if let Some((pending, _)) = last {
            expr = expr.value(":pending", boolean(pending));
        }
        update(
            &self.table,
            key(frontier_pk(&lease.job), partition_sk(&lease.partition)),
            &expression,
            Some("#token = :token AND #holder = :crawler AND attribute_exists(#expires)"),
            expr,
        )
    }

    /// Commits the batches `ids` in chunks (each under the lease), the last chunk with
    /// `pending` and the release and with at least one batch when there are any.
    async fn commit_chunks(
        &self,
        lease: &Lease,
        ids: &[String],
        pending: bool,
        release: bool,
    ) -> StoreResult<Chunk> {
        let chunks: Vec<&[String]> = if ids.is_empty() {
            vec![&[]]
        } else {
            ids.chunks(TRANSACTION_ITEMS - 1).collect()
        };
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let last = (i + 1 == count).then_some((pending, release));
            match self.commit_chunk(lease, chunk, last).await? {
                Chunk::Written => {}
                other => return Ok(other),
            }
        }
        Ok(Chunk::Written)
    }

    /// Tries to lease `p` (seen with its token, free and with work) for `crawler`.
    async fn try_lease(
        &self,
        job: &str,
        p: &PartitionRow,
        crawler: &str,
        now: i64,
        expires: i64,
    ) -> StoreResult<bool> {
        let expr = names(&["token", "holder", "expires", "pending", "unconsumed"])
            .value(":seen", n(p.token))
            .value(":one", n(1))
            .value(":zero", n(0))
            .value(":now", n(now))
            .value(":expires", n(expires))
            .value(":crawler", s(crawler))
            .value(":true", boolean(true));
        let update = self.frontier_update(
            key(frontier_pk(job), partition_sk(&p.name)),
            "SET #token = #token + :one, #holder = :crawler, #expires = :expires",
            "#token = :seen AND (attribute_not_exists(#holder) OR #expires <= :now) \
             AND (#pending = :true OR #unconsumed > :zero)",
            expr,
        );
        self.update_if(update).await
    }
}

#[async_trait]
impl FrontierStore for DynamoStore {
    async fn put_batch(&self, job: &str, batch: &InboxBatch) -> StoreResult<bool> {
        let requests = serde_json::to_string(&batch.requests).map_err(StoreError::backend)?;
        if requests.len() > MAX_BATCH_BYTES {
            return Err(StoreError::backend(format!(
                "inbox batch {} for {}: {} bytes of requests, more than the {MAX_BATCH_BYTES} \
                 a DynamoDB item can hold; the caller must split batches by size",
                batch.id,
                batch.partition,
                requests.len()
            )));
        }
        let pk = frontier_pk(job);
        let mut item = key(pk.clone(), batch_sk(&batch.partition, &batch.id));
        item.extend([
            ("id".to_string(), s(&batch.id)),
            ("requests".to_string(), s(requests)),
            ("put_at".to_string(), n(put_time())),
            ("consumed".to_string(), boolean(false)),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::backend)?;
        let partition = update(
            &self.table,
            key(pk, partition_sk(&batch.partition)),
            "SET #token = if_not_exists(#token, :zero), #pending = if_not_exists(#pending, :false) \
             ADD #unconsumed :one, #puts :one",
            None,
            names(&["token", "pending", "unconsumed", "puts"])
                .value(":zero", n(0))
                .value(":one", n(1))
                .value(":false", boolean(false)),
        )?;
        let writes = vec![TransactWriteItem::builder().put(put).build(), partition];
        match self.transact_reasons(writes).await? {
            None => Ok(true),
            Some(codes) if codes.first().map(String::as_str) == Some(CONDITION_FAILED) => Ok(false),
            Some(codes) => Err(StoreError::backend(format!(
                "dynamodb: put_batch cancelled: {codes:?}"
            ))),
        }
    }

    async fn lease_partition(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let (now_us, expires) = (now.timestamp_micros(), expiry(now, ttl)?);
        let mut candidates = self.partition_rows(job).await?;
        candidates.retain(|p| p.has_work() && !p.live(now_us));
        // The least leased first, so that partitions take turns.
        candidates.sort_by(|a, b| (a.token, &a.name).cmp(&(b.token, &b.name)));
        for p in candidates {
            if !self.try_lease(job, &p, crawler, now_us, expires).await? {
                continue; // taken meanwhile, or its work is gone
            }
            let token = p
                .token
                .checked_add(1)
                .ok_or_else(|| corrupt(&format!("lease token {} of {}", p.token, p.name)))?;
            return Ok(Some(Lease {
                job: job.to_string(),
                partition: p.name,
                crawler: crawler.to_string(),
                token,
                expires: from_micros(expires)?,
            }));
        }
        Ok(None)
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let expr = names(&["token", "holder", "expires"])
            .value(":token", n(lease.token))
            .value(":crawler", s(&lease.crawler))
            .value(":expires", n(expiry(now, ttl)?));
        let update = self.frontier_update(
            key(frontier_pk(&lease.job), partition_sk(&lease.partition)),
            "SET #expires = :expires",
            "#token = :token AND #holder = :crawler AND attribute_exists(#expires)",
            expr,
        );
        self.update_if(update).await
    }

    async fn inbox(&self, lease: &Lease) -> StoreResult<Vec<InboxBatch>> {
        let mut unconsumed = Vec::new();
        for item in self.batch_items(&lease.job, &lease.partition).await? {
            let (id, consumed, put_at) = batch_head(&item)?;
            if !consumed {
                let requests = batch_requests(&item, &id)?;
                unconsumed.push((put_at, id, requests));
            }
        }
        unconsumed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(unconsumed
            .into_iter()
            .map(|(_, id, requests)| InboxBatch {
                partition: lease.partition.clone(),
                id,
                requests,
            })
            .collect())
    }

    async fn commit_partition(
        &self,
        lease: &Lease,
        consumed: &[String],
        pending: bool,
        release: bool,
    ) -> StoreResult<bool> {
        for _ in 0..COMMIT_RETRIES {
            let ids = self.still_unconsumed(lease, consumed).await?;
            match self.commit_chunks(lease, &ids, pending, release).await? {
                Chunk::Written => return Ok(true),
                Chunk::LeaseLost => return Ok(false),
                Chunk::BatchChanged => {} // consumed meanwhile: read them again
            }
        }
        Err(StoreError::unavailable(format!(
            "dynamodb: the batches of partition {} kept changing during a commit",
            lease.partition
        )))
    }

    async fn frontier_summary(
        &self,
        job: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<FrontierSummary> {
        let now = now.timestamp_micros();
        let mut sum = FrontierSummary::default();
        for p in self.partition_rows(job).await? {
            let live = p.live(now);
            sum.partitions += 1;
            sum.leased += u64::from(live);
            sum.ready += u64::from(p.pending);
            sum.unconsumed = sum.unconsumed.saturating_add(p.unconsumed);
            sum.waiting += u64::from(!live && p.has_work());
            sum.version = sum
                .version
                .wrapping_add(p.token)
                .wrapping_add(p.puts)
                .wrapping_add(1);
        }
        Ok(sum)
    }

    async fn partitions(&self, job: &str) -> StoreResult<Vec<String>> {
        let rows = self.partition_rows(job).await?;
        Ok(rows.into_iter().map(|p| p.name).collect())
    }

    async fn claim_close(
        &self,
        job: &str,
        crawler: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let expr = names(&["holder", "expires"])
            .value(":crawler", s(crawler))
            .value(":now", n(now.timestamp_micros()))
            .value(":expires", n(expiry(now, ttl)?));
        let update = self.frontier_update(
            key(frontier_pk(job), CLOSE_SK.to_string()),
            "SET #holder = :crawler, #expires = :expires",
            "attribute_not_exists(PK) OR #holder = :crawler OR #expires <= :now",
            expr,
        );
        self.update_if(update).await
    }

    async fn add_counts(&self, job: &str, add: CloseCounts) -> StoreResult<CloseCounts> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(frontier_pk(job), COUNTS_SK.to_string())))
            .update_expression("ADD #items :i, #pages :p, #errors :e")
            .expression_attribute_names("#items", "items")
            .expression_attribute_names("#pages", "pages")
            .expression_attribute_names("#errors", "errors")
            .expression_attribute_values(":i", n(add.items))
            .expression_attribute_values(":p", n(add.pages))
            .expression_attribute_values(":e", n(add.errors))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let item = out.attributes.unwrap_or_default();
        Ok(CloseCounts {
            items: opt_n(&item, "items")?.unwrap_or(0),
            pages: opt_n(&item, "pages")?.unwrap_or(0),
            errors: opt_n(&item, "errors")?.unwrap_or(0),
        })
    }

    async fn delete_frontier(&self, job: &str) -> StoreResult<()> {
        self.delete_under(frontier_pk(job)).await
    }
}
