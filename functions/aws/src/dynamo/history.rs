//! [`ItemHistory`] on the table: fingerprints packed into chunk items.
//!
//! Each `add_seen_items` call writes its fingerprints as new chunk items (`PK`
//! `HISTORY#{project}`, `SK` `SEEN#{spider}#{chunk}`, attribute `fps`: the 20-byte
//! fingerprints concatenated, up to [`CHUNK`] per item, far below the 400 KB item
//! limit): one `PutItem` per 16k fingerprints instead of one write each. Reads query
//! the spider's chunks and drop duplicates; `forget_items` deletes the project's
//! partition. Chunks are never rewritten, so re-adding known fingerprints only costs
//! storage (a crawl adds only the items it had not seen).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use trawl_core::ports::{ItemFingerprint, ItemHistory, StoreResult};

use super::items::s;
use super::keys::{PK, SK};
use super::{sdk_error, DynamoStore, Item};

/// Fingerprints per chunk item (320 KiB).
pub const CHUNK: usize = 16 * 1024;

fn history_pk(project: &str) -> String {
    format!("HISTORY#{project}")
}

fn spider_prefix(spider: &str) -> String {
    format!("SEEN#{spider}#")
}

/// A chunk id unique across processes: wall-clock nanoseconds, process id, counter.
fn chunk_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:032x}-{:08x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[async_trait]
impl ItemHistory for DynamoStore {
    async fn seen_items(&self, project: &str, spider: &str) -> StoreResult<Vec<ItemFingerprint>> {
        let prefix = spider_prefix(spider);
        let items = self
            .query_all(
                None,
                "PK = :pk AND begins_with(SK, :prefix)",
                &[],
                vec![
                    (":pk", s(history_pk(project))),
                    (":prefix", s(prefix.clone())),
                ],
                true,
                true,
            )
            .await?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for item in &items {
            // `begins_with` also matches spiders named `{spider}#…`: their chunk ids
            // still contain a `#`.
            let own = matches!(item.get(SK), Some(AttributeValue::S(sk))
                if !sk[prefix.len()..].contains('#'));
            let Some(AttributeValue::B(blob)) = item.get("fps").filter(|_| own) else {
                continue;
            };
            for fp in blob.as_ref().chunks_exact(20) {
                let fp = ItemFingerprint::try_from(fp).expect("20 bytes");
                if seen.insert(fp) {
                    out.push(fp);
                }
            }
        }
        Ok(out)
    }

    async fn add_seen_items(
        &self,
        project: &str,
        spider: &str,
        fingerprints: &[ItemFingerprint],
    ) -> StoreResult<()> {
        for chunk in fingerprints.chunks(CHUNK) {
            let bytes: Vec<u8> = chunk.iter().flatten().copied().collect();
            let item = Item::from([
                (PK.into(), s(history_pk(project))),
                (
                    SK.into(),
                    s(format!("{}{}", spider_prefix(spider), chunk_id())),
                ),
                ("fps".into(), AttributeValue::B(Blob::new(bytes))),
            ]);
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    async fn forget_items(&self, project: &str) -> StoreResult<()> {
        self.delete_under(history_pk(project)).await
    }
}

impl DynamoStore {
    /// Deletes every item under the partition key `pk`, reading only their keys.
    pub(crate) async fn delete_under(&self, pk: String) -> StoreResult<()> {
        let mut keys = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            keys.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        self.batch_delete(keys).await
    }

    /// Deletes items by key, 25 per `BatchWriteItem`, retrying unprocessed ones.
    pub(crate) async fn batch_delete(&self, keys: Vec<Item>) -> StoreResult<()> {
        for batch in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = batch
                .iter()
                .map(|k| {
                    WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(k.clone()))
                                .build()
                                .expect("key set"),
                        )
                        .build()
                })
                .collect();
            let mut backoff = std::time::Duration::from_millis(50);
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(2));
                }
            }
        }
        Ok(())
    }
}
